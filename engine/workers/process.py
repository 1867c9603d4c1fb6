"""The process backend: each run's Trainer in its own child process (multiprocessing's
forkserver, which imports torch once and forks clean children; spawn where there is none), so
the server process never trains. Commands go over one pipe and are answered; the child pushes
every new snapshot over another. A child that dies (SIGKILL, out of memory) shows its run as
failed with a sentence, and frees its place."""
from __future__ import annotations

import contextlib
import multiprocessing as mp
from multiprocessing import spawn
import pickle
import signal
import threading
import time
from typing import Any

from .remote import Host, RemoteTrainer, reply

_STARTING = threading.local()   # set while this module starts a child (see _preparation_data)


def _preparation_data(name: str, _original=spawn.get_preparation_data) -> dict:
    """multiprocessing re-imports the parent's __main__ in every child; inside a Streamlit
    script run __main__ is the page script, so a child would run the page. Our children need
    no __main__: everything they run is in the engine package (the forkserver reads main_path)."""
    data = _original(name)
    if getattr(_STARTING, "on", False):
        for key in ("init_main_from_path", "init_main_from_name", "main_path"):
            data.pop(key, None)
    return data


@contextlib.contextmanager
def _without_main():
    _STARTING.on = True
    try:
        yield
    finally:
        _STARTING.on = False


spawn.get_preparation_data = _preparation_data

PUSH_S = 0.03            # the child looks for a new snapshot this often
REPLY_S = 30.0           # a command not answered in this long means the child is stuck
_CTX: list = []


def context():
    """forkserver with torch and the engine preloaded (a child starts in ~0.1 s instead of
    importing torch for ~3 s); spawn where forkserver does not exist."""
    if not _CTX:
        try:
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(["engine.trainer", "engine.tasks", "engine.views"])
        except ValueError:
            ctx = mp.get_context("spawn")
        _CTX.append(ctx)
    return _CTX[0]


def warm() -> None:
    """Start the forkserver now (it imports torch and the engine once, ~3 s), so the first run
    does not wait for it."""
    if context().get_start_method() == "forkserver":
        from multiprocessing import forkserver
        with _without_main():
            forkserver.ensure_running()


def _child(commands, snapshots, payload: bytes) -> None:
    """The child: the Trainer, a thread pushing its snapshots, and this loop answering commands."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)          # Ctrl-C stops the server, which stops us
    host = Host(payload)
    done = threading.Event()

    def push():
        last = -1
        while True:
            snap, extra = host.state()
            if snap.version != last:
                try:
                    snapshots.send_bytes(pickle.dumps((snap, extra), protocol=pickle.HIGHEST_PROTOCOL))
                except (OSError, EOFError):
                    return                                 # the server is gone
                last = snap.version
            if snap.state == "stopped" or (done.is_set() and not extra["alive"]):
                return
            time.sleep(PUSH_S)

    pusher = threading.Thread(target=push, daemon=True)
    pusher.start()
    while True:
        try:
            op, *rest = commands.recv()
        except (EOFError, OSError):                        # the server went away: stop
            break
        stop = op == "call" and rest[0] == "stop"
        if stop:
            rest[2]["timeout"] = rest[2].get("timeout", 5.0)
        commands.send(reply(lambda: host.handle(op, *rest)))
        if stop:
            break
    done.set()
    host.trainer.stop(timeout=5)
    pusher.join(5)


class ProcessTrainer(RemoteTrainer):
    backend = "process"

    def _start(self, payload: bytes) -> None:
        ctx = context()
        self._rpc_lock = threading.Lock()
        self._commands, child_commands = ctx.Pipe()
        self._snapshots, child_snapshots = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(child_commands, child_snapshots, payload),
                                 daemon=True, name="playground-trainer")
        with _without_main():
            self._proc.start()
        child_commands.close()
        child_snapshots.close()
        self._reader = threading.Thread(target=self._read, daemon=True, name="playground-snapshots")
        self._reader.start()
        _LIVE.add(self)

    def _read(self) -> None:
        """Receive the child's snapshots until its pipe closes; a child that ended without
        stopping failed."""
        while True:
            try:
                snap, extra = pickle.loads(self._snapshots.recv_bytes())
            except (EOFError, OSError):
                break
            self._got(snap, extra)
        self._proc.join(2)
        self._failed(_why(self._proc.exitcode))

    def _rpc(self, op: str, *rest: Any) -> Any:
        """Send one request, wait for its answer; None when the child is gone (its snapshot
        says why); a ValueError from the Trainer's checks is raised here."""
        with self._rpc_lock:
            try:
                self._commands.send((op, *rest))
                if not self._commands.poll(REPLY_S):
                    return None
                status, value = self._commands.recv()
            except (EOFError, OSError, BrokenPipeError):
                return None
        if status == "err":
            raise value
        return value

    @property
    def alive(self) -> bool:
        return self._proc.is_alive() and self.snapshot().state != "stopped"

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def _end(self, timeout: float) -> None:
        if self._proc.is_alive():
            self._rpc("call", "stop", (), {"timeout": min(timeout, 5.0)})
            self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(2)
        self._reader.join(2)
        _LIVE.discard(self)


def _why(code: int | None) -> str:
    """The sentence a run shows when its worker process ended without being stopped."""
    if code is not None and code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit code {code}"
    return (f"The worker process training this run ended unexpectedly ({how}; the server may be out of "
            "memory, or someone stopped it). Its last save is in the run history; start it "
            "again from its page.")


_LIVE: set = set()


def live_processes() -> list[ProcessTrainer]:
    return [t for t in list(_LIVE) if t._proc.is_alive()]


def stop_all(timeout: float = 2.0) -> None:
    for t in list(_LIVE):
        t.stop(timeout=timeout)


def pids() -> list[int]:
    return [t.pid for t in live_processes() if t.pid]

