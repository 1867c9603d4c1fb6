"""A Trainer in another process (engine/workers/process.py) or on a Ray actor (ray_backend.py):
`Host` wraps the real Trainer where it trains and answers requests; `RemoteTrainer` has the
Trainer's public interface on the server and talks to a Host through `_rpc`. Snapshots are
pushed (or pulled) as pickles: plain dataclasses of numpy arrays and numbers."""
from __future__ import annotations

import io
import pickle
import threading
from typing import Any, Callable

from ..spec import MAIN
from ..trainer import Snapshot, State, Trainer, wait_for

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


class _Pickler(pickle.Pickler):
    """Pickles a trainer's arguments: the views and the run history hold locks, which are
    re-created (unlocked) where they land."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCK_TYPES):
            return (threading.RLock if "RLock" in type(obj).__name__ else threading.Lock), ()
        return NotImplemented


class NotPortable(TypeError):
    """A trainer's arguments that cannot be sent to another process (a lambda, a closure)."""


def dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    try:
        _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    except (pickle.PicklingError, AttributeError, TypeError) as e:
        raise NotPortable(f"{type(e).__name__}: {e}") from e
    return buf.getvalue()


class Host:
    """The real Trainer, where it trains; `handle` answers one request from the server."""

    def __init__(self, payload: bytes) -> None:
        args, kwargs = pickle.loads(payload)
        self.trainer = Trainer(*args, **kwargs)

    def state(self) -> tuple[Snapshot, dict]:
        t = self.trainer
        return t.snapshot(), {"history_error": t.history_error, "record_ids": t.record_ids(), "alive": t.alive}

    def handle(self, op: str, *rest: Any) -> Any:
        t = self.trainer
        if op == "call":                          # a command: resume, pause, step, set_lr, ...
            name, args, kwargs = rest
            return getattr(t, name)(*args, **kwargs)
        if op == "view_get":                      # an attribute of a view (its settings' version)
            value = getattr(t.views[rest[0]], rest[1])
            return ("callable",) if callable(value) else ("value", value)
        if op == "view_call":                     # a view's setter (thread-safe in the view)
            name, attr, args, kwargs = rest
            return getattr(t.views[name], attr)(*args, **kwargs)
        if op == "weights":                       # each run's networks, to read the model on the server
            from ..store import weights_of
            return [(r.step_count, weights_of(r)) for r in t.runs()]
        if op == "set_weights":                   # weights loaded on the server (an upload) go back
            if t.snapshot().active:
                raise ValueError("weights can be loaded only into a run that is not training: pause it first")
            for run, weights in zip(t.runs(), rest[0]):
                nets = getattr(run, "networks", None) or {MAIN: run.model}
                for role, state in weights.items():
                    nets[role].load_state_dict(state)
            return None
        raise ValueError(f"unknown request {op!r}")


def reply(fn: Callable[[], Any]) -> tuple:
    """('ok', result) or ('err', exception) that pickles."""
    try:
        return ("ok", fn())
    except Exception as e:  # noqa: BLE001 - sent back and raised on the server
        try:
            pickle.dumps(e)
            return ("err", e)
        except Exception:  # noqa: BLE001
            return ("err", RuntimeError(f"{type(e).__name__}: {e}"))


class _RemoteView:
    """A view living beside the remote trainer: attribute reads and setter calls are forwarded.
    Once the worker is gone, a setter does nothing and a read gives its last value, as a plain
    Trainer's view object outlives its stopped worker."""

    def __init__(self, owner: "RemoteTrainer", name: str) -> None:
        self._owner, self._name = owner, name
        self._seen: dict[str, tuple] = {}            # attr -> ('callable',) or ('value', last value)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        got = self._owner._rpc("view_get", self._name, attr)
        if got is None:                              # the worker is gone
            got = self._seen.get(attr, ("value", None))
        self._seen[attr] = got
        if got[0] == "value":
            return got[1]
        return lambda *a, **kw: self._owner._rpc("view_call", self._name, attr, a, kw)


