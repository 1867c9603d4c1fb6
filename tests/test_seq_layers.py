"""The sequence layers (engine.layers.sequence): shapes and parameter counts equal torch's on random
recurrent stacks, refusals name the layer, the shapes and the fix, attention rows sum to 1 and
the causal mask hides the future, the recurrent summary is the right step, and the export's
lines rebuild the same model."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from engine.build import build_model, check, count_params, infer_shapes, takes_tokens, torch_shapes
from engine.data import DATASETS, Dataset, DatasetInfo, split
from engine.export import export_script, helper_source, model_source
from engine.layers import LAYERS
from engine.layers.sequence import Recurrent, SelfAttention, TransformerBlock, attention_weights
from engine.run import Run
from engine.spec import DataSpec, LayerSpec, RunSpec
from engine.tasks import problems
from ui import builder

L = LayerSpec.make
SEQ_KINDS = ["rnn", "gru", "lstm", "attention", "transformer", "positional", "seq_pool", "last_step",
             "flatten", "tanh", "dropout"]
VEC_KINDS = ["linear", "relu", "dropout", "batchnorm"]


# ---------------------------------------------------------------- random stacks against torch
def _layer(draw, kind: str, shape: tuple[int, ...]) -> LayerSpec:
    """A layer of `kind` with small random parameters that fit `shape`."""
    if kind in ("rnn", "gru", "lstm"):
        return L(kind, hidden=draw(st.integers(1, 6)), layers=draw(st.integers(1, 2)),
                 bidirectional=draw(st.booleans()), sequence=draw(st.booleans()))
    if kind in ("attention", "transformer"):
        heads = draw(st.sampled_from([h for h in range(1, 5) if shape[1] % h == 0]))
        extra = {"mlp": draw(st.integers(1, 2))} if kind == "transformer" else {}
        return L(kind, heads=heads, causal=draw(st.booleans()), **extra)
    if kind == "positional":
        return L(kind, how=draw(st.sampled_from(["sinusoidal", "learned"])),
                 max_len=draw(st.integers(shape[0], shape[0] + 3)))
    if kind == "seq_pool":
        return L(kind, how=draw(st.sampled_from(["mean", "max"])))
    if kind == "linear":
        return L(kind, units=draw(st.integers(1, 6)))
    return L(kind)


@st.composite
def recurrent_stacks(draw):
    """(layers, input shape): token ids through an Embedding, or float (T, F) steps, then
    sequence layers until a vector comes out, then dense layers. Valid by construction."""
    t = draw(st.integers(1, 6))
    if draw(st.booleans()):
        layers = [L("embedding", vocab=draw(st.integers(2, 9)), dim=draw(st.integers(1, 8)))]
        shape = (t,)
    else:
        layers, shape = [], (t, draw(st.integers(1, 8)))
    cur = LAYERS[layers[0].kind].out_shape(shape, layers[0].params) if layers else shape
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(SEQ_KINDS if len(cur) == 2 else VEC_KINDS))
        layer = _layer(draw, kind, cur)
        cur = LAYERS[kind].out_shape(cur, layer.params)
        layers.append(layer)
    return tuple(layers), shape


@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recurrent_stacks(), st.integers(0, 2**16))
def test_inferred_shapes_and_parameter_counts_equal_torchs_on_random_recurrent_stacks(stack, seed):
    layers, shape = stack
    tokens = takes_tokens(layers)
    rows = infer_shapes(layers, shape, tokens=tokens)
    assert [r.error for r in rows] == [""] * len(rows), rows
    torch.manual_seed(seed)
    model = build_model(layers, shape)
    vocab = layers[0].params["vocab"] if tokens else 0
    x = torch.randint(0, vocab, (3, *shape)) if tokens else torch.randn(3, *shape)
    model.eval()
    h = x
    for row, module in zip(rows, model):
        h = module(h)
        assert tuple(h.shape) == (3, *row.out_shape), row
        assert row.n_params == sum(p.numel() for p in module.parameters()), row
    assert count_params(model) == sum(r.n_params for r in rows)
    if not count_params(model):
        return
    model.train()
    model(x).square().sum().backward()                                  # every weight is used
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_existing_layers_on_sequences_flatten_dropout_and_activations_keep_torchs_shapes():
    for kind, out in (("flatten", (35,)), ("dropout", (5, 7)), ("relu", (5, 7)), ("gelu", (5, 7)),
                      ("sigmoid", (5, 7)), ("leaky_relu", (5, 7))):
        layers = (L(kind),)
        assert infer_shapes(layers, (5, 7))[0].out_shape == out
        assert torch_shapes(build_model(layers, (5, 7)), (5, 7)) == [out]


# ---------------------------------------------------------------- refusals
def _error(layers, shape, tokens=None) -> str:
    return next(r.error for r in infer_shapes(tuple(layers), shape, tokens) if r.error)


@pytest.mark.parametrize("layers, shape, says, torch_fails", [
    ([L("lstm")], (1, 28, 28), ["layer 1 (LSTM 32) gets an input of 1 × 28 × 28", "sequence of vectors (steps × features)",
                               "not on images"], True),
    ([L("attention", heads=3)], (5, 10), ["layer 1 (SelfAttention 3h causal) gets an input of 5 × 10",
                                          "10 is not divisible by 3", "use 2 heads", "12 features"], True),
    ([L("transformer", heads=4)], (5, 6), ["Transformer 4h causal", "6 is not divisible by 4", "use 3 heads",
                                           "8 features"], True),
    ([L("embedding")], (5, 10), ["layer 1 (Embedding 64x16) gets an input of 5 × 10", "token ids (one whole number per step)",
                                 "remove the Embedding layer"], True),
    ([L("gru")], (12,), ["layer 1 (GRU 32) gets an input of 12", "need an Embedding layer first", "steps × 1"], True),
    ([L("positional", max_len=8)], (12, 4), ["layer 1 (Positional sinusoidal) gets an input of 12 × 4",
                                             "max_len 8", "has 12 steps", "raise max_len to at least 12"], True),
    ([L("batchnorm")], (5, 4), ["layer 1 (BatchNorm) gets an input of 5 × 4", "not a sequence (steps × features)",
                                "after a LastStep, SeqPool or Flatten"], False),   # BatchNorm1d reads (B, C, L)
    ([L("lstm", sequence=False), L("last_step")], (5, 4), ["layer 2 (LastStep) gets an input of 32",
                                                           "sequence of vectors"], False),   # torch: x[:, -1]
])
def test_each_refusal_names_the_layer_the_shapes_and_the_fix_and_torch_fails_there_too(layers, shape, says,
                                                                                    torch_fails):
    msg = _error(layers, shape)
    for fragment in says:
        assert fragment in msg, msg
    if not torch_fails:
        return
    rows = infer_shapes(tuple(layers), shape)
    bad = next(r for r in rows if r.error)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        for row, layer in zip(rows[:bad.index], layers):
            x = LAYERS[layer.kind].build(row.in_shape, layer.params).eval()(x)
        with pytest.raises(Exception):
            LAYERS[layers[bad.index].kind].build(bad.in_shape, layers[bad.index].params).eval()(x)


def test_token_ids_are_read_only_by_a_first_embedding_and_checked_against_the_data_when_known():
    emb_first = (L("embedding", vocab=20), L("lstm", sequence=False), L("linear", units=2))
    assert [r.out_shape for r in infer_shapes(emb_first, (9,), tokens=True)] == [(9, 16), (32,), (2,)]
    assert "must be the first layer; move it to the top" in _error((L("rnn"), L("embedding")), (9, 3))
    assert "layer 1 (LSTM 32 last) gets an input of 9 and LSTM cannot read token ids" in _error(emb_first[1:], (9,), True)
    assert "put an Embedding layer first" in _error(emb_first[1:], (9,), True)
    assert "reads token ids but this data holds float values" in _error(emb_first, (9,), False)
    spec = RunSpec.make(layers=emb_first)
    assert check(spec, (9,), 2, "classification", tokens=True) == []
    assert "last Linear layer to 3 units" in check(spec, (9,), 3, "classification", tokens=True)[0]


# ---------------------------------------------------------------- attention
def _attention(kind: str, causal: bool) -> nn.Module:
    torch.manual_seed(0)
    return (SelfAttention(8, heads=2, causal=causal) if kind == "attention"
            else TransformerBlock(8, heads=2, mlp=2, causal=causal)).eval()


@pytest.mark.parametrize("kind", ["attention", "transformer"])
@pytest.mark.parametrize("causal", [True, False])
def test_attention_rows_sum_to_one_and_the_written_out_path_equals_torchs_kernel(kind, causal):
    m = _attention(kind, causal)
    x = torch.randn(3, 6, 8)
    (w,) = attention_weights(m, x)
    assert w.shape == (3, 2, 6, 6)
    assert torch.allclose(w.sum(-1), torch.ones(3, 2, 6), atol=1e-5)
    assert (w >= 0).all()
    future = torch.ones(6, 6, dtype=torch.bool).triu(1)
    assert (w[..., future] == 0).all() if causal else (w[..., future] > 0).all()
    with torch.no_grad():
        fast = m(x)                                                     # scaled_dot_product_attention
        attn = m if kind == "attention" else m.attn
        attn.record = True
        written = m(x)
        attn.record = False
    assert torch.allclose(fast, written, atol=1e-5)
    assert attn.record is False and not any(a.record for a in m.modules() if isinstance(a, SelfAttention))


@pytest.mark.parametrize("kind", ["attention", "transformer"])
def test_the_causal_mask_hides_the_future_and_without_it_the_future_leaks(kind):
    x = torch.randn(2, 7, 8)
    later = x.clone()
    later[:, 4] += torch.randn(2, 8)                                    # change step 5 only
    for causal in (True, False):
        m = _attention(kind, causal)
        with torch.no_grad():
            a, b = m(x), m(later)
        earlier = (a[:, :4] - b[:, :4]).abs().max().item()
        if causal:
            assert earlier <= 1e-6, earlier
        else:
            assert earlier > 1e-3, earlier
        assert (a[:, 4:] - b[:, 4:]).abs().max().item() > 1e-3          # step 5 on do see it


def test_attention_weights_reads_every_attention_of_a_stack_in_order():
    layers = (L("embedding", vocab=10, dim=8), L("positional"), L("transformer", heads=4),
              L("attention", heads=2, causal=False), L("seq_pool"), L("linear", units=3))
    torch.manual_seed(0)
    model = build_model(layers, (5,)).eval()
    x = torch.randint(0, 10, (2, 5))
    maps = attention_weights(model, x)
    assert [tuple(w.shape) for w in maps] == [(2, 4, 5, 5), (2, 2, 5, 5)]
    future = torch.ones(5, 5, dtype=torch.bool).triu(1)
    assert (maps[0][..., future] == 0).all() and (maps[1][..., future] > 0).all()
    assert all(m.last_weights is None and not m.record for m in model.modules() if isinstance(m, SelfAttention))


# ---------------------------------------------------------------- recurrent summaries
@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_the_recurrent_summary_is_each_directions_output_after_reading_the_whole_sequence(cell, bidirectional,
                                                                                         num_layers):
    torch.manual_seed(1)
    m = Recurrent(cell, 5, 7, num_layers, bidirectional, sequence=False)
    x = torch.randn(3, 6, 5)
    with torch.no_grad():
        out = m(x)
        full, state = m.rnn(x)                                          # (B, T, H * dirs), h_n
    h_n = state[0] if cell == "LSTM" else state                         # (layers * dirs, B, H)
    if bidirectional:
        assert torch.equal(out, torch.cat([full[:, -1, :7], full[:, 0, 7:]], -1))
        assert torch.allclose(out, torch.cat([h_n[-2], h_n[-1]], -1), atol=1e-6)   # torch's final states
    else:
        assert torch.equal(out, full[:, -1])
        assert torch.allclose(out, h_n[-1], atol=1e-6)
    m.sequence = True
    with torch.no_grad():
        assert torch.equal(m(x), full)


def test_state_dict_names_are_torchs_own_under_rnn():
    torch.manual_seed(0)
    model = build_model((L("lstm", hidden=4, bidirectional=True), L("positional", how="learned"),
                         L("transformer", heads=2)), (3, 2))
    keys = list(model.state_dict())
    assert "0.rnn.weight_ih_l0" in keys and "0.rnn.weight_hh_l0_reverse" in keys and "0.rnn.bias_hh_l0" in keys
    assert "1.table" in keys and "2.attn.qkv.weight" in keys and "2.ln1.weight" in keys and "2.mlp.0.weight" in keys
    sinusoidal = build_model((L("positional"),), (3, 2))
    assert list(sinusoidal.state_dict()) == []                         # the fixed table is not a weight


def test_sinusoidal_positions_are_the_papers_table():
    torch.manual_seed(0)
    m = build_model((L("positional", max_len=10),), (4, 6))[0]
    x = torch.zeros(1, 4, 6)
    got = m(x)[0]
    for pos in range(4):
        for i in range(3):
            angle = pos / 10000 ** (2 * i / 6)
            assert got[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert got[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


# ---------------------------------------------------------------- export
LSTM_STACK = (L("lstm", hidden=6, layers=2, bidirectional=True), L("attention", heads=3), L("positional", how="learned"),
              L("transformer", heads=2, mlp=2), L("gru", hidden=5, sequence=False), L("linear", units=2))


def test_the_export_lines_rebuild_the_same_model_with_the_same_weights():
    shape = (6, 3)
    ns = {"torch": torch, "nn": nn, "math": math}                       # what the script imports
    exec(helper_source(LSTM_STACK), ns)                                 # our own source, not user input
    source = model_source(LSTM_STACK, shape)                           # (builds Linear for its repr)
    torch.manual_seed(3)
    written = eval(source, ns)
    torch.manual_seed(3)
    built = build_model(LSTM_STACK, shape)
    assert count_params(written) == count_params(built) == sum(r.n_params for r in infer_shapes(LSTM_STACK, shape))
    a, b = written.state_dict(), built.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    x = torch.randn(4, *shape)
    assert torch.equal(written.eval()(x), built.eval()(x))
    assert helper_source(LSTM_STACK).count("class Recurrent(") == 1     # each helper once


def _signs(spec: DataSpec, seed: int) -> Dataset:
    """Sequences of 8 steps of 2 features; the class is whether the first feature sums above 0."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(spec.n_samples, 8, 2)).astype(np.float32)
    y = (x[:, :, 0].sum(1) > 0).astype(np.int64)
    x_tr, y_tr, x_te, y_te, _, _ = split(x, y, spec.test_fraction, seed)
    return Dataset(x_tr, y_tr, x_te, y_te, "classification", ["below", "above"])


