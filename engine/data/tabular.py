"""Tabular datasets that ship inside scikit-learn, standardised by default."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..spec import DataSpec                 # types only: the spec reads this registry when it parses
from . import Dataset, DatasetInfo, finish, register


def _sklearn(name: str, label: str, loader: str, help: str) -> None:
    def load(spec: DataSpec, seed: int) -> Dataset:
        from sklearn import datasets                      # imported on first use: ~1 s
        bunch = getattr(datasets, loader)()
        return finish(spec, info, bunch.data, bunch.target, seed,
                      [str(c) for c in bunch.target_names], list(bunch.feature_names))
    source = f"from sklearn.datasets import {loader}\nb = {loader}()\nx, y = b.data, b.target"
    info = register(DatasetInfo(name, label, "tabular", "classification", load, help,
                                ("test_fraction", "preprocessing"), "standardize", source=source))


_sklearn("iris", "Iris (150 flowers, 4 measurements, 3 species)", "load_iris",
         "Fisher's iris flowers: petal and sepal sizes -> species.")
_sklearn("wine", "Wine (178 wines, 13 chemical measurements, 3 cultivars)", "load_wine",
         "Chemical analysis of Italian wines -> grape cultivar.")
_sklearn("breast_cancer", "Breast cancer (569 tumours, 30 features, 2 classes)", "load_breast_cancer",
         "Cell-nucleus measurements from biopsies -> malignant or benign.")
