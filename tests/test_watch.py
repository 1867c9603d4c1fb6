"""Training you can watch (issue 21): runs that train until paused, and slow motion."""
import json

import pytest

from engine.__main__ import finite, main
from engine.spec import DataSpec, LayerSpec, OptimSpec, RunSpec, from_dict, to_dict
from engine.trainer import CHUNK_S, pace

L = LayerSpec.make
TINY = RunSpec.make(data=DataSpec("moons", 64, 0.1, 0.5), layers=(L("linear", units=4), L("tanh"), L("linear", units=2)),
                    optim=OptimSpec("adam", lr=0.02), batch_size=8, epochs=1, seed=3)      # 4 steps an epoch


def test_until_paused_round_trips_and_defaults_to_off():
    assert RunSpec().until_paused is False
    s = TINY.with_(until_paused=True)
    assert from_dict(json.loads(json.dumps(to_dict(s)))) == s
    with pytest.raises(ValueError, match="until_paused"):
        from_dict({**to_dict(s), "until_paused": "yes"})


def test_a_run_until_paused_trains_past_its_last_step_and_pause_stops_it(trainers):
    t = trainers(TINY.with_(until_paused=True), autostart=True)
    total = t.wait(lambda s: s.run is not None).run.total_steps
    assert total == 4
    snap = t.wait(lambda s: s.run.step > 10 * total, 60)
    assert snap.state == "running" and snap.run.status == "training"
    t.pause()
    paused = t.wait(lambda s: s.state == "paused", 10)
    assert paused.run.step > 10 * total and max(paused.run.evals["step"]) > total   # evaluations go on too
    t.resume()
    assert t.wait(lambda s: s.run.step > paused.run.step + 5, 30).state == "running"
    # the same spec without until_paused finishes at its last step
    done = trainers(TINY, autostart=True).wait(lambda s: s.state in ("done", "diverged", "error"), 60)
    assert done.state == "done" and done.run.step == total


def test_the_slow_motion_schedule():
    assert pace(None) == (None, 0.0)                       # full speed: chunks of CHUNK_S back to back
    assert pace(2) == (1, 0.5)                             # one step every half second
    assert pace(0.25) == (1, 4.0)
    assert pace(100) == (round(100 * CHUNK_S), round(100 * CHUNK_S) / 100)
    for speed in (0.5, 3, 20, 300, 5000):
        most, gap = pace(speed)
        assert most >= 1 and most / gap == pytest.approx(speed)


def test_a_slow_run_takes_one_step_per_chunk_until_full_speed_again(trainers):
    t = trainers(TINY.with_(until_paused=True))
    t.set_speed(0.25)                                       # set before the run is built: kept
    t.wait(lambda s: s.state == "idle" and t.pace == (1, 4.0), 30)   # (the worker applies it once built)
    t.resume()
    first = t.wait(lambda s: s.run.step >= 1, 30)
    assert first.run.step == 1 and t.snapshot().run.step == 1   # the next step is 4 s away
    t.pause()                                               # acts while the worker waits: no second step
    assert t.wait(lambda s: s.state == "paused", 30).run.step == 1
    t.set_speed(None)
    t.resume()
    assert t.wait(lambda s: s.run.step > 40, 30).state == "running" and t.pace == (None, 0.0)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "fast", 1e6])
def test_a_bad_speed_is_refused_with_a_sentence(trainers, bad):
    t = trainers(TINY)
    with pytest.raises(ValueError, match="set_speed: the speed must be"):
        t.set_speed(bad)
    assert t.wait(lambda s: s.state == "idle", 30).state == "idle"


def test_the_cli_trains_an_until_paused_spec_for_its_length_and_says_so(tmp_path, capsys):
    s = TINY.with_(until_paused=True, epochs=3)
    assert finite(s) == TINY.with_(epochs=3)
    path = tmp_path / "spec.json"
    path.write_text(s.to_json())
    assert main(["run", str(path), "--json"]) == 0
    out = capsys.readouterr()
    final = json.loads(out.out.strip().splitlines()[-1])
    assert final["state"] == "done" and final["step"] == 12
    assert "trains until paused on the page" in out.err and "its 3 epochs" in out.err


# ---------------------------------------------------------------- the Playground page
def test_the_playground_trains_2d_data_until_paused_at_the_chosen_speed(stop_trainers):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    import ui.playground as pg
    from engine import adapt
    from engine.presets import load_preset
    from engine.trainer import live_trainers
    assert pg.default_spec() == load_preset("tf_playground").with_(until_paused=True)
    assert pg.preset("mnist_cnn") == load_preset("mnist_cnn")                  # images: for its epochs
    moved = adapt.fit_to_data(load_preset("mnist_cnn").with_(data=DataSpec("circle")), same_group=False)[0]
    assert moved.until_paused

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=60)
    at.session_state["pg_spec"] = pg.default_spec().with_(epochs=1)          # 25 steps an epoch
    at.switch_page("app_pages/playground.py").run()
    assert not at.exception and at.toggle(key="pg0_until_paused").value is True
    at.button(key="pg_train").click().run()
    (t,) = live_trainers()
    snap = t.wait(lambda s: s.run is not None and s.run.step > 4 * s.run.total_steps, 60)
    assert snap.state == "running"
    at.run()
    assert any("(trains until paused)" in c.value for c in at.caption), [c.value for c in at.caption]
    at.select_slider(key="pg_speed_slider").set_value(1).run()
    at.button(key="pg_train").click().run()                    # Pause (applied after the speed command)
    assert t.wait(lambda s: s.state == "paused", 30).state == "paused" and t.pace == (1, 1.0)
    at.toggle(key="pg0_until_paused").set_value(False).run()   # a new spec: a new run, for its epochs
    assert at.session_state["pg_spec"].until_paused is False and not at.exception


def test_the_too_small_hint_also_comes_to_a_run_past_its_planned_epochs():
    from ui.playground import too_small_hint
    assert too_small_hint("running", "classification", {"train_acc": 0.63}, 25) is None
    hint = too_small_hint("running", "classification", {"train_acc": 0.63}, 25, past_epochs=True)
    assert hint.startswith("Past its planned epochs, training is still at 63% train accuracy with only 25 weights")
    assert too_small_hint("paused", "classification", {"train_acc": 0.97}, 25, past_epochs=True) is None
