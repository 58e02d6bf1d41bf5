"""Checkpoints that are never half-written and never run code when loaded.

A checkpoint is ONE ``safetensors`` file: every tensor (weights, optimiser moments, generator
states) under a prefix, and JSON strings in the file's metadata (the format version, lstmkit's
version, the run's config, the trainer's position). It is written to a temporary file in the same
folder, flushed to disk and renamed over the old one (``os.replace`` is atomic), so a kill at any
instant leaves either the previous checkpoint or the new one. ``safetensors`` reads tensors and
strings only: loading a file executes nothing from it, unlike ``torch.load`` of a pickle.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

FORMAT = "lstmkit-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read: missing, truncated, corrupted, or not lstmkit's."""


@dataclass
class Checkpoint:
    """What one checkpoint file holds: ``tensors`` by group ("model", "best", "optim", "rng", or any
    other name) and JSON-serialisable ``meta`` by key ("config", "state", "model_config", ...)."""

    tensors: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that the file is, at every instant, the old content or the new."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:                                    # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:                         # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save(path: str | os.PathLike, checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` to ``path`` atomically."""
    from safetensors.torch import save as to_bytes

    flat: dict[str, torch.Tensor] = {}
    for group, tensors in checkpoint.tensors.items():
        if "/" in group:
            raise ValueError(f"checkpoint group names may not contain '/', got {group!r}")
        for name, t in tensors.items():
            flat[f"{group}/{name}"] = t.detach().to("cpu").contiguous().clone()
    from .. import __version__
    meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "lstmkit_version": __version__}
    meta.update({k: json.dumps(v) for k, v in checkpoint.meta.items()})
    write_atomic(path, to_bytes(flat, metadata=meta))


def load(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by ``save``; a clear ``CheckpointError`` for anything else."""
    from safetensors import SafetensorError
    from safetensors.torch import load as from_bytes

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist" if not path.exists()
                              else f"checkpoint {str(path)!r} is not a file")
    raw = path.read_bytes()
    try:
        meta = _metadata(raw)
        flat = from_bytes(raw)
    except (SafetensorError, ValueError, UnicodeDecodeError, OverflowError) as err:
        raise CheckpointError(f"checkpoint {str(path)!r} is truncated or corrupted and cannot be read "
                              f"({len(raw)} bytes; {err}); use an earlier checkpoint or train again") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is a safetensors file but not an lstmkit checkpoint "
                              f"(its metadata has no format = {FORMAT!r})")
    version = int(meta.get("format_version", "0"))
    if version > FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {str(path)!r} has format version {version}, newer than this "
                              f"lstmkit ({meta.get('lstmkit_version')} wrote it; this reads up to "
                              f"{FORMAT_VERSION}): upgrade lstmkit")
    out = Checkpoint()
    for key, t in flat.items():
        group, _, name = key.partition("/")
        out.tensors.setdefault(group, {})[name] = t
    for key, text in meta.items():
        if key in ("format", "format_version", "lstmkit_version"):
            out.meta[key] = text
            continue
        try:
            out.meta[key] = json.loads(text)
        except json.JSONDecodeError as err:
            raise CheckpointError(f"checkpoint {str(path)!r} has corrupted metadata {key!r} ({err})") from None
    return out


def _metadata(raw: bytes) -> dict[str, str]:
    """The metadata of a safetensors byte string (its JSON header's ``__metadata__``)."""
    if len(raw) < 8:
        raise ValueError("shorter than a safetensors header")
    n = int.from_bytes(raw[:8], "little")
    if n > len(raw) - 8:
        raise ValueError(f"its header claims {n} bytes but the file has {len(raw) - 8} after the length")
    header = json.loads(raw[8: 8 + n].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("its header is not a JSON object")
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise ValueError("its metadata is not a JSON object")
    return meta


def optimizer_to_checkpoint(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimiser's state dict as (tensors, JSON): tensors under 'index.key', the rest as JSON."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def optimizer_from_checkpoint(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                              meta: dict[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        index, _, name = key.partition(".")
        state.setdefault(int(index), {})[name] = value
    for index, values in meta["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else g for g in meta["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def load_state(module: torch.nn.Module, tensors: dict[str, torch.Tensor], where: str) -> None:
    """Load ``tensors`` into ``module``; a ValueError naming every missing, unexpected or misshapen one."""
    own = module.state_dict()
    missing, extra = sorted(set(own) - set(tensors)), sorted(set(tensors) - set(own))
    wrong = [f"{k}: {tuple(tensors[k].shape)} in the file, {tuple(own[k].shape)} in the model"
             for k in own if k in tensors and tensors[k].shape != own[k].shape]
    if missing or extra or wrong:
        parts = ([f"missing {missing}"] if missing else []) + ([f"unexpected {extra}"] if extra else []) + wrong
        raise ValueError(f"the weights in {where!r} do not fit this model ({'; '.join(parts)})")
    module.load_state_dict(tensors)


def load_weights(model: torch.nn.Module, path: str | Path, *, best: bool = False) -> dict[str, Any]:
    """Load a checkpoint's weights (``best=True``: the best validation epoch's) into ``model``;
    return the checkpoint's metadata (its ``config``, ``state`` and ``model_config``)."""
    ckpt = load(path)
    group = "best" if best and "best" in ckpt.tensors else "model"
    load_state(model, ckpt.tensors.get(group, {}), str(path))
    return ckpt.meta
