"""Views of the Sequences & text page: callables Run -> a typed record (engine/records.py) that
the trainer's worker calls at a bounded rate and publishes in its snapshots, so the page never
touches a model another thread trains. Each keeps settings the page changes from its own
thread with `set` (thread-safe, as engine.probes.Recorder's example); `Trainer.refresh_views()` then
computes them again while the run is paused.

- samples:    texts a language model draws at a temperature and top-k (and which are training texts)
- next_chars: P(next character | what the user typed), as the model gives it and as the sampler draws
- forecast:   a held-out window of a series, its true next values and the model's forecast
- classes:    the class probabilities of a sequence the user types (the language of a word)

Each returns None where it does not apply; all are read-only (eval mode, no_grad, own RNG).
"""
from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
import torch

from .data import Dataset
from .data.tokens import encode
from .optim import predict
from .records import Forecast, NextChars, Samples, SequenceClasses
from .tasks.language import TASK as LANGUAGE_MODEL, draw_probs, marked, next_probs, sample, start_ids

MAX_SAMPLES = 32                 # texts per draw: 8 names take ~10 ms on a laptop CPU


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


def sequence_views(temperature: float = 1.0, top_k: int = 0, seed: int = 0, prefix: str = "",
                   text: str = "", index: int = 0) -> dict[str, Settings]:
    """The page's views by name, started at these settings (each returns None where it does not apply)."""
    return {"samples": SampleView(temperature=temperature, top_k=top_k, seed=seed),
            "next_chars": NextCharView(prefix, temperature, top_k),
            "forecast": ForecastView(index), "classes": ClassesView(text)}