@pytest.fixture
def signs():
    DATASETS.register(DatasetInfo("signs", "Signs of sums (test)", "2d", "classification", _signs,
                                  "Toy sequences.", ("n_samples", "test_fraction")))
    yield
    DATASETS.pop("signs")


def test_an_exported_lstm_script_runs_and_reproduces_the_engine(signs, tmp_path):
    spec = RunSpec.make(data=DataSpec("signs", n_samples=96, test_fraction=0.25),
                        layers=(L("lstm", hidden=8, bidirectional=True), L("transformer", heads=2, mlp=2),
                                L("seq_pool"), L("linear", units=2)),
                        batch_size=16, epochs=2, seed=4, device="cpu")
    assert problems(spec) == []
    script = tmp_path / "model.py"
    script.write_text(export_script(spec))
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    last = out.stdout.splitlines()[-2].split()
    run = Run(spec)
    while run.step_count < run.total_steps:
        run.step()
    res = run.evaluate(full=True)
    assert float(last[last.index("train") + 2]) == pytest.approx(res["train_loss"], abs=1e-4)


# ---------------------------------------------------------------- the Playground's builder
def test_the_playground_builder_leaves_sequence_kinds_out_and_the_full_list_has_them():
    image = builder.kind_options(exclude=builder.SEQUENCE_GROUPS)
    everything = builder.kind_options()
    seq = {"embedding", "rnn", "gru", "lstm", "last_step", "seq_pool", "positional", "attention", "transformer"}
    assert seq <= set(everything) and not seq & set(image)
    assert {"linear", "conv2d", "flatten", "relu", "dropout", "batchnorm"} <= set(image)
    assert everything[-len(seq):] == [k for k in everything if k in seq]        # grouped after the image kinds
    assert builder.kind_label("lstm") == "LSTM  ·  Sequence" and builder.kind_label("transformer") == "Transformer  ·  Attention"


def test_linear_on_a_sequence_applies_the_same_weights_at_every_step():
    from engine.build import build_model, check

    layers = (L("lstm", hidden=6), L("linear", units=3))
    rows = infer_shapes(layers, (5, 4))
    assert rows[-1].out_shape == (5, 3) and rows[-1].n_params == 6 * 3 + 3
    model = build_model(layers, (5, 4))
    x = torch.randn(2, 5, 4)
    with torch.no_grad():
        h = model[0](x)
        np.testing.assert_allclose(model(x)[:, 2].numpy(), model[1](h[:, 2]).numpy(), atol=1e-6)
    msg = "\n".join(check(RunSpec.make(layers=layers), (5, 4), 3, "any"))
    assert "outputs 5 × 3, one vector per step; add a LastStep or SeqPool layer" in msg
