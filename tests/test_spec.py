"""RunSpec: JSON round-trip and one named message per problem."""
import json

import pytest

from engine.presets import all_presets, preset_names
from engine.spec import (SPEC_VERSION, DataSpec, LayerSpec, OptimSpec, RunSpec, SpecError, from_dict, from_json,
                         to_dict)


def test_every_preset_round_trips_through_json():
    presets = all_presets()
    assert len(presets) >= 7 and {"xor_2_sigmoid", "mnist_cnn", "lenet", "tf_playground",
                                   "best_mnist", "linear_neuron", "logistic_regression"} <= set(presets)
    for name, spec in presets.items():
        assert from_dict(to_dict(spec)) == spec, name
        assert from_json(json.dumps(to_dict(spec))) == spec, name


def test_missing_keys_take_defaults_and_layer_params_are_filled():
    spec = from_dict({"layers": [{"kind": "linear", "units": 3}]})
    assert spec.data == DataSpec() and spec.optim == OptimSpec()
    assert spec.layers == (LayerSpec("linear", {"units": 3, "bias": True}),)
    assert spec.version == SPEC_VERSION == 2                 # a version-1 spec, migrated


def problems_of(raw) -> list[str]:
    with pytest.raises(SpecError) as e:
        from_dict(raw)
    return e.value.problems


def test_each_problem_gets_its_own_message_naming_the_field():
    raw = to_dict(RunSpec.make(layers=(LayerSpec.make("linear", units=2),)))
    raw["colour"] = "red"                          # unknown key
    raw["batch_size"] = "32"                       # wrong type
    raw["data"]["noise"] = 0.9                     # out of range
    net = raw["networks"]["model"]
    net["optim"]["name"] = "lion"                  # unknown optimizer
    net["layers"].append({"kind": "capsule"})      # unknown layer kind
    net["layers"].append({"kind": "conv2d", "kernel": 99, "size": 3})
    msgs = problems_of(raw)
    assert len(msgs) == 7, msgs
    joined = "\n".join(msgs)
    assert "colour: unknown key" in joined
    assert "batch_size: must be int, got str '32'" in joined
    assert "data.noise: must be between 0 and 0.5, got 0.9" in joined
    assert "networks.model.optim.name: unknown optimizer 'lion'" in joined
    assert "networks.model.layers[1].kind: unknown layer kind 'capsule'" in joined
    assert "networks.model.layers[2].kernel: must be between 1 and 15, got 99" in joined
    assert "networks.model.layers[2].size: unknown parameter for Conv2d" in joined


@pytest.mark.parametrize("raw, expected", [
    ({"layers": []}, "layers: the network needs at least one layer"),
    ({"layers": [{"kind": "relu"}], "task": "clustering"}, "task: unknown task 'clustering' (known: classification, regression"),
    ({"layers": [{"kind": "relu"}], "data": {"features": ["x3"]}}, "data.features: unknown x3"),
    ({"layers": [{"kind": "relu"}], "data": {"name": "imagenet"}}, "data.name: unknown dataset 'imagenet'"),
    ({"layers": [{"kind": "relu"}], "optim": {"lr": float("nan")}}, "optim.lr: must be a finite number"),
    ({"layers": [{"kind": "relu"}], "seed": True}, "seed: must be int, got bool"),
    ({"layers": [{"kind": "relu"}], "version": 3}, "version: must be between 1 and 2"),
    ({"layers": "linear"}, "layers: must be a list"),
    ([], "spec: must be an object"),
])
def test_single_problems(raw, expected):
    assert any(expected in m for m in problems_of(raw)), problems_of(raw)


@pytest.mark.parametrize("field, value, expected", [
    ("window", 1, "data.window: must be between 2 and 512, got 1"),
    ("window", 10_000, "data.window: must be between 2 and 512, got 10000"),
    ("horizon", 0, "data.horizon: must be between 1 and 256, got 0"),
    ("lag", 201, "data.lag: must be between 1 and 200, got 201"),
    ("lag", 2.5, "data.lag: must be int, got float 2.5"),
])
def test_sequence_data_fields_are_validated(field, value, expected):
    assert problems_of({"layers": [{"kind": "relu"}], "data": {"name": "delay", field: value}}) == [expected]


def test_sequence_data_fields_round_trip_and_older_specs_take_their_defaults():
    spec = RunSpec.make(layers=(LayerSpec.make("relu"),), data=DataSpec("sines", window=48, horizon=4, lag=30))
    assert from_json(spec.to_json()) == spec
    old = to_dict(RunSpec.make(layers=(LayerSpec.make("relu"),)))
    for key in ("window", "horizon", "lag"):
        del old["data"][key]                                   # a spec saved before these fields existed
    data = from_dict(old).data
    assert (data.window, data.horizon, data.lag) == (32, 8, 10) and data == DataSpec()


def test_invalid_json_text_is_a_spec_error():
    with pytest.raises(SpecError, match="not valid JSON"):
        from_json("{not json")


def test_preset_names_match_files():
    assert preset_names() == sorted(all_presets())


# ---------------------------------------------------------------- hostile input: one short sentence each
HUGE = 10**400


@pytest.mark.parametrize("raw, field", [
    ({"layers": [{"kind": "relu"}], "data": {"noise": HUGE}}, "data.noise"),
    ({"layers": [{"kind": "relu"}], "optim": {"lr": HUGE}}, "optim.lr"),
    ({"layers": [{"kind": "relu"}], "batch_size": HUGE}, "batch_size"),
    ({"layers": [{"kind": "linear", "units": -HUGE}]}, "layers[0].units"),
    ({"layers": [{"kind": "relu"}], "seed": HUGE}, "seed"),
])
def test_integers_too_large_for_a_float_are_one_sentence(raw, field):
    (msg,) = problems_of(raw)
    assert msg == f"{field}: must be a finite number, got a number with 401 digits"


def test_huge_or_forged_input_is_quoted_as_a_short_escaped_excerpt():
    raw = {"layers": [{"kind": "x" * 50_000_000}], "name": "\n" * 10 + "error: forged",
           ("k" * 10_000 + "\nerror: forged"): 1, "optim": {"name": "\x1b[31mred"}}
    msgs = problems_of(raw)                                            # the name is just a name
    assert len(msgs) == 3, msgs
    for m in msgs:
        assert len(m) < 300 and "\n" not in m and "\x1b" not in m, m


def test_deep_nesting_and_bytes_that_are_not_utf8_are_one_sentence():
    deep = "[" * 1000 + "]" * 1000
    with pytest.raises(SpecError) as e:
        from_json(deep)
    assert e.value.problems == ["spec: the JSON nests deeper than 20 levels; a spec nests 4"]
    nested = '{"layers": [{"kind": "relu"}], "name": ' + "[" * 30 + "]" * 30 + "}"
    with pytest.raises(SpecError, match="nests deeper than 20 levels"):
        from_json(nested)
    with pytest.raises(SpecError) as e:
        from_json('{"name": "caf\xe9"}'.encode("latin-1"))
    assert e.value.problems == ["spec: the file is not UTF-8 text; save it as UTF-8 JSON"]
    with pytest.raises(SpecError, match="more than a spec's limit of 1,000,000"):
        from_json(b" " * 1_000_001)
