"""Training checkpoints as one safetensors file: tensors as tensors, the rest as JSON.

A checkpoint holds everything a killed run needs to carry on as if it had never stopped:
the module's weights, each optimiser's state, the best weights so far (early stopping),
the random-number generators (torch's global one, which dropout draws from, the trainer's
shuffling generator and the step generator models draw their noise from), the epoch and
step reached, the history, and the task's own state (``extra``: e.g. a Boltzmann
machine's momentum and random stream; its persistent chains are module buffers). It is
written to a temporary file and renamed over the old one, so a process killed at any
moment leaves either the previous checkpoint or the new one, never half of one. Loading
parses the header and never unpickles.

Tensor names: ``module/<key>``, ``best/<key>``, ``optim/<group>/<param index>/<key>``,
``rng/<name>`` (uint8 generator states), ``extra/<key>``. Metadata (strings): ``format``
(``"genmodels-checkpoint"``), ``format_version``, ``owner`` (the model class and its
hyper-parameters, so a checkpoint from a different model is refused), ``state`` (JSON:
epoch, step, history, optimiser ``param_groups`` and non-tensor state values, and the
task's non-tensor ``extra`` values).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from ..exceptions import ModelFileError
from ..persistence import safetensors_header, to_json_value

FORMAT = "genmodels-checkpoint"
FORMAT_VERSION = 1
FILENAME = "checkpoint.safetensors"


def checkpoint_path(directory: str | os.PathLike) -> Path:
    """The file a training run in ``directory`` checkpoints to (it may not exist yet)."""
    return Path(directory) / FILENAME


def checkpoint_owner(model, run_only: set[str]) -> dict[str, Any]:
    """What identifies ``model`` in its checkpoints: its class name and hyper-parameters,
    less those that may change between a killed run and its resumption (``run_only``)."""
    params = {}
    for k, v in model.get_params(deep=False).items():
        if k in run_only:
            continue
        try:
            params[k] = to_json_value(v.tolist() if isinstance(v, np.ndarray) else v)
        except TypeError:
            params[k] = repr(v)
    return {"class": type(model).__name__, "params": json.loads(json.dumps(params))}


def _flatten_optimizer(name: str, sd: dict[str, Any], tensors: dict, meta: dict) -> None:
    scalars: dict[str, dict[str, Any]] = {}
    for idx, st in sd["state"].items():
        for key, value in st.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim/{name}/{idx}/{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    meta[name] = {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflatten_optimizer(name: str, tensors: dict, meta: dict) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    prefix = f"optim/{name}/"
    for key, value in tensors.items():
        if key.startswith(prefix):
            idx, _, sub = key[len(prefix) :].partition("/")
            state.setdefault(int(idx), {})[sub] = value
    for idx, values in meta[name]["scalars"].items():
        state.setdefault(int(idx), {}).update(values)
    return {"state": state, "param_groups": meta[name]["param_groups"]}


def _owner_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What differs between two owners, as readable phrases (empty when they are equal)."""
    out = []
    if saved.get("class") != current.get("class"):
        out.append(f"class {saved.get('class')!r}, not {current.get('class')!r}")
    params, now = saved.get("params") or {}, current.get("params") or {}
    for k in sorted(set(params) | set(now)):
        if params.get(k) != now.get(k):
            out.append(f"{k}={params.get(k)!r} in the checkpoint, {now.get(k)!r} now")
    others = (set(saved) | set(current)) - {"class", "params"}
    out.extend(f"{k} differs" for k in sorted(others) if saved.get(k) != current.get(k))
    return out


def save_checkpoint(
    directory: str | os.PathLike,
    *,
    owner: dict[str, Any],
    module_state: dict[str, torch.Tensor],
    best_state: dict[str, torch.Tensor] | None,
    optimizers: dict[str, dict[str, Any]],
    rng: dict[str, torch.Tensor],
    progress: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint into ``directory`` atomically; returns its path. ``extra``: the
    task's own state, tensors and JSON values."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    # copies: a network with tied weights (the transformer's input and output embeddings)
    # has two state-dict entries on one storage, which safetensors refuses to write
    for k, v in module_state.items():
        tensors[f"module/{k}"] = v.detach().cpu().contiguous().clone()
    for k, v in (best_state or {}).items():
        tensors[f"best/{k}"] = v.detach().cpu().contiguous().clone()
    optim_meta: dict[str, Any] = {}
    for name, sd in optimizers.items():
        _flatten_optimizer(name, sd, tensors, optim_meta)
    for name, state in rng.items():
        tensors[f"rng/{name}"] = state.detach().cpu().contiguous()
    extra_json = {}
    for k, v in (extra or {}).items():
        if isinstance(v, torch.Tensor):
            tensors[f"extra/{k}"] = v.detach().cpu().contiguous()
        else:
            extra_json[k] = v
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "owner": json.dumps(owner, sort_keys=True),
        "state": json.dumps({**progress, "optimizers": optim_meta, "extra": extra_json}),
    }
    path = directory / FILENAME
    tmp = directory / (FILENAME + ".tmp")
    with open(tmp, "wb") as f:
        f.write(st_save(tensors, metadata=metadata))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(directory)
    return path


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_checkpoint(
    directory: str | os.PathLike, *, owner: dict[str, Any]
) -> dict[str, Any] | None:
    """The checkpoint in ``directory`` as a dict, or None when there is none.

    Raises :class:`~genmodels.exceptions.ModelFileError` for a corrupt or foreign file, or
    one written by a different model (class or hyper-parameters differ)."""
    path = Path(directory) / FILENAME
    if not path.is_file():
        return None
    data = path.read_bytes()
    what = "training checkpoint"
    meta = safetensors_header(data, path, what).get("__metadata__") or {}
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a genmodels {what}")
    try:
        if int(meta.get("format_version", "0")) > FORMAT_VERSION:
            raise ModelFileError(f"{path}: written by a newer genmodels; upgrade to resume from it")
        tensors = st_load(data)
        saved_owner = json.loads(meta["owner"])
        state = json.loads(meta["state"])
        optim_meta = state.pop("optimizers")
        extra = state.pop("extra", {})
    except ModelFileError:
        raise
    except (SafetensorError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelFileError(f"{path}: corrupt {what} ({exc})") from None
    differs = _owner_differences(saved_owner, json.loads(json.dumps(owner, sort_keys=True)))
    if differs:
        raise ModelFileError(
            f"{path}: this checkpoint was written by a different model ({'; '.join(differs)}); "
            "use another checkpoint_dir, or resume=False to start afresh"
        )
    return {
        "module": {k[7:]: v for k, v in tensors.items() if k.startswith("module/")},
        "best": {k[5:]: v for k, v in tensors.items() if k.startswith("best/")} or None,
        "optimizers": {n: _unflatten_optimizer(n, tensors, optim_meta) for n in optim_meta},
        "rng": {k[4:]: v for k, v in tensors.items() if k.startswith("rng/")},
        "progress": state,
        "extra": {**extra, **{k[6:]: v for k, v in tensors.items() if k.startswith("extra/")}},
    }
