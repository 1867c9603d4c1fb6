"""The engine's shape: the spec needs no torch, no module imports itself in a circle, the torch
internals the fast paths rely on are still there, and version-1 specs (every preset as it was
before version 2) migrate and train to the numbers they gave before."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine import torch_internals
from engine.presets import all_presets
from engine.run import Run
from engine.spec import SPEC_VERSION, from_dict, to_dict

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_the_spec_and_the_schema_import_without_torch():
    code = ("import sys; import engine.spec, engine.schema; "
            "assert 'torch' not in sys.modules, 'importing the spec imported torch'")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def _module_imports(path: Path, package: str) -> set[str]:
    """engine.* modules imported at the top level of `path` (not inside functions)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If):                       # `if TYPE_CHECKING:` imports are for types only
            continue
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            found |= {mod} | {f"{mod}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m.startswith("engine")}


def test_no_engine_module_imports_itself_in_a_circle():
    modules = {}
    for path in (ROOT / "engine").rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        modules[name] = path
    package = {n: (n if p.name == "__init__.py" else n.rsplit(".", 1)[0]) for n, p in modules.items()}
    graph = {n: {m for m in _module_imports(p, package[n]) if m in modules and m != n} for n, p in modules.items()}
    # a package's __init__ may import its own submodules at its end to register them: those edges
    # run after the package is complete, so they are not circles
    for n in graph:
        graph[n] = {m for m in graph[n] if not (modules[n].name == "__init__.py" and m.startswith(n + "."))}
    state: dict[str, int] = {}

    def visit(n: str, trail: list[str]) -> None:
        state[n] = 1
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                raise AssertionError("import circle: " + " -> ".join(trail[trail.index(m):] + [m]))
            if m not in state:
                visit(m, trail + [m])
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])


def test_the_torch_internals_the_engine_relies_on_still_exist():
    import torch.nn.modules.module as module_mod
    import torch.optim.optimizer as optim_mod
    m, p, opt = torch.nn.Linear(2, 1), torch.nn.Parameter(torch.zeros(1)), None
    opt = torch.optim.SGD([p], 0.1)
    missing = [f"nn.Module().{a}" for a in torch_internals.MODULE_HOOK_ATTRS if not hasattr(m, a)]
    missing += [f"torch.nn.modules.module.{a}" for a in torch_internals.GLOBAL_MODULE_HOOKS if not hasattr(module_mod, a)]
    missing += [f"Tensor.{a}" for a in torch_internals.TENSOR_HOOK_ATTRS if not hasattr(p, a)]
    missing += [f"Optimizer().{a}" for a in torch_internals.OPTIMIZER_HOOK_ATTRS if not hasattr(opt, a)]
    missing += [f"torch.optim.optimizer.{a}" for a in torch_internals.GLOBAL_OPTIMIZER_HOOKS if not hasattr(optim_mod, a)]
    assert not missing, (f"torch {torch.__version__} no longer has {', '.join(missing)}: update "
                         "engine/torch_internals.py (the fast paths skip hook machinery only when these are empty)")
    assert torch_internals.unwrapped(torch.optim.SGD.step) is not torch.optim.SGD.step, \
        "torch.optim's step is no longer wrapped: torch_internals.unwrapped has nothing to unwrap"
    # the engine's backward gives autograd's gradients, and a hook makes the module watched
    x = torch.randn(4, 2)
    loss = m(x).square().mean()
    torch_internals.backward(loss)
    mine = [q.grad.clone() for q in m.parameters()]
    m.zero_grad()
    m(x).square().mean().backward()
    assert all(torch.equal(a, q.grad) for a, q in zip(mine, m.parameters()))
    assert not torch_internals.watched([m], list(m.parameters()))
    handle = m.register_forward_hook(lambda *a: None)
    assert torch_internals.watched([m], list(m.parameters()))
    handle.remove()
    assert not torch_internals.optimizer_hooked(opt)
    handle = opt.register_step_post_hook(lambda *a: None)
    assert torch_internals.optimizer_hooked(opt)
    handle.remove()


V1 = json.loads((FIXTURES / "v1_presets.json").read_text())          # the presets as version-1 files
NUMBERS = json.loads((FIXTURES / "preset_numbers.json").read_text())  # their numbers before version 2


@pytest.mark.parametrize("name", sorted(V1))
def test_version_1_presets_migrate_and_train_to_the_numbers_they_gave(name):
    assert V1[name]["version"] == 1
    spec = from_dict(V1[name])
    assert spec == all_presets()[name] and spec.version == SPEC_VERSION
    assert to_dict(spec)["networks"]["model"]["layers"] == [{"kind": l["kind"], **{k: v for k, v in l.items()
                                                             if k != "kind"}} for l in V1[name]["layers"]]
    torch.set_num_threads(1)                              # as the numbers were recorded
    run = Run(spec.with_(device="cpu", steps=20, eval_every=0))
    losses = [float(run.step()) for _ in range(20)]
    assert losses == pytest.approx(NUMBERS[name]["losses"], rel=1e-5, abs=1e-7)
    ev = run.evaluate()
    assert {k: ev[k] for k in NUMBERS[name]["eval"]} == pytest.approx(NUMBERS[name]["eval"], rel=1e-5, abs=1e-7)
