import os
import tempfile

import pytest
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHONPATH", str(ROOT))
# runs the tests train (CLI, pages) go to a throwaway history, never the repository's runs/
os.environ.setdefault("PLAYGROUND_RUNS_DIR", tempfile.mkdtemp(prefix="playground-test-runs-"))


@pytest.fixture
def stop_trainers():
    """AppTest never calls on_release: stop every trainer the test started."""
    yield
    from engine.workers import stop_all
    stop_all()


@pytest.fixture
def trainers():
    """trainers(*args, **kwargs): a Trainer, stopped when the test ends."""
    from engine.trainer import Trainer
    made = []
    yield lambda *a, **k: made.append(Trainer(*a, **k)) or made[-1]
    for t in made:
        t.stop()
