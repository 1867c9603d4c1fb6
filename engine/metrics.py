"""Evaluation metrics computed with torch on the run's device, and a thread-safe series store."""
from __future__ import annotations

import operator
import threading

import numpy as np
import torch


def classification_metrics(y: torch.Tensor, pred: torch.Tensor, n_classes: int) -> dict:
    """Accuracy, per-class and macro precision / recall / F1, and the confusion matrix
    (rows = true class, columns = predicted)."""
    cm = torch.bincount(y * n_classes + pred, minlength=n_classes ** 2).reshape(n_classes, n_classes)
    cm = cm.cpu().numpy()
    tp = np.diag(cm).astype(float)
    precision, recall = _ratio(tp, cm.sum(0)), _ratio(tp, cm.sum(1))      # 0 where nothing to divide by
    f1 = _ratio(2 * precision * recall, precision + recall)
    return {"acc": float(tp.sum() / max(1, cm.sum())), "precision": float(precision.mean()),
            "recall": float(recall.mean()), "f1": float(f1.mean()), "confusion": cm.tolist(),
            "precision_per_class": precision.tolist(), "recall_per_class": recall.tolist(),
            "f1_per_class": f1.tolist()}


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b, and 0 where b is 0 (then a is 0 too: 0/0 counts as 0); cheaper than nan_to_num."""
    return np.divide(a, b, out=np.zeros(len(a)), where=b != 0)


def regression_metrics(y: torch.Tensor, out: torch.Tensor) -> dict:
    mse = torch.mean((out - y) ** 2)
    var = torch.mean((y - y.mean(0)) ** 2)
    return {"mse": float(mse), "r2": float(1 - mse / var) if float(var) > 0 else 0.0}


class Series:
    """Named columns appended row by row under a lock; snapshot() returns copies,
    thinned to at most `max_points` rows (always keeping the last).

    The history is bounded: past `max_rows` rows, every other row of the older half is
    dropped (the first row stays), so recent steps keep full resolution and a run left
    overnight keeps a few thousand rows of its start, as TensorBoard's reservoir does."""

    def __init__(self, max_rows: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._cols: dict[str, list] = {}
        self._n = 0
        self.max_rows = max_rows

    def append(self, row: dict) -> None:
        with self._lock:
            for k in row:                                  # new columns in the row's order
                if k not in self._cols:
                    self._cols[k] = [None] * self._n
            for k, col in self._cols.items():
                col.append(row.get(k))
            self._n += 1
            if self._n > self.max_rows:
                half = self._n // 2
                for k, col in self._cols.items():
                    self._cols[k] = col[:half:2] + col[half:]
                self._n = len(next(iter(self._cols.values())))

    def __len__(self) -> int:
        return self._n

    def last(self) -> dict:
        with self._lock:
            return {k: v[-1] for k, v in self._cols.items()} if self._n else {}

    def snapshot(self, max_points: int = 2000) -> dict[str, list]:
        with self._lock:
            n = self._n
            if n <= max_points:
                return {k: list(v) for k, v in self._cols.items()}
            idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(int)).tolist()
            pick = operator.itemgetter(*idx)                       # one C loop per column
            return {k: list(pick(v)) for k, v in self._cols.items()}
