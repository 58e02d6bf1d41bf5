"""Data parallelism with ``torch.distributed``: which process this is, and sums over all of them.

Launch a training script with ``torchrun --nproc_per_node W script.py``; the trainer then calls
``init()`` (gloo on CPU, nccl when the model is on a GPU), wraps the model in
``DistributedDataParallel`` and gives each process 1/W of every global batch.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def launched() -> bool:
    """True when started by torchrun (its environment variables are set) or already initialised."""
    return (dist.is_available() and dist.is_initialized()) or int(os.environ.get("WORLD_SIZE", "1")) > 1


def init(device: torch.device) -> None:
    """Join the process group torchrun set up, once."""
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def sum_all(values: list[float], device: torch.device) -> list[float]:
    """Each value summed over all processes (in float64); the values themselves on one process."""
    if world() == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def gather_bytes(t: torch.Tensor, device: torch.device) -> list[torch.Tensor]:
    """Every process's copy of a same-sized uint8 tensor (e.g. a generator state), in rank order,
    on the CPU (passed through ``device``, where nccl needs it)."""
    if world() == 1:
        return [t]
    t = t.to(device)
    out = [torch.empty_like(t) for _ in range(world())]
    dist.all_gather(out, t)
    return [o.cpu() for o in out]


def barrier() -> None:
    if world() > 1:
        dist.barrier()
