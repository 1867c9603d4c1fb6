"""Pages on the process backend (PLAYGROUND_BACKEND=process): the Playground trains in a child
process and the Inside page's recorder (a view with a setting) is driven across the pipe."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.presets import load_preset
from engine.workers import process

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("stop_trainers")


def _remote():
    (t,) = process.live_processes()
    return t


def test_the_playground_trains_in_a_worker_process_and_inside_drives_its_recorder(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_BACKEND", "process")
    monkeypatch.setenv("PLAYGROUND_MAX_RUNS", "2")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["pg_spec"] = load_preset("tf_playground").with_(epochs=2)
    at.switch_page("app_pages/playground.py").run()
    assert not at.exception, at.exception[0].value
    t = _remote()
    t.wait(lambda s: s.state == "idle", 60)
    at.button(key="pg_train").click().run()
    snap = t.wait(lambda s: s.state == "done", 120)           # trained in the child, not here
    assert snap.run.step == snap.run.total_steps and snap.run.views.get("boundary") is not None
    at.run()
    assert not at.exception, at.exception[0].value
    assert "Workers:** process" in " ".join(m.value for m in at.sidebar.markdown)
    at.switch_page("app_pages/inside.py").run()
    assert not at.exception, at.exception[0].value
    at.number_input(key="inside_example").set_value(7).run()  # the recorder's setting, in the child
    assert not at.exception, at.exception[0].value
    assert t.views["probes"].example == 7                      # read back from the child's recorder
    deadline = time.monotonic() + 30
    while not _title(at).startswith("Input: test example #7"):  # and recorded there, then drawn here
        assert time.monotonic() < deadline, _title(at)
        time.sleep(0.3)
        at.run()


def _title(at) -> str:
    return json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"]
