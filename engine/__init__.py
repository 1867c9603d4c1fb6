"""The playground's PyTorch engine. It never imports Streamlit.

Data flows: RunSpec (plain JSON, engine.spec) -> the spec's task (engine.tasks) builds a
Steppable from the registries (layers, data, optim) -> Trainer (a worker thread) ->
snapshot() (plain copies) -> viz figure builders.
"""
