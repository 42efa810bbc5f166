"""Self-describing checkpoints: safetensors weights with the config that rebuilds the model.

A checkpoint alone is enough to rebuild its model: the file's metadata holds the registered
architecture name and its JSON config (architecture, crop convention, training data, ...).
Loading never unpickles anything (safetensors holds tensors and strings only).
"""
from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from typing import Callable

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from engine.io_utils import atomic_write_bytes

# name -> model class; each class takes its config dict as keyword arguments.
_REGISTRY: dict[str, type[nn.Module]] = {}
# Where each shipped architecture is defined, so a checkpoint loads without the caller having
# imported its module first (the @register decorator runs on import).
ARCHITECTURE_MODULES: dict[str, str] = {
    "skeleton_unet": "engine.models.generator",
    "patch_critic": "engine.models.discriminator",
    "pose_net_vgg19": "engine.models.pose_net",
    "style_stage": "engine.models.style_net",
}


class CheckpointError(ValueError):
    """A weights file that cannot be used; str() is one line naming the file."""


def register(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: make an architecture loadable by name from checkpoint metadata."""
    def wrap(cls: type[nn.Module]) -> type[nn.Module]:
        _REGISTRY[name] = cls
        cls.architecture = name
        return cls
    return wrap


def registered() -> list[str]:
    return sorted(set(_REGISTRY) | set(ARCHITECTURE_MODULES))


def save_checkpoint(path: str | Path, model: nn.Module, config: dict, info: dict | None = None) -> None:
    """Write weights + {architecture, config, info} metadata atomically."""
    arch = getattr(model, "architecture", None)
    if arch not in _REGISTRY:
        raise ValueError(f"{type(model).__name__} is not a registered architecture")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"architecture": arch, "config": json.dumps(config), "info": json.dumps(info or {})}
    atomic_write_bytes(path, st_save(state, metadata=meta))


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], str, dict, dict]:
    """(state_dict, architecture, config, info) of a checkpoint file, validated."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.__class__.__name__})") from None
    try:
        state = st_load(data)
        # The metadata sits in the JSON header after its 8-byte little-endian length.
        header_len = int.from_bytes(data[:8], "little")
        meta = json.loads(data[8:8 + header_len]).get("__metadata__") or {}
    except (SafetensorError, ValueError, UnicodeDecodeError):
        raise CheckpointError(f"{path}: not a safetensors checkpoint") from None
    arch = meta.get("architecture")
    if arch not in _REGISTRY and arch in ARCHITECTURE_MODULES:
        importlib.import_module(ARCHITECTURE_MODULES[arch])
    if arch not in _REGISTRY:
        raise CheckpointError(f"{path}: unknown architecture {arch!r} (known: {', '.join(registered())})")
    try:
        config, info = json.loads(meta.get("config", "{}")), json.loads(meta.get("info", "{}"))
    except json.JSONDecodeError:
        raise CheckpointError(f"{path}: corrupt config metadata") from None
    return state, arch, config, info


def _check_config(path: Path | str, arch: str, config: object) -> None:
    """The config must be keyword arguments of the architecture: no unknown key, none of the
    required ones missing (keys with a default may be absent: older checkpoints lack them)."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: config metadata is not a JSON object")
    params = inspect.signature(_REGISTRY[arch]).parameters
    unknown = sorted(set(config) - set(params))
    if unknown:
        raise CheckpointError(f"{path}: config key {unknown[0]!r} is not a {arch} setting "
                              f"(known: {', '.join(params)})")
    missing = [n for n, p in params.items() if p.default is inspect.Parameter.empty and n not in config]
    if missing:
        raise CheckpointError(f"{path}: config lacks {', '.join(missing)}, which {arch} needs")


def _check_finite(path: Path | str, state: dict[str, torch.Tensor]) -> None:
    """Weights with NaN or infinity give NaN outputs (an empty depth image), never a model."""
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{path}: weights contain NaN or infinite values ({name})")


def load_model(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict, dict]:
    """Rebuild and load a model from a checkpoint: (model in eval mode, config, info)."""
    state, arch, config, info = read_checkpoint(path)
    _check_config(path, arch, config)
    _check_finite(path, state)
    try:
        model = _REGISTRY[arch](**config)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: config does not build {arch} ({str(e).splitlines()[0]})") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).splitlines()[0]
        raise CheckpointError(f"{path}: weights do not fit {arch} ({first})") from None
    return model.to(map_location).eval(), config, info
