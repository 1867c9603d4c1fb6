"""Run history: every run of every page (and of `python -m engine run`) in one SQLite file.

A row holds the run's spec, its evaluation series, its final and best-epoch metrics, the page
it came from, a name and tags, and the path of its weights file (a state_dict per network,
saved with torch.save and read back with weights_only=True). The database lives in the runs
folder (PLAYGROUND_RUNS_DIR, by default `runs/` in the repository) with the weights beside it.

WAL mode and one short connection per call: several sessions (threads or processes) write at
once and lose nothing; a locked database waits up to BUSY_S. A file that is not a database is
moved aside (`runs.db.corrupt-<time>`) and a fresh one started, with `warning` saying so:
never a crash, and the old file is kept for whoever wants to recover it.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import tracking
from .schema import clip
from .spec import MAIN

ENV = "PLAYGROUND_RUNS_DIR"
DEFAULT = Path(__file__).resolve().parent.parent / "runs"
BUSY_S = 10.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    page TEXT NOT NULL,
    name TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL,
    spec TEXT NOT NULL,
    series TEXT NOT NULL,
    final TEXT NOT NULL,
    best TEXT NOT NULL,
    weights TEXT NOT NULL DEFAULT ''
)"""


def runs_folder() -> Path:
    return Path(os.environ.get(ENV) or DEFAULT).expanduser().resolve()


def default_store() -> RunStore | None:
    """The history in the configured runs folder, one per folder and process, mirrored to MLflow
    when PLAYGROUND_MLFLOW_URI says where (engine/tracking.py); None (runs are not kept, nothing
    breaks) when the folder cannot be written."""
    return _store_at(runs_folder(), os.environ.get(tracking.ENV, ""))


@functools.lru_cache(maxsize=4)
def _store_at(folder: Path, mlflow_uri: str) -> RunStore | None:
    try:
        return open_store(folder)
    except (OSError, sqlite3.Error):
        return None


def open_store(folder: Path | None = None) -> RunStore:
    """The history in `folder` (by default the configured runs folder), mirrored to MLflow when
    PLAYGROUND_MLFLOW_URI says where; raises OSError / sqlite3.Error when it cannot be opened."""
    store = RunStore(folder or runs_folder())
    store.mirror, store.mirror_error = tracking.from_env()
    return store


@dataclass(frozen=True)
class RunRecord:
    id: str
    created: float
    updated: float
    page: str
    name: str
    tags: tuple[str, ...]
    state: str
    spec: dict                      # the RunSpec as a dict (engine.spec.to_dict)
    series: dict[str, list]         # evaluation columns: step, epoch, train_loss, test_acc, ...
    final: dict                     # the last evaluation's numbers
    best: dict                      # the evaluation with the best held-out score, and its step
    weights: str = ""               # file name in the runs folder ('' when none was saved)

    def summary(self) -> dict:
        """The row as the list and `runs list --json` show it (no series)."""
        return {"id": self.id, "name": self.name, "page": self.page, "state": self.state,
                "created": self.created, "tags": list(self.tags), "final": self.final, "best": self.best}


def best_eval(series: dict[str, list]) -> dict:
    """The evaluation with the best held-out score: highest test accuracy (or R²) where there is
    one, else the lowest test loss (a GAN's: the lowest distance of its samples to the real
    data); {} for an empty series."""
    steps = series.get("step") or []
    for key, higher in (("test_acc", True), ("test_r2", True), ("test_loss", False), ("distance", False)):
        col = series.get(key) or []
        scored = [i for i, v in enumerate(col) if isinstance(v, (int, float)) and math.isfinite(v)]
        if scored:
            i = (max if higher else min)(scored, key=lambda j: col[j])    # the first of equals
            return {k: v[i] for k, v in series.items() if i < len(v) and not isinstance(v[i], list)} | {
                "by": key, "step": steps[i] if i < len(steps) else None}
    return {}


