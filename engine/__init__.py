"""The playground's PyTorch engine. It never imports Streamlit.

Data flows: RunSpec (plain JSON) -> build_model / make_dataset / make_optimizer
-> Run (one model, one optimizer, deterministic steps) -> Trainer (a worker thread)
-> snapshot() (plain copies) -> viz figure builders.
"""
