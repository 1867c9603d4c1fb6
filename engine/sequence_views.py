"""Views of the Sequences & text page: callables Run -> a typed record (engine/records.py) that
the trainer's worker calls at a bounded rate and publishes in its snapshots, so the page never
touches a model another thread trains. Each keeps settings the page changes from its own
thread with `set` (thread-safe, as engine.probes.Recorder's example); `Trainer.refresh_views()` then
computes them again while the run is paused.

- samples:    texts a language model draws at a temperature and top-k (and which are training texts)
- next_chars: P(next character | what the user typed), as the model gives it and as the sampler draws
- forecast:   a held-out window of a series, its true next values and the model's forecast
- classes:    the class probabilities of a sequence the user types (the language of a word)
- inside:     inside the model for one example (engine.probes.sequence): the hidden states and
              gates, connectivity, attention per head, the embedding map and gradients through time

Each returns None where it does not apply; all are read-only (eval mode, no_grad, own RNG; the
inside view works on its own CPU copy of the model, so not even .grad or train mode changes).
"""
from __future__ import annotations

import copy
import math
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from torch import nn

from .data import IGNORE, Dataset
from .data.tokens import encode
from .layers.sequence import Recurrent, SelfAttention, attention_weights
from .optim import predict
from .probes.sequence import connectivity_rows, embedding_map, step_states, time_gradient_rows
from .records import (AttentionMaps, Connectivity, EmbeddingPoints, Forecast, HiddenStates, Inside, NextChars,
                      Samples, SequenceClasses, TimeGradients)
from .tasks.language import TASK as LANGUAGE_MODEL, draw_probs, marked, next_probs, sample, start_ids

MAX_SAMPLES = 32                 # texts per draw: 8 names take ~10 ms on a laptop CPU
MAX_UNITS = 128                  # hidden states and gates: at most this many units are published
NEIGHBOURS = 5                   # the embedding map's nearest neighbours per token


class Settings:
    """A view's settings: changed by any thread (`set`), read by the worker as one consistent
    copy with the version it had (`read`)."""

    def __init__(self, **values: Any) -> None:
        self._lock = threading.Lock()
        self._values = dict(values)
        self._version = 0
        self.set(**values)

    def check(self, values: dict) -> dict:
        """The values, checked (ValueError with a sentence) and converted; views override it."""
        return values

    def set(self, **changes: Any) -> None:
        unknown = set(changes) - set(self._values)
        if unknown:
            raise ValueError(f"{type(self).__name__}: no setting {', '.join(sorted(unknown))} "
                             f"(settings: {', '.join(self._values)})")
        with self._lock:
            values = self.check({**self._values, **changes})
            if values != self._values or self._version == 0:
                self._values, self._version = values, self._version + 1

    def read(self) -> tuple[dict, int]:
        with self._lock:
            return dict(self._values), self._version

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    @property
    def values(self) -> dict:
        return self.read()[0]


