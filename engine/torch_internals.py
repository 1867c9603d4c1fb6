"""The only place that reads torch's private state: hook registries, the tracing flag and the
autograd engine's entry point. The engine uses them to skip machinery nothing is using (see
`engine.run.Run.step`); `tests/test_torch_internals.py` fails with a readable message when a
torch upgrade renames or removes any of them.
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch
import torch.nn.modules.module as _module_mod      # torch's global module-hook registries
import torch.optim.optimizer as _optim_mod         # torch's global optimizer-hook registries
from torch.autograd.graph import _engine_run_backward
from torch import nn

# what this module relies on, as (object, attribute) pairs the test checks by name
MODULE_HOOK_ATTRS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
                     "_compiled_call_impl")
GLOBAL_MODULE_HOOKS = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                       "_global_backward_pre_hooks")
TENSOR_HOOK_ATTRS = ("_backward_hooks", "_post_accumulate_grad_hooks")
OPTIMIZER_HOOK_ATTRS = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks")
GLOBAL_OPTIMIZER_HOOKS = ("_global_optimizer_pre_hooks", "_global_optimizer_post_hooks")


def module_hooks_active() -> bool:
    """Global module hooks or tracing (then model(x) must run through __call__)."""
    return bool(_module_mod._global_forward_hooks or _module_mod._global_forward_pre_hooks
                or _module_mod._global_backward_hooks or _module_mod._global_backward_pre_hooks
                or torch._C._get_tracing_state())


def watched(modules: Iterable[nn.Module], params: Iterable[torch.Tensor]) -> bool:
    """Something watches the forward or backward pass: global or module hooks, tracing,
    torch.compile, or hooks on a parameter's gradient."""
    return module_hooks_active() or any(
        m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks
        or m._compiled_call_impl is not None for m in modules) or any(
        p._backward_hooks or p._post_accumulate_grad_hooks for p in params)


def optimizer_hooked(opt: torch.optim.Optimizer) -> bool:
    """The optimizer or all optimizers have step hooks (then opt.step() must run as is)."""
    return bool(opt._optimizer_step_pre_hooks or opt._optimizer_step_post_hooks
                or _optim_mod._global_optimizer_pre_hooks or _optim_mod._global_optimizer_post_hooks)


def backward(loss: torch.Tensor) -> None:
    """loss.backward() for a scalar loss, without the argument handling around the engine call."""
    _engine_run_backward((loss,), (torch.ones_like(loss),), False, False, (),
                         allow_unreachable=True, accumulate_grad=True)


def unwrapped(fn: Callable) -> Callable:
    """An optimizer's step without its decorators (profiling record, grad-mode switch)."""
    while hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__
    return fn