def _plain_numbers(d: dict) -> dict:
    """A metrics dict with what JSON holds (NaN and inf as strings, lists dropped)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = str(v)
        elif isinstance(v, (int, float, str, bool)) or v is None:
            out[k] = v
    return out


@dataclass
class RunStore:
    folder: Path = field(default_factory=runs_folder)
    warning: str = ""               # set when a damaged database was moved aside
    mirror: tracking.MlflowMirror | None = None    # also log every save to MLflow (engine/tracking.py)
    mirror_error: str = ""          # why the last save did not reach MLflow ('' when it did)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "runs.db"
        self._lock = threading.Lock()
        self._open_checked()

    # ------------------------------------------------------------ connection
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=BUSY_S, isolation_level=None)
        con.execute(f"PRAGMA busy_timeout = {int(BUSY_S * 1000)}")
        return con

    def _open_checked(self) -> None:
        """Create the table; a file that is not a database (or fails its check) is moved aside."""
        try:
            with self._lock, self._connect() as con:
                con.execute("PRAGMA journal_mode = WAL")
                con.execute(SCHEMA)
                if con.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise sqlite3.DatabaseError("quick_check failed")
        except sqlite3.DatabaseError as e:
            aside = self.path.with_name(f"runs.db.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(self.path) + suffix)
                if p.exists():
                    p.replace(Path(str(aside) + suffix))
            self.warning = (f"the run history {self.path.name} was damaged ({clip(str(e))}); it was moved to "
                            f"{aside.name} and a fresh history started")
            with self._lock, self._connect() as con:
                con.execute("PRAGMA journal_mode = WAL")
                con.execute(SCHEMA)

    # ------------------------------------------------------------ writing
    def save(self, *, spec: dict, series: dict[str, list], final: dict, state: str, page: str,
             name: str = "", run_id: str | None = None, weights: dict[str, Any] | None = None) -> str:
        """Insert or update one run; returns its id. `weights` maps a network's role to its
        state_dict (saved beside the database)."""
        run_id = run_id or uuid.uuid4().hex
        now = time.time()
        wfile = ""
        if weights:
            import torch
            wfile = f"{run_id}.pt"
            tmp = self.folder / f".{wfile}.{uuid.uuid4().hex}.tmp"
            torch.save({role: {k: v.detach().cpu() for k, v in sd.items()} for role, sd in weights.items()}, tmp)
            tmp.replace(self.folder / wfile)                       # never a half-written file
        row = (run_id, now, now, page, name or spec.get("name", "") or "run", state,
               json.dumps(spec), json.dumps({k: [_num(v) for v in col] for k, col in series.items()}),
               json.dumps(_plain_numbers(final)), json.dumps(_plain_numbers(best_eval(series))), wfile)
        with self._connect() as con:
            con.execute(
                "INSERT INTO runs (id, created, updated, page, name, state, spec, series, final, best, weights) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "updated = excluded.updated, state = excluded.state, spec = excluded.spec, "
                "series = excluded.series, final = excluded.final, best = excluded.best, "
                "weights = CASE WHEN excluded.weights != '' THEN excluded.weights ELSE runs.weights END",
                row)
        self._mirror("save", run_id, spec=spec, series=series, state=state, page=page, name=row[4],
                     weights=self.folder / wfile if wfile else None)
        return run_id

    def _mirror(self, what: str, run_id: str, *args: Any, **kwargs: Any) -> None:
        """Pass a change on to MLflow; a failure is kept in mirror_error, never raised."""
        if self.mirror is None:
            return
        try:
            getattr(self.mirror, what)(run_id, *args, **kwargs)
            self.mirror_error = ""
        except Exception as e:  # noqa: BLE001 - the history has the run; MLflow is a copy
            self.mirror_error = (f"run {run_id[:8]} is kept here but MLflow did not get it "
                                 f"({type(e).__name__}: {clip(str(e).splitlines()[0] if str(e) else '', 160)})")

    def rename(self, run_id: str, name: str) -> None:
        with self._connect() as con:
            con.execute("UPDATE runs SET name = ? WHERE id = ?", (name[:200], run_id))
        self._mirror("rename", run_id, name[:200])

    def tag(self, run_id: str, tags: list[str]) -> None:
        clean = sorted({t.strip()[:40] for t in tags if t.strip()})
        with self._connect() as con:
            con.execute("UPDATE runs SET tags = ? WHERE id = ?", (json.dumps(clean), run_id))
        self._mirror("tag", run_id, clean)

    def delete(self, run_id: str) -> bool:
        """Remove the run and its weights file; False when there is no such run."""
        rec = self.get(run_id)
        if rec is None:
            return False
        with self._connect() as con:
            con.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        if rec.weights:
            (self.folder / rec.weights).unlink(missing_ok=True)
        self._mirror("delete", run_id)
        return True

    # ------------------------------------------------------------ reading
    def list(self, page: str | None = None) -> list[RunRecord]:
        """Every run, newest first (optionally of one page)."""
        sql, args = "SELECT * FROM runs", ()
        if page:
            sql, args = sql + " WHERE page = ?", (page,)
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            rows = con.execute(sql + " ORDER BY created DESC, id", args).fetchall()
        return [_record(r) for r in rows]

    def get(self, run_id: str) -> RunRecord | None:
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            row = con.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _record(row) if row else None

    def find(self, prefix: str) -> RunRecord | None:
        """The run whose id starts with `prefix` (as the CLI accepts short ids), if exactly one."""
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            rows = con.execute("SELECT * FROM runs WHERE id LIKE ? || '%' LIMIT 2",
                               (prefix.replace("%", "").replace("_", ""),)).fetchall()
        return _record(rows[0]) if len(rows) == 1 else None

    def weights(self, run_id: str) -> dict | None:
        """The saved state_dicts (role -> state_dict), loaded with weights_only=True."""
        rec = self.get(run_id)
        if rec is None or not rec.weights or not (self.folder / rec.weights).is_file():
            return None
        import torch
        return torch.load(self.folder / rec.weights, weights_only=True, map_location="cpu")

    def export_csv(self, run_ids: list[str]) -> str:
        """One row per evaluation of each run: run id, name, then the series' columns."""
        recs = [r for r in (self.get(i) for i in run_ids) if r is not None]
        cols = sorted({k for r in recs for k in r.series}, key=lambda k: (k != "step", k))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["run", "name", *cols])
        for r in recs:
            for i in range(len(r.series.get("step", []))):
                w.writerow([r.id, r.name, *(_cell(r.series.get(k), i) for k in cols)])
        return buf.getvalue()


