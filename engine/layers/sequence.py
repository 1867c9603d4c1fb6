"""Sequence layers: Embedding, RNN / GRU / LSTM, last step, pooling over time, positional
encoding, causal self-attention and a small transformer block.

Shapes leave out the batch, as everywhere in engine.layers: a sequence of vectors is (T, F)
(steps, features), a sequence of token ids is (T,). Token ids are int64 batches (N, T), every
other input float32. A rank-1 shape is both a dense vector (F,) and a token sequence (T,), and
a shape rule cannot see the dtype, so the two are told apart by position: only the data holds
token ids, so the one kind that reads them (Embedding, `tokens=True`) must be the first layer,
and `engine.build.infer_shapes(..., tokens=...)` checks it against the data's dtype when told.

Torch's recurrent modules return tuples; `Recurrent` wraps one so that a stack stays an
nn.Sequential of tensor -> tensor modules. The attention modules keep their weights
(B, heads, T, T) in `last_weights` while `record` is True; `attention_weights` does both.
The classes here are copied into exported scripts (LayerKind.helpers), so they use only
math, torch and nn.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from . import LayerKind, Param, Shape, ShapeError, register

CELLS = {"rnn": ("RNN", 1), "gru": ("GRU", 3), "lstm": ("LSTM", 4)}   # kind -> (torch class, gates)


# ---------------------------------------------------------------- modules
class Recurrent(nn.Module):
    """nn.RNN, nn.GRU or nn.LSTM (batch_first) returning one tensor: every step's output
    (B, T, H * dirs), or with sequence=False a summary of the sequence (B, H * dirs): the
    forward direction's last step and, when bidirectional, the backward direction's first
    step, i.e. each direction's output after it has read the whole sequence."""

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, sequence: bool = True, forget_bias: float = 0.0):
        super().__init__()
        self.rnn = getattr(nn, cell)(input_size, hidden_size, num_layers, batch_first=True,
                                     bidirectional=bidirectional)
        self.sequence = sequence
        if cell == "LSTM" and forget_bias:       # gates i, f, g, o: the forget gate's bias starts here
            with torch.no_grad():
                for name, bias in self.rnn.named_parameters():
                    if name.startswith("bias_"):
                        bias[hidden_size:2 * hidden_size] = forget_bias if name.startswith("bias_ih") else 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)                                   # (B, T, H * dirs)
        if self.sequence:
            return out
        h = self.rnn.hidden_size
        last = out[:, -1, :h]                                  # forward direction after step T
        if not self.rnn.bidirectional:
            return last
        return torch.cat([last, out[:, 0, h:]], dim=-1)        # backward direction after step 1

    def extra_repr(self) -> str:
        return f"sequence={self.sequence}"


