"""The Ray backend: each run's Trainer on a Ray actor, so a school adds machines by adding them
to a Ray cluster. The app connects to the cluster at PLAYGROUND_RAY_ADDRESS, or starts a local
Ray with PLAYGROUND_RAY_CPUS CPUs (default all). Snapshots are pulled by a thread on the server
whenever the actor has a newer one; an actor that dies shows its run as failed."""
from __future__ import annotations

import os
import threading
import time
from typing import Any

from .remote import Host, RemoteTrainer, reply

ADDRESS_ENV = "PLAYGROUND_RAY_ADDRESS"
CPUS_ENV = "PLAYGROUND_RAY_CPUS"
PULL_S = 0.05             # how often the server asks an actor for a newer snapshot
REPLY_S = 30.0
_ACTOR: list = []
_INIT_LOCK = threading.Lock()


def connect(num_cpus: int | None = None) -> None:
    """ray.init once: the cluster at PLAYGROUND_RAY_ADDRESS, else a local one."""
    import ray
    with _INIT_LOCK:
        if ray.is_initialized():
            return
        address = os.environ.get(ADDRESS_ENV, "").strip()
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = {"working_dir": None, "env_vars": {"PYTHONPATH": root}}
        if address:
            ray.init(address=address, runtime_env=env, log_to_driver=False)
        else:
            cpus = num_cpus or int(os.environ.get(CPUS_ENV, "0") or 0) or os.cpu_count()
            ray.init(num_cpus=cpus, include_dashboard=False, runtime_env=env, log_to_driver=False)


def _actor_class():
    if not _ACTOR:
        import ray

        @ray.remote(num_cpus=1, max_concurrency=4)
        class TrainerActor:
            def __init__(self, payload: bytes) -> None:
                self.host = Host(payload)

            def snapshot(self, known: int):
                snap, extra = self.host.state()
                return None if snap.version == known else (snap, extra)

            def handle(self, op: str, *rest: Any):
                return reply(lambda: self.host.handle(op, *rest))

            def stop(self, timeout: float) -> None:
                self.host.trainer.stop(timeout=timeout)

        _ACTOR.append(TrainerActor)
    return _ACTOR[0]


class RayTrainer(RemoteTrainer):
    backend = "ray"

    def _start(self, payload: bytes) -> None:
        import ray
        connect()
        self._ray = ray
        self._actor = _actor_class().remote(payload)
        self._ended = threading.Event()
        self._dead = False
        self._puller = threading.Thread(target=self._pull, daemon=True, name="playground-ray-snapshots")
        self._puller.start()
        _LIVE.add(self)

    def _pull(self) -> None:
        known = -1
        while not self._ended.is_set():
            try:
                got = self._ray.get(self._actor.snapshot.remote(known), timeout=REPLY_S)
            except Exception as e:  # noqa: BLE001 - the actor (or its node) died
                if not self._ended.is_set():
                    self._dead = True
                    self._failed("The Ray worker training this run ended unexpectedly "
                                 f"({type(e).__name__}; its machine may have left the cluster or run out of "
                                 "memory). Its last save is in the run history; start it again from its page.")
                return
            if got is not None:
                self._got(*got)
                known = got[0].version
                if got[0].state == "stopped":
                    return
            time.sleep(PULL_S)

    def _rpc(self, op: str, *rest: Any) -> Any:
        if self._dead:
            return None
        try:
            status, value = self._ray.get(self._actor.handle.remote(op, *rest), timeout=REPLY_S)
        except Exception:  # noqa: BLE001 - gone; the snapshot says why
            return None
        if status == "err":
            raise value
        return value

    @property
    def alive(self) -> bool:
        return not self._dead and not self._ended.is_set() and self.snapshot().state != "stopped"

    def _end(self, timeout: float) -> None:
        if not self._dead and not self._ended.is_set():
            try:
                self._ray.get(self._actor.stop.remote(min(timeout, 5.0)), timeout=timeout + 5)
                snap = self._ray.get(self._actor.snapshot.remote(-1), timeout=timeout)
                if snap is not None:
                    self._got(*snap)
            except Exception:  # noqa: BLE001
                pass
        self._ended.set()
        try:
            self._ray.kill(self._actor)
        except Exception:  # noqa: BLE001
            pass
        self._puller.join(2)
        _LIVE.discard(self)


_LIVE: set = set()


def live_actors() -> list[RayTrainer]:
    return [t for t in list(_LIVE) if t.alive]


def stop_all(timeout: float = 2.0) -> None:
    for t in list(_LIVE):
        t.stop(timeout=timeout)
