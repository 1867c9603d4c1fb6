"""Pick the device once: cuda, then mps, then cpu, with the reason for the choice."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import torch
from threadpoolctl import threadpool_limits


@dataclass(frozen=True)
class DeviceChoice:
    device: torch.device
    name: str          # "NVIDIA H100 80GB HBM3", "Apple GPU (mps)", "CPU (2 threads)"
    reason: str


def _threads() -> int:
    """Leave a core for the web server when there are few: workers share the intra-op pool
    (torch's, and numpy's BLAS, which engine/fastmlp.py uses)."""
    n = os.cpu_count() or 1
    return max(1, n - 1) if n <= 4 else n // 2


@functools.lru_cache(maxsize=None)
def pick_device(preference: str = "auto") -> DeviceChoice:
    torch.set_num_threads(_threads())
    threadpool_limits(_threads(), user_api="blas")
    has_cuda = torch.cuda.is_available()
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if preference in ("auto", "cuda") and has_cuda:
        return DeviceChoice(torch.device("cuda"), torch.cuda.get_device_name(0), "CUDA GPU found")
    if preference in ("auto", "mps") and has_mps:
        return DeviceChoice(torch.device("mps"), "Apple GPU (mps)", "Apple Metal GPU found")
    why = "no GPU found" if preference == "auto" else f"{preference} requested" if preference == "cpu" \
        else f"{preference} requested but not available"
    n = torch.get_num_threads()
    return DeviceChoice(torch.device("cpu"), f"CPU ({n} thread{'s' if n > 1 else ''})", why)
