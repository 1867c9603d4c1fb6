"""Character language modelling: at every step, predict the next token from the ones before.

The network reads token ids (T,) and outputs one score per vocabulary entry at every step
(T, V); the loss is cross-entropy over every real (non-pad) position, in nats per character,
next to the bigram baseline the dataset computes on the same split. It is `engine.run.Run`
with that loss and these scores; sampling draws text one token at a time with a temperature
and top-k, the way the character-RNN demos do.

A language model must not see the characters it predicts: a bidirectional recurrent layer,
attention without the causal mask, and layers that mix all steps (Flatten, LastStep, SeqPool)
are refused with the reason.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..build import budget, infer_shapes
from ..layers import dims
from ..data import IGNORE, Dataset
from ..optim import LOSSES, LossInfo
from ..spec import MAIN, LayerSpec, RunSpec
from . import Score, Task, data_task, register

TASK = "language_model"
MIXES_STEPS = {"flatten": "Flatten", "last_step": "LastStep", "seq_pool": "SeqPool"}


def next_token_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of (B, T, V) scores against (B, T) next tokens, pads (IGNORE) left out."""
    return F.cross_entropy(out.flatten(0, 1), y.flatten(), ignore_index=IGNORE)


LOSSES.register(LossInfo(
    "next_token", "Cross-entropy of the next character", next_token_loss,
    "At every step: softmax over the vocabulary, -log of the true next character's probability "
    "(in nats; padding left out).",
    ("nn.CrossEntropyLoss(ignore_index=-100)", "out.flatten(0, 1)", "y.flatten()"), tasks=(TASK,)))


# ---------------------------------------------------------------- check
def _sees_the_future(i: int, layer: LayerSpec, label: str) -> str:
    where = f"layer {i + 1} ({label})"
    p = layer.params
    if layer.kind in ("rnn", "gru", "lstm") and p.get("bidirectional"):
        return (f"{where} also reads the sequence backwards, so it sees the characters it must predict; "
                "turn off bidirectional")
    if layer.kind in ("rnn", "gru", "lstm") and not p.get("sequence", True):
        return (f"{where} outputs one summary of the whole sequence, but a language model predicts at "
                "every step; turn its sequence output on")
    if layer.kind in ("attention", "transformer") and not p.get("causal", True):
        return (f"{where} lets every step attend to later steps, so it sees the characters it must "
                "predict; turn causal on")
    if layer.kind in MIXES_STEPS:
        return (f"{where} mixes all steps into one vector, but a language model predicts at every step; "
                f"remove the {MIXES_STEPS[layer.kind]} layer")
    return ""


def check(spec: RunSpec, data: Dataset) -> list[str]:
    """Every problem of a language-model spec on this data, one sentence each with the fix."""
    rows = infer_shapes(spec.layers, data.input_shape, tokens=data.token_input)
    problems = [r.error for r in rows if r.error]
    want = data_task(spec, data)
    if want != TASK:
        problems.append(f"task: the dataset is {want} but the spec says {TASK}; set task to {want}")
    if not rows:
        return problems or ["layers: the network needs at least one layer"]
    problems += [m for i, (layer, r) in enumerate(zip(spec.layers, rows)) if (m := _sees_the_future(i, layer, r.label))]
    if problems:
        return problems
    if spec.loss not in ("auto", "next_token"):
        problems.append(f"loss: a language model is trained with the next-character cross-entropy; "
                        f"set loss to auto (not {spec.loss})")
    steps, vocab = data.input_shape[0], len(data.vocab)
    out = rows[-1].out_shape
    if out != (steps, vocab):
        problems.append(f"the last layer ({rows[-1].label}) outputs {dims(out)}, but a language model needs one "
                        f"score per character of the vocabulary at every step, {dims((steps, vocab))}; end "
                        f"with a Linear layer of {vocab} units")
    return problems + budget(spec, rows, len(data.x_train))


# ---------------------------------------------------------------- the run
def _build(spec: RunSpec, data: Dataset, device: torch.device):
    from ..run import Run

    class LanguageModelRun(Run):
        """A Run scored per character: loss (nats), perplexity and next-character accuracy."""

        @torch.no_grad()
        def _score(self, x: torch.Tensor, y: torch.Tensor) -> dict:
            out = self.outputs(x)
            loss = float(next_token_loss(out, y))
            real = y != IGNORE
            acc = float((out.argmax(-1)[real] == y[real]).float().mean()) if bool(real.any()) else 0.0
            return {"loss": loss, "perplexity": math.exp(min(loss, 50.0)), "acc": acc}

        def evaluate(self, full: bool = False) -> dict:
            row = super().evaluate(full)
            if self.data.baseline_loss is not None:
                row["baseline_loss"] = self.data.baseline_loss
            row["perplexity"] = row["test_perplexity"]
            return row

        def sample(self, n: int = 8, temperature: float = 1.0, top_k: int = 0, seed: int = 0,
                   prefix: str = "") -> list[str]:
            return sample(self, n, temperature, top_k, seed, prefix)

    return LanguageModelRun(spec, data, device)