class RemoteTrainer:
    """The Trainer's public interface; subclasses give `_rpc`, `_start`, `alive` and `_end`."""

    backend = "remote"

    def __init__(self, specs, names=None, views=None, view_every_s: float = 0.3, autostart: bool = False,
                 build=None, history=None, page: str = "", **more: Any) -> None:
        from ..spec import RunSpec
        self.specs = [specs] if isinstance(specs, RunSpec) else list(specs)
        self.names = names or [s.name or f"run {i + 1}" for i, s in enumerate(self.specs)]
        self.history, self.page, self._build = history, page, build
        self.views = {name: _RemoteView(self, name) for name in (views or {})}
        kwargs = dict(names=self.names, views=views, view_every_s=view_every_s, autostart=autostart,
                      history=history, page=page, **more)
        if build is not None:
            kwargs["build"] = build
        self._lock = threading.Lock()             # one request at a time on the channel
        self._snap = Snapshot(State.PREPARING)
        self._extra: dict = {"history_error": "", "record_ids": [None]}
        self._local: tuple[int, list] | None = None   # (version, runs rebuilt here) for runs()
        self._start(dumps(((self.specs,), kwargs)))    # NotPortable before any worker starts

    # ------------------------------------------------------------ the channel (subclasses)
    def _start(self, payload: bytes) -> None: raise NotImplementedError
    def _rpc(self, op: str, *rest: Any) -> Any: raise NotImplementedError
    def _end(self, timeout: float) -> None: raise NotImplementedError

    @property
    def alive(self) -> bool: raise NotImplementedError

    def _got(self, snap: Snapshot, extra: dict) -> None:
        with self._lock:
            self._snap, self._extra = snap, extra

    def _failed(self, why: str) -> None:
        """The worker is gone without stopping: the run shows as failed, with why."""
        with self._lock:
            s = self._snap
            if s.state == State.STOPPED:
                return
            self._snap = Snapshot(State.ERROR, why, s.runs, 0.0, s.version + 1, s.device)

    # ------------------------------------------------------------ commands
    def _command(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._rpc("call", name, args, kwargs)

    def resume(self) -> None: self._command("resume")
    def pause(self) -> None: self._command("pause")
    def reset(self) -> None: self._command("reset")
    def refresh_views(self) -> None: self._command("refresh_views")
    def step(self, n: int = 1, only: str | None = None) -> None: self._command("step", n, only)
    def set_lr(self, lr: float, index: int | None = None) -> None: self._command("set_lr", lr, index)

    def stop(self, timeout: float = 5.0) -> None:
        self._end(timeout)

    def __getattr__(self, name: str) -> Any:
        """Any other public Trainer command (a speed control, ...) is forwarded as it is."""
        if name.startswith("_") or not callable(getattr(Trainer, name, None)):
            raise AttributeError(name)
        return lambda *a, **kw: self._rpc("call", name, a, kw)

    # ------------------------------------------------------------ reading
    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snap

    @property
    def device(self):
        from ..device import pick_device
        return pick_device(self.specs[0].device)

    @property
    def history_error(self) -> str:
        return self._extra.get("history_error", "")

    def record_ids(self) -> list[str | None]:
        return list(self._extra.get("record_ids") or [None])

    def wait(self, until: Callable[[Snapshot], bool], timeout: float = 60.0) -> Snapshot:
        return wait_for(self.snapshot, until, timeout)

    def runs(self) -> list:
        """Copies of the runs, rebuilt here and loaded with the worker's weights (to read the
        trained model: export, explain, compress). Writing to them does not reach the worker."""
        version = self.snapshot().version
        if self._local is not None and self._local[0] == version:
            return self._local[1]
        got = self._rpc("weights")
        if got is None:
            return self._local[1] if self._local else []
        if self._local is None:
            from ..data import load_dataset
            from ..tasks import build_run
            build = self._build or build_run
            dev = self.device.device
            data = load_dataset(self.specs[0].data, self.specs[0].seed)
            runs = [build(s, data if s.data == self.specs[0].data else None, dev) for s in self.specs]
        else:
            runs = self._local[1]
        for run, (steps, weights) in zip(runs, got):
            nets = getattr(run, "networks", None) or {MAIN: run.model}
            for role, state in weights.items():
                if role in nets:
                    nets[role].load_state_dict(state)
            try:
                run.step_count = steps
            except AttributeError:
                pass
        self._local = (version, runs)
        return runs

    def send_weights(self) -> None:
        """After writing to the copies runs() gave (loading uploaded weights), send their weights
        to the worker, which trains on from them."""
        if self._local is not None:
            from ..store import weights_of
            self._rpc("set_weights", [weights_of(r) for r in self._local[1]])