def _whole(v: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or not lo <= v <= hi:
        raise ValueError(f"{name} must be a whole number from {lo} to {hi:,}, got {v!r}")
    return int(v)


def _temperature(t: Any) -> float:
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not 0 < t <= 10:
        raise ValueError(f"temperature must be a number above 0 and at most 10, got {t!r}")
    return float(t)


def _text(v: Any, name: str) -> str:
    if not isinstance(v, str):
        raise ValueError(f"{name} must be text, got {v!r}")
    return v


def fold(vocab: list[str] | tuple[str, ...], text: str, limit: int) -> tuple[str, str]:
    """`text` as the model can read it, and what was left out: lower-cased when the vocabulary
    has no capitals, without characters outside it (or the '.' that frames names), at most
    `limit` characters. Returns (kept, dropped)."""
    known = set(vocab[2:] if marked(list(vocab)) else vocab[1:])
    if not any(c.isupper() for c in known):
        text = text.lower()
    kept = "".join(c for c in text if c in known)
    dropped = "".join(c for c in text if c not in known) + kept[limit:]
    return kept[:limit], dropped


def _is_language_model(run: Any) -> bool:
    return run.spec.task == LANGUAGE_MODEL


# ---------------------------------------------------------------- samples
class SampleView(Settings):
    """`n` texts drawn at `temperature` with `top_k` from a fixed `seed`: the same random draws
    at every refresh, so what changes is the model alone."""

    def __init__(self, n: int = 8, temperature: float = 1.0, top_k: int = 0, seed: int = 0) -> None:
        self._known_for: Dataset | None = None
        self._known: frozenset[str] = frozenset()
        super().__init__(n=n, temperature=temperature, top_k=top_k, seed=seed)

    def check(self, v: dict) -> dict:
        return {"n": _whole(v["n"], "n", 1, MAX_SAMPLES), "temperature": _temperature(v["temperature"]),
                "top_k": _whole(v["top_k"], "top_k", 0, 10**6), "seed": _whole(v["seed"], "seed", 0, 2**32 - 1)}

    def known(self, data: Dataset) -> frozenset[str]:
        """The training texts of framed data (names), to tell a copied name from a new one."""
        if self._known_for is not data:
            texts: frozenset[str] = frozenset()
            if marked(data.vocab):
                texts = frozenset("".join(data.vocab[i] for i in row if i > 1) for row in data.x_train.tolist())
            self._known_for, self._known = data, texts
        return self._known

    def __call__(self, run: Any) -> Samples | None:
        if not _is_language_model(run):
            return None
        s, version = self.read()
        texts = sample(run, s["n"], s["temperature"], s["top_k"], s["seed"])
        known = self.known(run.data)
        return Samples(run.step_count, version, s["temperature"], s["top_k"], s["seed"], tuple(texts),
                       tuple(t in known for t in texts))


# ---------------------------------------------------------------- next character
class NextCharView(Settings):
    """P(next character) after `prefix` (names: after the start mark and `prefix`), at temperature 1
    and as `sample` draws it at `temperature` with `top_k`."""

    def __init__(self, prefix: str = "", temperature: float = 1.0, top_k: int = 0) -> None:
        super().__init__(prefix=prefix, temperature=temperature, top_k=top_k)

    def check(self, v: dict) -> dict:
        return {"prefix": _text(v["prefix"], "prefix"), "temperature": _temperature(v["temperature"]),
                "top_k": _whole(v["top_k"], "top_k", 0, 10**6)}

    def __call__(self, run: Any) -> NextChars | None:
        if not _is_language_model(run):
            return None
        s, version = self.read()
        data = run.data
        vocab, steps, mark = data.vocab, data.input_shape[0], marked(data.vocab)
        kept, dropped = fold(vocab, s["prefix"], steps - mark)        # the model reads at most `steps` ids
        ids = start_ids(data, kept)
        probs = next_probs(run, ids, 1.0)
        drawn = draw_probs(next_probs(run, ids, s["temperature"]), s["top_k"]).astype(np.float32)
        context = "".join(vocab[i] for i in ids[1 if mark else 0:])
        return NextChars(run.step_count, version, s["prefix"], context, dropped, tuple(vocab), probs, drawn,
                         s["temperature"], s["top_k"], mark)


# ---------------------------------------------------------------- forecast
class ForecastView(Settings):
    """The held-out window number `index` of a one-feature series (N, W, 1) -> (N, H): its values,
    the true next H values and the model's forecast, in the units the model reads."""

    def __init__(self, index: int = 0) -> None:
        super().__init__(index=index)

    def check(self, v: dict) -> dict:
        return {"index": _whole(v["index"], "index", 0, 10**9)}

    @torch.no_grad()
    def __call__(self, run: Any) -> Forecast | None:
        d = run.data
        if run.spec.task != "regression" or d.x_test.ndim != 3 or d.x_test.shape[2] != 1:
            return None
        s, version = self.read()
        i = min(s["index"], len(d.x_test) - 1)
        pred = run.outputs(run.x_test[i:i + 1])[0].float().cpu().numpy()          # (H,)
        return Forecast(run.step_count, version, i, len(d.x_test), d.x_test[i, :, 0].astype(np.float32),
                        d.y_test[i].astype(np.float32), pred.astype(np.float32))


# ---------------------------------------------------------------- classes of a typed sequence
class ClassesView(Settings):
    """The class probabilities of `text` read as tokens (left-padded as the data are); with no
    text, of the first held-out example, with its true class."""

    def __init__(self, text: str = "") -> None:
        super().__init__(text=text)

    def check(self, v: dict) -> dict:
        return {"text": _text(v["text"], "text")}

    @torch.no_grad()
    def __call__(self, run: Any) -> SequenceClasses | None:
        d = run.data
        if run.spec.task != "classification" or not d.token_input:
            return None
        s, version = self.read()
        steps = d.input_shape[0]
        if s["text"]:
            kept, dropped = fold(d.vocab, s["text"], steps)
            ids, true = encode([kept], d.vocab, steps, left=True), None                 # (1, T)
        else:
            ids, true, dropped = d.x_test[:1], int(d.y_test[0]), ""
            kept = "".join(d.vocab[i] for i in ids[0] if i > 0)
        out = run.outputs(torch.as_tensor(ids, dtype=torch.long, device=run.device))
        probs = predict(run.loss_name, out)[0].float().cpu().numpy()
        return SequenceClasses(run.step_count, version, s["text"], kept, dropped, true, tuple(d.class_names),
                               probs.astype(np.float32))


# ---------------------------------------------------------------- inside the model, for one example
SHOWN = {" ": "␣", "\n": "⏎", "\t": "⇥"}


def token_text(vocab: list[str], i: int) -> str:
    """Token id i as the inside views write it: padding "·", a space "␣"."""
    return "·" if i == 0 else SHOWN.get(vocab[i], vocab[i])


@dataclass(frozen=True)
class Example:
    """One example as the inside views read it (all on the CPU)."""
    x: torch.Tensor                     # (1, T) token ids or (1, T, F) values
    tokens: tuple[str, ...]             # (T,) what the model reads at each step, as text
    positions: list[int]                # (P,) the steps a prediction is made at
    targets: list[int]                  # (P,) the score each prediction's connectivity follows
    target_text: tuple[str, ...]        # (P,) that target as text
    ys: torch.Tensor | None             # (P, ...) the loss target of each prediction (None: no loss)
    label: str                          # "held-out name 1", "“mar” (typed)"
    dropped: str = ""
    message: str = ""


def _held_out(d: Dataset, what: str, i: int) -> str:
    return f"held-out {what} {i + 1} of {len(d.x_test):,}"


def lm_example(run: Any, text: str, index: int) -> Example:
    """A language model's example: the typed text after the start mark (names), or held-out text
    `index`; a prediction at every step, of the true next character."""
    d, message, dropped = run.data, "", ""
    vocab, steps, mark = d.vocab, d.input_shape[0], marked(d.vocab)
    kept = ""
    if text:
        kept, dropped = fold(vocab, text, steps - mark)
        if not kept or (not mark and len(kept) < 2):
            message = (f"The model cannot read “{text}”: " + ("none of its characters is in its vocabulary"
                       if not kept else "it needs at least two characters to predict one") + "; showing a "
                       "held-out example instead.")
    if kept and not message:
        ids = start_ids(d, kept)
        nxt = ids[1:] + ([1] if mark else [])
        label = f"“{kept}” (typed)"
    else:
        i = min(index, len(d.x_test) - 1)
        row = d.x_test[i]
        ids = [int(t) for t in row[:int(np.count_nonzero(row))]] if mark else [int(t) for t in row]
        nxt = [int(t) for t in d.y_test[i][:len(ids)]]
        label = _held_out(d, "name" if mark else "text", i)
    positions = [p for p, t in enumerate(nxt) if t != IGNORE]
    targets = [nxt[p] for p in positions]
    ys = torch.full((len(positions), len(ids)), IGNORE, dtype=torch.long)        # one loss per row
    ys[torch.arange(len(positions)), positions] = torch.tensor(targets, dtype=torch.long)
    text_of = ["end" if mark and t == 1 else token_text(vocab, t) for t in targets]
    return Example(torch.tensor([ids]), tuple(token_text(vocab, t) for t in ids), positions, targets,
                   tuple(text_of), ys, label, dropped if not message else "", message)


def _values(x: np.ndarray) -> tuple[str, ...]:
    """A series' steps as text: its values (one feature) or step numbers."""
    if x.ndim == 2 and x.shape[1] == 1:
        return tuple(f"{v:.1f}" for v in x[:, 0])
    return tuple(str(t + 1) for t in range(len(x)))


def one_output_example(run: Any, model: nn.Module, text: str, index: int) -> Example:
    """A classifier's or a forecaster's example: the typed word (token data) or held-out example
    `index`; one prediction after the last step (the predicted class; the first forecast value)."""
    d, message, dropped, true = run.data, "", "", None
    steps, kept = d.input_shape[0], ""
    if text and d.token_input:
        kept, dropped = fold(d.vocab, text, steps)
        if not kept:
            message = (f"The model cannot read “{text}”: none of its characters is in its vocabulary; "
                       "showing a held-out example instead.")
    i = min(index, len(d.x_test) - 1)
    if kept:
        x, label = torch.as_tensor(encode([kept], d.vocab, steps, left=True)), f"“{kept}” (typed)"
    else:
        x, true = torch.as_tensor(d.x_test[i:i + 1]), d.y_test[i]
        label = _held_out(d, "word" if d.token_input else "window" if run.spec.task == "regression" else
                          "example", i)
    tokens = tuple(token_text(d.vocab, int(t)) for t in x[0]) if d.token_input else _values(d.x_test[i])
    last = x.shape[1] - 1
    if run.spec.task == "regression":
        ys = torch.as_tensor(np.asarray(true, np.float32))[None]                  # (1, H)
        return Example(x, tokens, [last], [0], ("the next value",), ys, label)
    with torch.no_grad():
        pred = int(model(x)[0].argmax())
    cls = int(true) if true is not None else pred
    return Example(x, tokens, [last], [pred], (d.class_names[pred],), torch.tensor([cls]), label,
                   dropped, message)


def hidden_states(model: nn.Sequential, ex: Example) -> HiddenStates | None:
    """The first recurrent layer's states (units × steps) and gates; None without one."""
    found = step_states(model, ex.x)
    if not found:
        return None
    s = found[0]
    units = s.states.shape[1]
    gates = {k: np.ascontiguousarray(v.T[:MAX_UNITS], np.float32) for k, v in s.gates.items() if k != "state"}
    return HiddenStates(s.label, ex.tokens, np.ascontiguousarray(s.states.T[:MAX_UNITS], np.float32), gates, units)


def connectivity_map(model: nn.Sequential, ex: Example, causal: bool) -> Connectivity:
    strength = connectivity_rows(model, ex.x, ex.positions, ex.targets).astype(np.float32)
    return Connectivity(ex.tokens, tuple(ex.positions), ex.target_text, strength, causal)


def attention_maps(model: nn.Module, ex: Example) -> AttentionMaps | None:
    """Every attention layer's weights per head for the example; None without attention."""
    layers = [m for m in model.modules() if isinstance(m, SelfAttention)]
    if not layers:
        return None
    weights = attention_weights(model, ex.x)
    return AttentionMaps(ex.tokens, tuple(f"attention layer {i + 1}" for i in range(len(layers))),
                         tuple(w[0].float().numpy() for w in weights), tuple(m.causal for m in layers))


def embedding_points(model: nn.Sequential, vocab: list[str]) -> EmbeddingPoints | None:
    """The first layer's embedding table by PCA in 2-D, with neighbours; None without one."""
    if not isinstance(model[0], nn.Embedding):
        return None
    m = embedding_map(model, min(NEIGHBOURS, len(vocab) - 1))
    labels = tuple("pad" if i == 0 else token_text(vocab, i) for i in range(len(vocab)))
    return EmbeddingPoints(labels, m.points, m.explained, model[0].embedding_dim,
                           tuple(tuple(n) for n in m.neighbours), tuple(tuple(s) for s in m.similarity))


def gradients_through_time(model: nn.Sequential, ex: Example, loss_fn) -> TimeGradients | str:
    """|d loss / d h_t| of every prediction's loss; the sentence why not where it does not apply."""
    rec = [m for m in model if isinstance(m, Recurrent)]
    if not rec:
        return ("The model has no recurrent layer: attention reaches every earlier step in one hop, so the "
                "gradient does not have to travel back step by step.")
    if rec[0].rnn.num_layers != 1 or rec[0].rnn.bidirectional:
        return "Gradients through time are shown for one recurrent layer that reads in one direction."
    norms = time_gradient_rows(model, ex.x, ex.ys, loss_fn).astype(np.float32)
    return TimeGradients(type(rec[0].rnn).__name__, ex.tokens, tuple(ex.positions), norms)


WHY_NOT = {
    "states": "The model has no recurrent layer, so it carries no state from step to step: it looks back "
              "at the earlier steps directly (see Attention).",
    "attention": "The model has no attention layer: a recurrent network reads one step after another, "
                 "keeping what it needs in its state (see Connectivity for what it looks back at).",
    "embedding": "The model reads numbers, not tokens, so it has no embedding table to map.",
}


class InsideView(Settings):
    """Inside the model for one example: the typed `text` (token data) or held-out example `index`
    (for a series, the held-out window). Works on a CPU copy of the model, refreshed from its weights
    at every call, so the run's model, its gradients and its mode are never touched."""

    def __init__(self, text: str = "", index: int = 0) -> None:
        self._model: nn.Module | None = None
        self._of: Any = None                                 # weakref to the run's model it copies
        super().__init__(text=text, index=index)

    def check(self, v: dict) -> dict:
        return {"text": _text(v["text"], "text").strip(), "index": _whole(v["index"], "index", 0, 10**9)}

    def copy_of(self, model: nn.Module) -> nn.Module:
        """The CPU copy of `model`, with its weights now."""
        if self._of is None or self._of() is not model:
            self._model, self._of = copy.deepcopy(model).cpu(), weakref.ref(model)
            for p in self._model.parameters():
                p.grad = None
        else:
            self._model.load_state_dict(model.state_dict())
        return self._model.eval()

    def __call__(self, run: Any) -> Inside | None:
        d = run.data
        if not (d.token_input or d.x_test.ndim == 3) or not isinstance(run.model, nn.Sequential):
            return None                                       # not a sequence model
        s, version = self.read()
        model = self.copy_of(run.model)
        lm = _is_language_model(run)
        ex = lm_example(run, s["text"], s["index"]) if lm else one_output_example(run, model, s["text"], s["index"])
        found = {"states": hidden_states(model, ex), "attention": attention_maps(model, ex),
                 "embedding": embedding_points(model, d.vocab) if d.token_input else None}
        why = {k: why for k, why in WHY_NOT.items() if found[k] is None}
        conn = grads = None
        if ex.positions:
            conn = connectivity_map(model, ex, lm)
            grads = gradients_through_time(model, ex, run.loss_fn)
            if isinstance(grads, str):
                why["gradients"], grads = grads, None
        else:
            why["connectivity"] = why["gradients"] = "This example has no prediction to follow back."
        return Inside(run.step_count, version, s["text"], ex.label, ex.dropped, ex.message, found["states"], conn,
                      found["attention"], found["embedding"], grads, why)


def sequence_views(temperature: float = 1.0, top_k: int = 0, seed: int = 0, prefix: str = "",
                   text: str = "", index: int = 0, inside_text: str = "", inside_index: int = 0
                   ) -> dict[str, Settings]:
    """The page's views by name, started at these settings (each returns None where it does not apply)."""
    return {"samples": SampleView(temperature=temperature, top_k=top_k, seed=seed),
            "next_chars": NextCharView(prefix, temperature, top_k),
            "forecast": ForecastView(index), "classes": ClassesView(text),
            "inside": InsideView(inside_text, inside_index)}
