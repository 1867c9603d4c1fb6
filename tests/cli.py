"""`python -m engine ARGS` for the tests, run in this process: the same `engine.__main__.main`,
with its stdout, stderr and exit code, without the seconds a new interpreter spends importing
torch. (The exported scripts still run in their own process: that they stand alone is the point.)"""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
from pathlib import Path

from engine.__main__ import main

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path = ROOT, runs: Path | None = None) -> subprocess.CompletedProcess:
    out, err = io.StringIO(), io.StringIO()
    env_before, cwd_before = os.environ.get("PLAYGROUND_RUNS_DIR"), os.getcwd()
    if runs is not None:
        os.environ["PLAYGROUND_RUNS_DIR"] = str(runs)
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as e:                      # argparse's refusals
                code = e.code if isinstance(e.code, int) else 2
    finally:
        os.chdir(cwd_before)
        if env_before is None:
            os.environ.pop("PLAYGROUND_RUNS_DIR", None)
        else:
            os.environ["PLAYGROUND_RUNS_DIR"] = env_before
    return subprocess.CompletedProcess(["python", "-m", "engine", *args], code, out.getvalue(), err.getvalue())
