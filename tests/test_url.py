"""The spec <-> URL codec: every preset and random edits round-trip; damaged links fail with a message."""
from __future__ import annotations

import base64
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.presets import all_presets
from engine.spec import DataSpec, LayerSpec, OptimSpec, RunSpec, SpecError
from ui.url import MAX_PARAM_CHARS, PARAM, decode_spec, encode_spec, spec_from_params, write_params


@pytest.mark.parametrize("name", sorted(all_presets()))
def test_every_preset_round_trips(name):
    spec = all_presets()[name]
    text = encode_spec(spec)
    assert decode_spec(text) == spec
    assert text.replace("-", "").replace("_", "").isalnum()          # URL-safe, no padding
    assert len(text) < 600


@settings(max_examples=40, deadline=None)
@given(units=st.lists(st.integers(1, 64), min_size=1, max_size=5),
       lr=st.floats(1e-5, 10), noise=st.floats(0, 0.5), seed=st.integers(0, 2**31 - 1),
       features=st.sets(st.sampled_from(["x1", "x2", "x1^2", "sin(x2)"]), min_size=1))
def test_edited_specs_round_trip(units, lr, noise, seed, features):
    layers = []
    for u in units:
        layers += [LayerSpec.make("linear", units=u), LayerSpec.make("relu")]
    spec = RunSpec.make(data=DataSpec("moons", noise=noise, features=tuple(sorted(features))),
                   layers=tuple(layers[:-1]), optim=OptimSpec("sgd", lr=lr, momentum=0.5), seed=seed)
    assert decode_spec(encode_spec(spec)) == spec


def test_defaults_are_left_out():
    small = encode_spec(RunSpec.make(layers=(LayerSpec.make("linear", units=2),)))
    big = encode_spec(all_presets()["best_mnist"])
    assert len(small) < 120 < len(big)


@pytest.mark.parametrize("text", ["", "abc", "not-a-spec", "eJw", "x" * (MAX_PARAM_CHARS + 1)])
def test_damaged_links_raise_spec_errors(text):
    with pytest.raises(SpecError) as e:
        decode_spec(text)
    assert e.value.problems and e.value.problems[0].startswith("url:")


def test_a_valid_encoding_of_an_invalid_spec_reports_the_fields():
    import base64, json, zlib
    raw = json.dumps({"layers": [], "optim": {"lr": 50}}).encode()
    text = base64.urlsafe_b64encode(zlib.compress(raw)).decode().rstrip("=")
    with pytest.raises(SpecError) as e:
        decode_spec(text)
    assert any(p.startswith("optim.lr") for p in e.value.problems)
    assert any(p.startswith("layers") for p in e.value.problems)


def test_query_param_helpers():
    spec = all_presets()["lenet"]
    params: dict[str, str] = {"other": "1"}
    assert spec_from_params(params) is None
    write_params(params, spec)
    assert params["other"] == "1" and spec_from_params(params) == spec
    before = params[PARAM]
    write_params(params, spec)
    assert params[PARAM] is before                                   # unchanged spec: no write


def _link(payload: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(payload, 9)).decode().rstrip("=")


def test_a_link_that_inflates_to_megabytes_or_nests_deeply_is_one_sentence():
    bomb = _link(b"[" + b" " * 5_000_000 + b"]")                        # 5 MB from a link of 7 kB
    assert len(bomb) < MAX_PARAM_CHARS
    with pytest.raises(SpecError) as e:
        decode_spec(bomb)
    assert e.value.problems == ["url: the spec parameter inflates to more than 1,000,000 bytes"]
    with pytest.raises(SpecError) as e:
        decode_spec(_link(b"[" * 5000 + b"]" * 5000))
    assert e.value.problems == ["spec: the JSON nests deeper than 20 levels; a spec nests 4"]