class LastStep(nn.Module):
    """(B, T, F) -> (B, F): the last time step."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1]


class SeqPool(nn.Module):
    """(B, T, F) -> (B, F): the mean or the maximum over time of each feature."""

    def __init__(self, how: str = "mean"):
        super().__init__()
        self.how = how

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(1) if self.how == "mean" else x.amax(1)

    def extra_repr(self) -> str:
        return f"how={self.how!r}"


class PositionalEncoding(nn.Module):
    """(B, T, F) -> the same plus a code of each position: the sine/cosine table of "Attention
    is all you need" (fixed), or a learned table (one trained vector per position)."""

    def __init__(self, dim: int, max_len: int = 256, how: str = "sinusoidal"):
        super().__init__()
        self.how = how
        if how == "learned":
            self.table = nn.Parameter(torch.randn(max_len, dim) * 0.02)         # (max_len, F)
        else:
            self.register_buffer("table", self.sinusoid(max_len, dim), persistent=False)

    @staticmethod
    def sinusoid(max_len: int, dim: int) -> torch.Tensor:
        """(max_len, dim): sin(pos / 10000^(2i/dim)) in even columns, cos in odd ones."""
        pos = torch.arange(max_len, dtype=torch.float32)[:, None]             # (max_len, 1)
        freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
        table = torch.zeros(max_len, dim)
        table[:, 0::2] = torch.sin(pos * freq)
        table[:, 1::2] = torch.cos(pos * freq[:dim // 2])
        return table

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.table[:x.shape[1]]                                     # (B, T, F) + (T, F)

    def extra_repr(self) -> str:
        return f"how={self.how!r}, max_len={self.table.shape[0]}"


class SelfAttention(nn.Module):
    """Multi-head self-attention (B, T, F) -> (B, T, F): each position's output mixes the values
    of the positions it attends to (itself and earlier ones only, when causal). While `record`
    is True, `last_weights` holds the last call's attention weights (B, heads, T, T)."""

    def __init__(self, dim: int, heads: int = 2, causal: bool = True):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.qkv = nn.Linear(dim, 3 * dim)        # queries, keys and values of every head at once
        self.proj = nn.Linear(dim, dim)           # mixes the heads' outputs
        self.record = False
        self.last_weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, f = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, f // self.heads).permute(2, 0, 3, 1, 4)  # (B, heads, T, D)
        if self.record:                                    # the same numbers, written out
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])           # (B, heads, T, T)
            if self.causal:
                future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
                scores = scores.masked_fill(future, float("-inf"))
            weights = scores.softmax(-1)
            self.last_weights = weights.detach()
            y = weights @ v
        else:
            y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.proj(y.transpose(1, 2).reshape(b, t, f))                  # heads side by side

    def extra_repr(self) -> str:
        return f"heads={self.heads}, causal={self.causal}"