def _encode(vocab: list[str], text: str) -> list[int]:
    index = {c: i for i, c in enumerate(vocab)}
    return [index[c] for c in text if c in index]


@torch.no_grad()
def next_probs(run, ids: list[int], temperature: float = 1.0) -> np.ndarray:
    """P(next token | ids) (V,) from the run's model at the given temperature."""
    x = torch.as_tensor([ids], dtype=torch.long, device=run.device)
    logits = run.outputs(x)[0, -1].float()
    return torch.softmax(logits / max(temperature, 1e-6), -1).cpu().numpy()


def draw_probs(p: np.ndarray, top_k: int = 0) -> np.ndarray:
    """The distribution `sample` draws the next token from, given P(next) at its temperature:
    padding never, only the top_k most likely tokens (0 = all), renormalised to sum 1."""
    p = np.array(p)                                                # a copy, in its own dtype
    p[0] = 0.0                                                     # never draw padding
    if top_k:
        p[np.argsort(p)[:-top_k]] = 0.0
    return p / p.sum()


def marked(vocab: list[str]) -> bool:
    """The texts are framed by the boundary mark '.' at vocab[1] (names): each starts after it
    and ends at the next one."""
    return len(vocab) > 1 and vocab[1] == "."


def start_ids(data: Dataset, prefix: str = "") -> list[int]:
    """The ids a text starts from: the boundary mark (names) and then `prefix`; without a mark and
    a prefix, the first character of the held-out text. Characters not in the vocabulary are skipped."""
    start = ([1] if marked(data.vocab) else []) + _encode(data.vocab, prefix)
    return start or [int(data.x_test[0, 0])]


def sample(run, n: int = 8, temperature: float = 1.0, top_k: int = 0, seed: int = 0,
           prefix: str = "") -> list[str]:
    """n texts drawn one token at a time, at most the training length each. A dataset whose
    vocab[1] is the boundary mark '.' (names) starts there and stops at the next one; other texts
    start from `prefix` (or the first character of the held-out text). Pad is never drawn."""
    vocab, steps = run.data.vocab, run.data.input_shape[0]
    mark = marked(vocab)
    start = start_ids(run.data, prefix)
    rng = np.random.default_rng(seed)
    texts = []
    for _ in range(n):
        ids = list(start)
        while len(ids) < steps:
            p = draw_probs(next_probs(run, ids[-steps:], temperature), top_k)
            t = int(rng.choice(len(p), p=p))
            if mark and t == 1:
                break
            ids.append(t)
        texts.append("".join(vocab[i] for i in ids[1 if mark else 0:]))
    return texts


def default_layers(data: Dataset) -> tuple[LayerSpec, ...]:
    """An Embedding, one LSTM and a per-step Linear over the vocabulary."""
    vocab = len(data.vocab)
    return (LayerSpec.make("embedding", vocab=vocab, dim=24), LayerSpec.make("lstm", hidden=128),
            LayerSpec.make("linear", units=vocab))


def _refit(layers: tuple[LayerSpec, ...], data: Dataset) -> tuple[LayerSpec, ...]:
    """The stack with its Embedding and last Linear sized for the data's vocabulary."""
    vocab = len(data.vocab)
    out = list(layers)
    if out and out[0].kind == "embedding":
        out[0] = LayerSpec.make("embedding", **{**out[0].params, "vocab": vocab})
    if out and out[-1].kind == "linear":
        out[-1] = LayerSpec.make("linear", **{**out[-1].params, "units": vocab})
    return tuple(out)


def _views():
    from ..sequence_views import SampleView                  # (it imports this module)
    return {"samples": SampleView()}


def _export(spec: RunSpec) -> str:
    from ..export import supervised_script
    return supervised_script(spec)


register(Task(TASK, "Language model", "Predict the next character at every step: cross-entropy per character.",
              TASK, _build, check, lambda data, group: {MAIN: default_layers(data)}, refit=_refit,
              views=_views, export=_export, regularised=True,
              score=Score("perplexity", "perplexity", False,
                          "e to the loss: as unsure as a fair choice among this many characters (lower is better).")))
