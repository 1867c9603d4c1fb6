"""Weight initialisation: how a network's Linear and Conv2d layers start, one entry per
scheme (RunSpec.init). The starting weights set how far a signal travels through a deep
net before it fades or saturates, so the same network can learn or stall by this alone.

Each entry holds the function the engine runs (`apply`) and the same torch calls as source
for the exported script; tests/test_init.py pins the two to the same numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from .schema import Registry


@dataclass(frozen=True)
class InitInfo:
    name: str
    label: str
    help: str
    fn: Callable[[nn.Module], None] | None   # sets one nn.Linear / nn.Conv2d; None keeps PyTorch's own
    code: str = ""                           # the same, as statements on `m`, for the exported script


def _xavier(m: nn.Module) -> None:
    nn.init.xavier_uniform_(m.weight)
    if m.bias is not None:
        nn.init.zeros_(m.bias)


def _he(m: nn.Module) -> None:
    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    if m.bias is not None:
        nn.init.zeros_(m.bias)


def _tf_playground(m: nn.Module) -> None:
    nn.init.uniform_(m.weight, -0.5, 0.5)
    if m.bias is not None:
        nn.init.constant_(m.bias, 0.1)


INITS: Registry[InitInfo] = Registry("initialisation")
INITS.register(InitInfo(
    "default", "PyTorch default",
    "PyTorch's own: weights uniform in ±1/√fan_in (Kaiming uniform, a=√5), biases uniform in the same "
    "range. Fine for shallow nets; deep tanh stacks start with small signals.", None))
INITS.register(InitInfo(
    "xavier", "Xavier / Glorot",
    "Weights uniform in ±√(6 / (fan_in + fan_out)), biases 0: keeps the signal's variance the same "
    "forward and backward through tanh and sigmoid layers.", _xavier,
    "nn.init.xavier_uniform_(m.weight)\nif m.bias is not None:\n    nn.init.zeros_(m.bias)"))
INITS.register(InitInfo(
    "he", "He / Kaiming",
    "Weights normal with std √(2 / fan_in), biases 0: made for ReLU, which zeroes half the signal, "
    "so the weights start √2 larger than Xavier's.", _he,
    "nn.init.kaiming_normal_(m.weight, nonlinearity=\"relu\")\nif m.bias is not None:\n    nn.init.zeros_(m.bias)"))
INITS.register(InitInfo(
    "tf_playground", "TensorFlow Playground",
    "TensorFlow Playground's: every weight uniform in [-0.5, 0.5] whatever the layer's size, every "
    "bias 0.1 (its nn.ts). Large for wide layers, good for its small tanh nets.", _tf_playground,
    "nn.init.uniform_(m.weight, -0.5, 0.5)\nif m.bias is not None:\n    nn.init.constant_(m.bias, 0.1)"))

INIT_TYPES = (nn.Linear, nn.Conv2d)     # the layers an initialisation sets


def apply(model: nn.Module, name: str) -> nn.Module:
    """Initialise `model`'s Linear and Conv2d layers in place by INITS[name], in module
    order, from torch's global RNG (seed it first: same seed, same weights)."""
    fn = INITS[name].fn
    if fn is not None:
        for m in model.modules():
            if isinstance(m, INIT_TYPES):
                fn(m)
    return model


def script_code(name: str, model: str = "model") -> str:
    """The exported script's lines that apply INITS[name] to the network named `model`
    ("" for PyTorch's default, which the constructors already drew)."""
    code = INITS[name].code
    if not code:
        return ""
    body = "\n".join("        " + line for line in code.splitlines())
    return (f"for m in {model}.modules():{' ' * max(1, 24 - len(model))}# initialisation: {INITS[name].label}\n"
            f"    if isinstance(m, (nn.Linear, nn.Conv2d)):\n{body}\n")