class TransformerBlock(nn.Module):
    """A pre-norm transformer block (B, T, F) -> (B, T, F), as in GPT-2: x + attention(norm(x)),
    then x + MLP(norm(x)). Its attention is `.attn`. No dropout: add a Dropout layer after it."""

    def __init__(self, dim: int, heads: int = 2, mlp: int = 4, causal: bool = True):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads, causal)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp * dim), nn.GELU(), nn.Linear(mlp * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


@torch.no_grad()
def attention_weights(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The attention weights (B, heads, T, T) of every SelfAttention in `model`, in module
    order, for the input x; recording is switched off again afterwards."""
    attns = [m for m in model.modules() if isinstance(m, SelfAttention)]
    try:
        for m in attns:
            m.record = True
        model(x)
        return [m.last_weights for m in attns]
    finally:
        for m in attns:
            m.record, m.last_weights = False, None


# ---------------------------------------------------------------- shape rules
def _need_sequence(s: Shape) -> None:
    if len(s) == 2:
        return
    if len(s) == 1:
        raise ShapeError("expects a sequence of vectors (steps × features); token ids need an Embedding "
                         "layer first, and a series of single values is steps × 1")
    raise ShapeError("expects a sequence of vectors (steps × features); use it on sequence data"
                     + (", not on images" if len(s) == 3 else ""))


def _embedding_shape(s: Shape, p: dict) -> Shape:
    if len(s) == 2:
        raise ShapeError("expects token ids (one whole number per step), but this input already holds a "
                         "vector per step; remove the Embedding layer")
    if len(s) != 1:
        raise ShapeError("expects token ids (one whole number per step); use it on text or token data")
    return (s[0], p["dim"])


def _directions(p: dict) -> int:
    return 2 if p["bidirectional"] else 1


def _recurrent_shape(s: Shape, p: dict) -> Shape:
    _need_sequence(s)
    width = p["hidden"] * _directions(p)
    return (s[0], width) if p["sequence"] else (width,)


def _recurrent_params(gates: int) -> Callable:
    def count(s: Shape, p: dict) -> int:
        h, dirs = p["hidden"], _directions(p)
        inputs = [s[1]] + [h * dirs] * (p["layers"] - 1)          # each layer reads the one below
        return dirs * sum(gates * h * (n + h) + 2 * gates * h for n in inputs)
    return count


def _positional_shape(s: Shape, p: dict) -> Shape:
    _need_sequence(s)
    if s[0] > p["max_len"]:
        raise ShapeError(f"has codes for max_len {p['max_len']} positions but the sequence has {s[0]} "
                         f"steps; raise max_len to at least {s[0]}")
    return s


def _heads_fit(s: Shape, p: dict) -> Shape:
    _need_sequence(s)
    f, heads = s[1], p["heads"]
    if f % heads:
        fits = max(d for d in range(1, heads + 1) if f % d == 0)
        raise ShapeError(f"splits the {f} features of each step among {heads} heads, but {f} is not "
                         f"divisible by {heads}; use {fits} head{'s' * (fits > 1)} or give the layer "
                         f"before it {-(-f // heads) * heads} features")
    return s


def _attention_params(f: int) -> int:
    return 4 * f * f + 4 * f                                       # qkv (F -> 3F) and proj (F -> F)


# ---------------------------------------------------------------- the kinds
register(LayerKind(
    "embedding", "Embedding", "sequence",
    "Looks up a learned vector for each token id: the network's own code for each character or word.",
    (Param("vocab", 64, 2, 100_000, help="Number of distinct tokens (the largest token id plus one)."),
     Param("dim", 16, 1, 1024, help="Length of each token's learned vector.")),
    _embedding_shape,
    lambda s, p: p["vocab"] * p["dim"],
    lambda s, p: nn.Embedding(p["vocab"], p["dim"]),
    describe=lambda p: f"Embedding {p['vocab']}x{p['dim']}",
    note="Each row is one step's token turned into its learned vector: the same token always "
         "gets the same row of the table.",
    tokens=True,
))

_RECURRENT_HELP = {
    "rnn": "A plain recurrent layer: at each step the new state is tanh(input and old state mixed); "
           "it forgets quickly.",
    "gru": "A recurrent layer with two gates that decide how much of its state to keep and how much to "
           "rewrite at each step.",
    "lstm": "A recurrent layer with a separate memory cell and three gates (forget, input, output): "
            "it can carry information over many steps.",
}
_RECURRENT_PARAMS = (
    Param("hidden", 32, 1, 1024, help="Size of the hidden state: how much the layer can remember."),
    Param("layers", 1, 1, 4, help="Recurrent layers stacked on each other, each reading the one below."),
    Param("bidirectional", False, help="Also read the sequence backwards and put both readings side by side."),
    Param("sequence", True, help="Output every step (for more sequence layers), or off: one summary "
                                 "vector after the last step (for a Linear layer)."),
)


_FORGET_BIAS = Param("forget_bias", 0.0, 0.0, 5.0, help="Where the forget gate's bias starts: 0 = PyTorch's "
                     "small random values (the gate half open, so the memory halves at every step); 1 (Keras's "
                     "default) keeps most of it, the usual fix when the model must remember over many steps.")


def _register_recurrent(name: str, cell: str, gates: int) -> None:
    register(LayerKind(
        name, cell, "sequence", _RECURRENT_HELP[name], _RECURRENT_PARAMS + ((_FORGET_BIAS,) if cell == "LSTM" else ()),
        _recurrent_shape, _recurrent_params(gates),
        lambda s, p: Recurrent(cell, s[1], p["hidden"], p["layers"], p["bidirectional"], p["sequence"],
                               p.get("forget_bias", 0.0)),
        describe=lambda p: (f"{cell} {p['hidden']}" + (f" x{p['layers']}" if p["layers"] > 1 else "")
                            + (" bi" if p["bidirectional"] else "") + ("" if p["sequence"] else " last")),
        note="Each row is the hidden state after one more step: what the layer remembers of the "
             "sequence so far.",
        code=lambda s, p: (f"Recurrent({cell!r}, {s[1]}, {p['hidden']}, num_layers={p['layers']}, "
                           f"bidirectional={p['bidirectional']}, sequence={p['sequence']}"
                           + (f", forget_bias={p['forget_bias']}" if p.get("forget_bias") else "") + ")"),
        helpers=(Recurrent,),
    ))


for _kind, (_cell, _gates) in CELLS.items():
    _register_recurrent(_kind, _cell, _gates)


def _to_vector(s: Shape, p: dict) -> Shape:
    _need_sequence(s)
    return (s[1],)


register(LayerKind(
    "last_step", "LastStep", "sequence",
    "Keeps only the last time step of a sequence: after a recurrent layer, its summary of everything read.",
    (), _to_vector, build=lambda s, p: LastStep(),
    note="The last step's values: everything the layers before it have gathered from the sequence.",
    code=lambda s, p: "LastStep()", helpers=(LastStep,),
))
register(LayerKind(
    "seq_pool", "SeqPool", "sequence",
    "Averages (or takes the maximum of) each feature over all time steps: one vector per sequence.",
    (Param("how", "mean", choices=("mean", "max"), help="mean: the average step; max: each feature's "
                                                        "strongest step."),),
    _to_vector, build=lambda s, p: SeqPool(p["how"]),
    describe=lambda p: f"SeqPool {p['how']}",
    note="One value per feature, pooled over every time step.",
    code=lambda s, p: f"SeqPool(how={p['how']!r})", helpers=(SeqPool,),
))
register(LayerKind(
    "positional", "Positional", "sequence",
    "Adds a code of each step's position, so attention (which sees a set, not an order) knows where each step is.",
    (Param("how", "sinusoidal", choices=("sinusoidal", "learned"),
           help="sinusoidal: fixed waves of many frequencies; learned: one trained vector per position."),
     Param("max_len", 256, 1, 4096, help="Longest sequence the table has codes for.")),
    _positional_shape,
    lambda s, p: p["max_len"] * s[1] if p["how"] == "learned" else 0,
    lambda s, p: PositionalEncoding(s[1], p["max_len"], p["how"]),
    describe=lambda p: f"Positional {p['how']}",
    note="The input plus each position's code: the same token now looks different at each step.",
    code=lambda s, p: f"PositionalEncoding({s[1]}, max_len={p['max_len']}, how={p['how']!r})",
    helpers=(PositionalEncoding,),
))

_ATTENTION_NOTE = ("Each step's output is a weighted mix of the steps it attends to (with the causal "
                   "mask only itself and earlier steps).")
register(LayerKind(
    "attention", "SelfAttention", "attention",
    "Each step looks at the other steps and takes a weighted mix of them; several heads look for different things.",
    (Param("heads", 2, 1, 16, help="Independent attention patterns; the features are split among them."),
     Param("causal", True, help="Each step sees only itself and earlier steps (needed to predict the next one).")),
    _heads_fit,
    lambda s, p: _attention_params(s[1]),
    lambda s, p: SelfAttention(s[1], p["heads"], p["causal"]),
    describe=lambda p: f"SelfAttention {p['heads']}h" + (" causal" if p["causal"] else ""),
    note=_ATTENTION_NOTE,
    code=lambda s, p: f"SelfAttention({s[1]}, heads={p['heads']}, causal={p['causal']})",
    helpers=(SelfAttention,),
))
register(LayerKind(
    "transformer", "Transformer", "attention",
    "A transformer block: self-attention then a small MLP on each step, each added to its input after a LayerNorm.",
    (Param("heads", 2, 1, 16, help="Independent attention patterns; the features are split among them."),
     Param("mlp", 4, 1, 8, help="Width of the MLP as a multiple of the features per step."),
     Param("causal", True, help="Each step sees only itself and earlier steps (needed to predict the next one).")),
    _heads_fit,
    lambda s, p: 4 * s[1] + _attention_params(s[1]) + 2 * p["mlp"] * s[1] ** 2 + p["mlp"] * s[1] + s[1],
    lambda s, p: TransformerBlock(s[1], p["heads"], p["mlp"], p["causal"]),
    describe=lambda p: f"Transformer {p['heads']}h" + (" causal" if p["causal"] else ""),
    note=_ATTENTION_NOTE + " The MLP then works on each step alone.",
    code=lambda s, p: f"TransformerBlock({s[1]}, heads={p['heads']}, mlp={p['mlp']}, causal={p['causal']})",
    helpers=(SelfAttention, TransformerBlock),
))
