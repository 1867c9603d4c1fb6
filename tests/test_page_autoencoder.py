"""AppTest of the Autoencoders page: the MNIST autoencoder trains a few steps and shows its
numbers, reconstructions, code plane, decoded grid, traversal and curves; a typed point is
decoded on the paused run; the VAE's kind resizes the encoder; a bad code size is refused."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import engine.trainer as trainer_mod

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("stop_trainers")


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "autoencoder.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception[0].message
    return at


def _trainer():
    (t,) = [t for t in trainer_mod.live_trainers() if t.page == "autoencoder"]
    return t


def _titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _key(at: AppTest, suffix: str) -> str:
    return f"ae{at.session_state['ae_gen']}_{suffix}"


def test_the_mnist_autoencoder_trains_and_shows_every_figure_and_decodes_a_typed_point():
    at = _page()
    t = _trainer()
    t.wait(lambda s: s.state == "idle", timeout=60)
    t.step(50)
    t.wait(lambda s: s.state == "paused" and s.run.step == 50, timeout=60)
    at.run()
    assert not at.exception, at.exception[0].message
    titles = _titles(at)
    for start in ("Test images and their reconstructions, step 50", "Test examples at their codes, step 50",
                  "What the decoder makes of each place of the plane", "One code number at a time",
                  "Reconstruction loss", "How well the codes sort the classes", "Decoded from the chosen point"):
        assert any(title.startswith(start) for title in titles), (start, titles)
    assert _metric(at, "Step") == "50"
    assert float(_metric(at, "Test loss")) < 250                   # untrained: about 545
    assert _metric(at, "kNN accuracy").endswith("%")
    assert any("nearest training codes share its class" in c.value for c in at.caption)
    plane = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                 if json.loads(c.proto.spec)["layout"]["title"]["text"].startswith("Test examples at their codes"))
    assert {d.get("name") for d in plane["data"]} >= {"0", "9", "click to decode", "chosen point"}
    assert len([d for d in plane["data"] if d.get("name") in set("0123456789")]) == 10    # a trace per digit
    assert len(t.snapshot().run.views["latent"].points) == 1000                              # every test digit
    at.number_input(key="ae_u").set_value(1.5).run()                              # typed: decoded and marked
    assert not at.exception
    plane = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                 if json.loads(c.proto.spec)["layout"]["title"]["text"].startswith("Test examples at their codes"))
    chosen = next(d for d in plane["data"] if d.get("name") == "chosen point")
    assert chosen["x"] == [1.5]


def test_the_vae_kind_resizes_the_encoder_and_a_bad_code_size_is_refused():
    at = _page()
    at.radio(key=_key(at, "autoencoder_kind")).set_value("variational").run()
    assert not at.exception and not [e.value for e in at.error]
    s = at.session_state["ae_spec"]
    assert s.autoencoder.kind == "variational" and s.net("encoder").layers[-1].params["units"] == 4
    assert any(m.label == "β (KL weight)" for m in at.number_input)
    at.number_input(key=_key(at, "encoder_L5_units")).set_value(3).run()         # the encoder's last Linear
    errors = [e.value for e in at.error]
    assert any(e.startswith("encoder: the last layer (Linear 3) outputs 3, but the encoder must output a mean") for e in errors)
    assert at.button(key="ae_train").disabled
    at.selectbox(key=_key(at, "data")).set_value("digits").run()
    assert not at.exception and not [e.value for e in at.error]
    s = at.session_state["ae_spec"]
    assert s.data.name == "digits" and s.net("decoder").layers[-1].params["units"] == 64
    assert s.net("encoder").layers[-1].params["units"] == 4                       # still a VAE's 2 x 2


def test_the_conv_choice_sets_conv_stacks_that_follow_the_data_and_its_preset_trains_a_step():
    at = _page()
    at.radio(key=_key(at, "architecture")).set_value("conv").run()
    assert not at.exception and not [e.value for e in at.error]
    s = at.session_state["ae_spec"]
    assert [l.kind for l in s.net("encoder").layers] == ["conv2d", "relu", "conv2d", "relu", "flatten", "linear"]
    assert [l.kind for l in s.net("decoder").layers] == ["linear", "relu", "unflatten", "convtranspose2d", "relu",
                                                         "convtranspose2d"]
    assert s.net("encoder").layers[-1].params["units"] == 2 and s.autoencoder.latent_dim == 2    # the code stays
    assert at.radio(key=_key(at, "architecture")).value == "conv"
    at.selectbox(key=_key(at, "data")).set_value("digits").run()                 # 8x8: the conv stacks follow
    s = at.session_state["ae_spec"]
    assert s.net("decoder").layers[2].params == {"channels": 32, "height": 2, "width": 2}
    assert not [e.value for e in at.error]
    at.radio(key=_key(at, "architecture")).set_value("mlp").run()
    assert [l.kind for l in at.session_state["ae_spec"].net("encoder").layers][:2] == ["flatten", "linear"]
    at.selectbox(key="ae_preset").set_value("mnist_conv_autoencoder").run()
    assert not at.exception and at.radio(key=_key(at, "architecture")).value == "conv"
    t = _trainer()
    t.wait(lambda s: s.state == "idle", timeout=60)
    assert t.specs[0].autoencoder.latent_dim == 16
    t.step(2)
    t.wait(lambda s: s.state == "paused" and s.run.step == 2, timeout=60)
    at.run()
    assert not at.exception and _metric(at, "Step") == "2"
    assert any(title.startswith("Test images and their reconstructions, step 2") for title in _titles(at))
