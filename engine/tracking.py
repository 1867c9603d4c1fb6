"""Optional: mirror the run history into an MLflow tracking store, so a team can outgrow the
single-file database (engine/store.py) without changing how it trains.

Set `PLAYGROUND_MLFLOW_URI` to a tracking server (`http://mlflow.example:5000`) or a local store
(`file:///srv/mlruns`; MLflow 3 wants `MLFLOW_ALLOW_FILE_STORE=true` for that) and install
`mlflow-skinny`. Every save of a run then logs to one MLflow run (tagged `playground.id` with the
history's id): the flattened spec as parameters (once), the evaluation rows not logged yet as
metrics at their step, the page, name and state as tags, and the weights file as an artifact.
The MLflow run is FINISHED when the run is done, FAILED when it diverged or failed, KILLED when it
was saved part-way (paused, or its tab closed; a later save updates it). A store that fails never stops a save: the history keeps
the run and says why MLflow did not get it.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

ENV = "PLAYGROUND_MLFLOW_URI"
EXPERIMENT = "playground"
PACKAGE = "mlflow-skinny==3.17.2"
# the history's state of a saved run -> MLflow's status; a run saved part-way ("training": paused,
# or its tab closed) is KILLED until a later save says otherwise
STATUS = {"done": "FINISHED", "diverged": "FAILED", "error": "FAILED", "training": "KILLED"}
MAX_PARAM = 500                 # MLflow's limit on a parameter's value, in characters
BATCH = 100                     # parameters per log_batch call (MLflow's limit)
SKIP = ("step",)                # series columns that are the x axis, not metrics


class MlflowMirror:
    """Logs runs to the MLflow tracking store at `uri`, in the experiment `experiment`."""

    def __init__(self, uri: str, experiment: str = EXPERIMENT):
        from mlflow.tracking import MlflowClient
        self.client = MlflowClient(tracking_uri=uri)
        exp = self.client.get_experiment_by_name(experiment)
        self.experiment = experiment
        self.experiment_id = exp.experiment_id if exp else self.client.create_experiment(experiment)
        self._runs: dict[str, str] = {}          # history id -> MLflow run id
        self._logged: dict[str, float] = {}      # history id -> last step logged

    def mlflow_id(self, run_id: str) -> str | None:
        """The MLflow run mirroring history run `run_id`, if there is one."""
        if run_id not in self._runs:
            found = self.client.search_runs([self.experiment_id], f"tags.`playground.id` = '{run_id}'",
                                            max_results=1)
            if not found:
                return None
            self._runs[run_id] = found[0].info.run_id
        return self._runs[run_id]

    def save(self, run_id: str, *, spec: dict, series: dict[str, list], state: str, page: str, name: str,
             weights: Path | None = None) -> str:
        """Log one save of a history run; returns the MLflow run id."""
        from mlflow.entities import Metric, Param, RunTag
        mid = self.mlflow_id(run_id)
        if mid is None:
            mid = self.client.create_run(self.experiment_id, run_name=name,
                                         tags={"playground.id": run_id}).info.run_id
            self._runs[run_id] = mid
            params = [Param(k, _text(v)) for k, v in flatten_spec(spec).items()]
            for i in range(0, len(params), BATCH):
                self.client.log_batch(mid, params=params[i:i + BATCH])
        steps = series.get("step") or []
        since, now = self._logged.get(run_id, -math.inf), int(time.time() * 1000)
        metrics = [Metric(k, float(col[i]), now, int(steps[i]))
                   for i in range(len(steps)) if steps[i] > since
                   for k, col in series.items() if k not in SKIP and i < len(col) and _number(col[i])]
        for i in range(0, len(metrics), 1000):
            self.client.log_batch(mid, metrics=metrics[i:i + 1000])
        if steps:
            self._logged[run_id] = steps[-1]
        self.client.log_batch(mid, tags=[RunTag("page", page), RunTag("mlflow.runName", name),
                                         RunTag("state", state)])
        if weights is not None and weights.is_file():
            self.client.log_artifact(mid, str(weights))
        self.client.update_run(mid, status=STATUS.get(state, "KILLED"))
        return mid

    def rename(self, run_id: str, name: str) -> None:
        if (mid := self.mlflow_id(run_id)) is not None:
            self.client.set_tag(mid, "mlflow.runName", name)

    def tag(self, run_id: str, tags: list[str]) -> None:
        if (mid := self.mlflow_id(run_id)) is not None:
            self.client.set_tag(mid, "playground.tags", ", ".join(tags))

    def delete(self, run_id: str) -> None:
        if (mid := self.mlflow_id(run_id)) is not None:
            self.client.delete_run(mid)
            self._runs.pop(run_id, None)


def from_env() -> tuple[MlflowMirror | None, str]:
    """The mirror `PLAYGROUND_MLFLOW_URI` asks for (None when it is not set), and a warning when
    it is set but cannot be used."""
    uri = os.environ.get(ENV, "").strip()
    if not uri:
        return None, ""
    try:
        return MlflowMirror(uri), ""
    except ImportError:
        return None, f"{ENV} is set but MLflow is not installed: pip install {PACKAGE}"
    except Exception as e:  # noqa: BLE001 - a store that cannot be reached must not stop the history
        return None, f"the MLflow store in {ENV} cannot be used ({type(e).__name__}: {_clip(e)}); runs are kept here only"


def flatten_spec(spec: dict) -> dict[str, Any]:
    """A spec as MLflow parameters: nested sections as dotted keys (`optim.lr` under each network,
    `data.name`), a network's layer stack as one JSON value."""
    out: dict[str, Any] = {}
    for k, v in spec.items():
        if k == "networks":
            for role, net in v.items():
                out[f"{role}.layers"] = json.dumps(net["layers"], separators=(",", ":"))
                out.update({f"{role}.optim.{ok}": ov for ok, ov in net["optim"].items()})
        elif isinstance(v, dict):
            out.update({f"{k}.{sk}": sv for sk, sv in v.items()})
        else:
            out[k] = v
    return out


def _text(v: Any) -> str:
    text = v if isinstance(v, str) else json.dumps(v)
    return text if len(text) <= MAX_PARAM else text[:MAX_PARAM - 1] + "…"


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _clip(e: Exception) -> str:
    from .schema import clip
    return clip(str(e).splitlines()[0] if str(e) else "", 160)