def weights_of(run: Any) -> dict[str, dict]:
    """role -> state_dict of a run's networks: `run.networks` (role -> module) for a task with
    several, else its `model`; {} for a run without weights (an LR range test)."""
    nets = getattr(run, "networks", None)
    if nets is None:
        model = getattr(run, "model", None)
        nets = {} if model is None else {MAIN: model}
    return {role: m.state_dict() for role, m in nets.items()}


def _num(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v if isinstance(v, (int, float, str, bool)) or v is None else None


def _cell(col: list | None, i: int) -> Any:
    return "" if col is None or i >= len(col) or col[i] is None else col[i]


def _record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(row["id"], row["created"], row["updated"], row["page"], row["name"],
                     tuple(json.loads(row["tags"])), row["state"], json.loads(row["spec"]),
                     json.loads(row["series"]), json.loads(row["final"]), json.loads(row["best"]),
                     row["weights"])


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """A nested spec dict as {'networks.model.optim.lr': 0.01, ...} (lists of layers by index)."""
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out |= flatten(v, f"{prefix}{k}.")
        return out
    if isinstance(d, list) and any(isinstance(v, dict) for v in d):
        out = {}
        for i, v in enumerate(d):
            out |= flatten(v, f"{prefix[:-1]}[{i}].")
        return out
    return {prefix[:-1]: d}


def differing(specs: list[dict]) -> dict[str, list[Any]]:
    """The spec fields whose values are not the same in every one of `specs` (a field missing
    from one counts as different), each with its value per spec (None where missing), in the
    first spec's order: the columns of the Runs page's comparison."""
    flat = [flatten(s) for s in specs]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    return {k: [f.get(k) for f in flat] for k in keys
            if len({json.dumps(f.get(k, "<missing>"), sort_keys=True) for f in flat}) > 1}
