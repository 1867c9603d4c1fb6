"""Inside a sequence model, for one sequence: what each recurrent layer holds at every step (and
an LSTM's or GRU's gates), which earlier inputs a prediction depends on (Distill's
"connectivity": the gradient of the prediction with respect to each step's input vector), how
much gradient reaches each step (vanishing through time), and the learned embedding projected
to 2-D with each token's nearest neighbours.

Each works on the model as it is (in eval mode), for one sequence at a time, and returns numpy
arrays; the gates come from stepping the layer's own weights by hand with the equations of
torch's documentation, and tests check that the states they give equal the layer's outputs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..layers.sequence import Recurrent


@dataclass(frozen=True)
class StepStates:
    """One recurrent layer's hidden state at each step, and its gates (name -> (T, H)) for
    the first layer of an LSTM or GRU in the forward direction."""
    layer: int                          # index in the model
    label: str                          # "LSTM"
    states: np.ndarray                  # (T, H * directions): the layer's output at each step
    gates: dict[str, np.ndarray]


def _inputs(model: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """The input of every layer for one batch (the last entry: the model's output)."""
    outs = [x]
    for layer in model:
        outs.append(layer(outs[-1]))
    return outs


@torch.no_grad()
def step_states(model: nn.Sequential, x: torch.Tensor) -> list[StepStates]:
    """Per recurrent layer of `model`, its states and gates at each step for the one sequence x (1, T[, F])."""
    model.eval()
    ins = _inputs(model, x)
    found = []
    for i, layer in enumerate(model):
        if not isinstance(layer, Recurrent):
            continue
        rnn = layer.rnn
        out, _ = rnn(ins[i])                                           # (1, T, H * dirs): every step
        found.append(StepStates(i, type(rnn).__name__, out[0].numpy(), gates(rnn, ins[i][0])))
    return found


def unroll(rnn: nn.Module, x: torch.Tensor) -> tuple[list[torch.Tensor], dict[str, list[torch.Tensor]]]:
    """Layer 0 of `rnn` (forward direction) stepped by hand over x (T, F), or a batch (B, T, F),
    with torch's equations (the nn.RNN / nn.LSTM / nn.GRU documentation): (h_t for each step,
    (H,) or (B, H), as autograd nodes; the gates at each step, {} for a plain RNN)."""
    w_ih, w_hh = rnn.weight_ih_l0, rnn.weight_hh_l0
    b_ih = rnn.bias_ih_l0 if rnn.bias else torch.zeros(w_ih.shape[0])
    b_hh = rnn.bias_hh_l0 if rnn.bias else torch.zeros(w_hh.shape[0])
    h = c = torch.zeros(rnn.hidden_size)
    names = {nn.LSTM: ("input", "forget", "cell", "output"), nn.GRU: ("reset", "update", "new")}.get(type(rnn), ())
    states, rows = [], {n: [] for n in names}
    for xt in x.unbind(-2):                                            # (F,) or (B, F): one step
        gi, gh = xt @ w_ih.T + b_ih, h @ w_hh.T + b_hh
        if isinstance(rnn, nn.LSTM):
            i, f, g, o = (gi + gh).chunk(4, -1)
            vals = (i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid())
            c = vals[1] * c + vals[0] * vals[2]
            h = vals[3] * c.tanh()
        elif isinstance(rnn, nn.GRU):
            ir, iz, in_ = gi.chunk(3, -1)
            hr, hz, hn = gh.chunk(3, -1)
            r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
            vals = (r, z, (in_ + r * hn).tanh())
            h = (1 - z) * vals[2] + z * h
        else:
            vals = ()
            h = (gi + gh).tanh() if rnn.nonlinearity == "tanh" else (gi + gh).relu()
        for name, v in zip(names, vals):
            rows[name].append(v)
        states.append(h)
    return states, rows


def gates(rnn: nn.Module, x: torch.Tensor) -> dict[str, np.ndarray]:
    """The gates of layer 0, forward direction, at each step of x (T, F), and the state they give
    ("state"); {} for a plain RNN."""
    if isinstance(rnn, nn.RNN):
        return {}
    with torch.no_grad():
        states, rows = unroll(rnn, x)
    return {k: torch.stack(v).numpy() for k, v in (rows | {"state": states}).items()}


def _embedded(model: nn.Sequential, x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(the input vectors each step feeds the layers after the Embedding, index of the first such
    layer): the embedding's output for token models, x itself for float sequences."""
    if isinstance(model[0], nn.Embedding):
        return model[0](x).detach(), 1
    return x.detach().float(), 0


def connectivity(model: nn.Sequential, x: torch.Tensor, position: int = -1,
                 target: int | None = None) -> np.ndarray:
    """(T,) |d score / d input vector at step s| for the score of `target` (the predicted class or
    next token when None) at `position` (language models: the prediction made at that step;
    classifiers: their one output): which earlier steps the prediction depends on."""
    model.eval()
    e, start = _embedded(model, x)
    e.requires_grad_(True)
    h = e
    for layer in list(model)[start:]:
        h = layer(h)
    score = h[0, position] if h.dim() == 3 else h[0]
    k = int(score.argmax()) if target is None else target
    (grad,) = torch.autograd.grad(score[k], e)
    return grad[0].norm(dim=-1).numpy()


def time_gradients(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, loss_fn) -> np.ndarray:
    """(T,) |d loss / d h_t| for the first recurrent layer's state h_t at each step, through every
    path (the next states included): how much learning signal reaches each step back in time. It
    vanishes quickly in a plain RNN, much less in an LSTM. The layer must be one unidirectional layer."""
    model.eval()
    rec = next(i for i, m in enumerate(model) if isinstance(m, Recurrent))
    layer = model[rec]
    if layer.rnn.num_layers != 1 or layer.rnn.bidirectional:
        raise ValueError("gradients through time are shown for one unidirectional recurrent layer")
    h = x
    for m in list(model)[:rec]:
        h = m(h)
    states, _ = unroll(layer.rnn, h[0])
    for s in states:
        s.retain_grad()
    z = torch.stack(states)[None]                                    # (1, T, H)
    z = z if layer.sequence else z[:, -1]
    for m in list(model)[rec + 1:]:
        z = m(z)
    loss_fn(z, y).backward()
    return np.array([float(s.grad.norm()) for s in states])


def _after_embedding(model: nn.Sequential, e: torch.Tensor, start: int) -> torch.Tensor:
    for layer in list(model)[start:]:
        e = layer(e)
    return e


def connectivity_rows(model: nn.Sequential, x: torch.Tensor, positions: list[int],
                      targets: list[int]) -> np.ndarray:
    """(P, T) `connectivity` for P predictions of the one sequence x (1, T) at once: row p is
    |d score of targets[p] at positions[p] / d input vector at each step| (one backward pass
    over P copies of x; nothing accumulates in the weights' .grad)."""
    model.eval()
    e, start = _embedded(model, x)
    e = e.expand(len(positions), *e.shape[1:]).clone().requires_grad_(True)      # (P, T, F)
    out = _after_embedding(model, e, start)                                       # (P, T, V) | (P, C)
    rows = torch.arange(len(positions))
    score = out[rows, positions, targets] if out.dim() == 3 else out[rows, targets]
    (grad,) = torch.autograd.grad(score.sum(), e)
    return grad.norm(dim=-1).numpy()


def time_gradient_rows(model: nn.Sequential, x: torch.Tensor, ys: torch.Tensor, loss_fn) -> np.ndarray:
    """(P, T) `time_gradients` for P losses of the one sequence x (1, T) at once: row p is
    |d loss_fn(output, ys[p:p + 1]) / d h_t| for the first recurrent layer's state at each step
    (one unidirectional layer; autograd.grad, so nothing accumulates in the weights' .grad)."""
    model.eval()
    rec = next(i for i, m in enumerate(model) if isinstance(m, Recurrent))
    layer = model[rec]
    if layer.rnn.num_layers != 1 or layer.rnn.bidirectional:
        raise ValueError("gradients through time are shown for one unidirectional recurrent layer")
    h = x.expand(len(ys), *x.shape[1:])
    for m in list(model)[:rec]:
        h = m(h)
    states, _ = unroll(layer.rnn, h)                                  # T of (P, H)
    z = torch.stack(states, 1)                                        # (P, T, H)
    z = z if layer.sequence else z[:, -1]
    for m in list(model)[rec + 1:]:
        z = m(z)
    loss = sum(loss_fn(z[p:p + 1], ys[p:p + 1]) for p in range(len(ys)))
    grads = torch.autograd.grad(loss, states)
    return torch.stack(grads, 1).norm(dim=-1).numpy()


@dataclass(frozen=True)
class EmbeddingMap:
    points: np.ndarray                  # (V, 2) the vectors on their first two principal axes
    explained: tuple[float, float]      # share of the variance each axis holds
    neighbours: list[list[int]]         # per token: the k nearest other tokens (cosine), nearest first
    similarity: list[list[float]] = field(default_factory=list)   # their cosine similarities


@torch.no_grad()
def embedding_map(model: nn.Sequential, k: int = 3) -> EmbeddingMap:
    """The first layer's embedding table projected by PCA, with each token's nearest neighbours."""
    w = model[0].weight.detach().cpu().numpy().astype(np.float64)      # (V, dim)
    centred = w - w.mean(0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    pts = centred @ vt[:2].T if vt.shape[0] >= 2 else np.c_[centred @ vt[:1].T, np.zeros(len(w))]
    var = s ** 2 / max(float((s ** 2).sum()), 1e-12)
    unit = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
    sim = unit @ unit.T
    np.fill_diagonal(sim, -np.inf)
    near = np.argsort(-sim, axis=1)[:, :k]
    close = np.take_along_axis(sim, near, 1)
    return EmbeddingMap(pts.astype(np.float32), (float(var[0]), float(var[1]) if len(var) > 1 else 0.0),
                        near.tolist(), close.tolist())
