"""Safe model files: one ``.safetensors`` file per model, never a pickle.

Layout of a file (the safetensors format: an 8-byte little-endian header length, a JSON
header, then raw tensor bytes):

* tensors ``attr/<name>`` — the fitted numeric arrays (``means_``, ``covariances_`` ...);
* tensors ``param/<name>`` — hyper-parameters that are arrays (``means_init`` ...);
* ``__metadata__`` (strings only): ``format`` = ``"genmodels"``, ``format_version``,
  ``library_version``, ``class``, ``params`` (JSON), ``attributes`` (JSON: the fitted
  scalars, strings and small lists).

Loading parses and checks the header itself before touching any tensor, builds the model
through the registry from its class *name* (never from code in the file), and refuses a
truncated, corrupt, foreign, newer-format or unknown-class file with a
:class:`~genmodels.exceptions.ModelFileError` that says which and why.
"""

from __future__ import annotations

import json
import os
import struct
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from ._version import __version__
from .attributes import check_fitted_state
from .exceptions import ModelFileError, ModelVersionWarning
from .registry import registered_models
from .validation import check_is_fitted

if TYPE_CHECKING:
    from .base import GenerativeModel

FORMAT_NAME = "genmodels"
FORMAT_VERSION = 1
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header


# ----------------------------------------------------------------------------------------
# JSON encoding of non-tensor values (tuples, numpy scalars, string arrays, inf/nan floats)


def to_json_value(value: Any) -> Any:
    """``value`` (a hyper-parameter or small fitted attribute) as plain JSON: numpy scalars
    as numbers, tuples and dicts tagged so :func:`from_json_value` restores them."""
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, np.generic):
        return to_json_value(value.item())
    if isinstance(value, int | float):
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [to_json_value(v) for v in value]}
    if isinstance(value, list):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: to_json_value(v) for k, v in value.items()}}
    if isinstance(value, np.ndarray) and value.dtype.kind in "OUS":
        return {"__strarray__": [str(v) for v in value.ravel()], "shape": list(value.shape)}
    raise TypeError(f"cannot store a value of type {type(value).__name__} in a model file")


def from_json_value(value: Any) -> Any:
    """The inverse of :func:`to_json_value`."""
    if isinstance(value, list):
        return [from_json_value(v) for v in value]
    if isinstance(value, dict):
        if "__tuple__" in value:
            return tuple(from_json_value(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: from_json_value(v) for k, v in value["__dict__"].items()}
        if "__strarray__" in value:
            return np.array(value["__strarray__"], dtype=object).reshape(value["shape"])
        raise ModelFileError(f"corrupt metadata: unexpected JSON object {sorted(value)}")
    return value


def _is_tensor(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "biuf"


# ----------------------------------------------------------------------------------------


def save_model(model: GenerativeModel, path: str | os.PathLike) -> None:
    """Write ``model`` to ``path`` atomically (write a temporary file, then rename)."""
    tensors, metadata = model_parts(model)
    data = st_save(tensors, metadata=metadata)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def model_parts(model: GenerativeModel) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """What a model file holds, before it is written: the tensors (``attr/<name>``,
    ``param/<name>``) and the string metadata. A file that holds a model inside another
    object (a :class:`~genmodels.tabular.Synthesizer`'s) stores these under a prefix and
    reads them back with :func:`model_from_parts`."""
    cls = type(model)
    if registered_models().get(cls.__name__) is not cls:
        raise TypeError(f"{cls.__name__} is not a registered genmodels model; cannot save it")
    state = model._fitted_state()
    if not state:
        check_is_fitted(model, "__no_fitted_state__")

    tensors: dict[str, np.ndarray] = {}
    params: dict[str, Any] = {}
    for name, value in model.get_params(deep=False).items():
        if isinstance(value, np.random.RandomState):
            value = None  # a generator's state is not a hyper-parameter worth persisting
        if _is_tensor(value):
            tensors[f"param/{name}"] = np.array(value, order="C")  # ascontiguousarray makes 0-d 1-d
        else:
            params[name] = to_json_value(value)
    attributes: dict[str, Any] = {}
    for name, value in state.items():
        if _is_tensor(value):
            tensors[f"attr/{name}"] = np.array(value, order="C")  # ascontiguousarray makes 0-d 1-d
        else:
            attributes[name] = to_json_value(value)

    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "library_version": __version__,
        "class": cls.__name__,
        "params": json.dumps(params),
        "attributes": json.dumps(attributes),
    }
    return tensors, metadata


def _foreign_kind(data: bytes) -> str:
    """What a file that is not safetensors looks like, for the error message."""
    if data[:1] == b"\x80":
        return "a pickle"
    if data[:2] == b"PK":
        return "a zip archive (torch.save/joblib)"
    return ""


def read_own_format(
    path: str | os.PathLike, fmt: str, version: int, what: str, writer: str
) -> tuple[bytes, dict[str, str]]:
    """``(bytes, metadata)`` of a file in one of genmodels' own formats besides model files
    (a super-resolution model, a synthesizer): its header checked with
    :func:`safetensors_header`, its ``format`` and ``format_version`` checked against
    ``fmt`` and ``version``; ``what`` names the kind of file, ``writer`` the method that
    writes it (for the messages)."""
    from ._version import __version__

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {path}")
    data = path.read_bytes()
    meta = safetensors_header(data, path, what).get("__metadata__") or {}
    if meta.get("format") == FORMAT_NAME and fmt != FORMAT_NAME:
        raise ModelFileError(
            f"{path}: a genmodels {meta.get('class', '?')} model file, not a {what} "
            f"({writer} writes those; genmodels.load reads this one)"
        )
    if meta.get("format") != fmt:
        raise ModelFileError(
            f"{path}: not a genmodels {what} (format {meta.get('format', 'none')!r}, "
            f"expected {fmt!r}; {writer} writes those)"
        )
    if meta.get("format_version") != str(version):
        raise ModelFileError(
            f"{path}: {what} format {meta.get('format_version')!r}; this genmodels "
            f"{__version__} reads format {version}"
        )
    return data, meta


def instance_from_params(cls, params: dict[str, Any], path: Path):
    """``cls(**params)`` with its hyper-parameters validated, for a file being loaded; a
    :class:`ModelFileError` naming the file when they do not fit."""
    from .validation import validate_params

    try:
        obj = cls(**params)
        validate_params(obj, cls._param_spec)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: hyper-parameters do not fit {cls.__name__}: {exc}") from None
    return obj


def safetensors_header(data: bytes, path: Path, what: str = "model file") -> dict[str, Any]:
    """Parse and check a safetensors header without touching a tensor: the JSON header,
    whose tensors' byte ranges must end exactly at the end of ``data``. Anything else is a
    :class:`ModelFileError` naming the problem (a pickle or zip, truncated, not JSON,
    trailing bytes); ``what`` names the kind of genmodels file expected (a "model file",
    a "training checkpoint").

    The header is parsed first: a valid file can start with the byte of a pickle opcode
    (the header length is little-endian), so the magic bytes only name what a file that
    failed to parse looks like.
    """
    header = None
    n = struct.unpack("<Q", data[:8])[0] if len(data) >= 8 else 0
    if 0 < n <= _MAX_HEADER and 8 + n <= len(data):
        try:
            header = json.loads(data[8 : 8 + n].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            header = None
    if not isinstance(header, dict):
        kind = _foreign_kind(data)
        if kind:
            raise ModelFileError(
                f"{path}: this is {kind}, not a genmodels {what}; genmodels never "
                "unpickles files because unpickling can run arbitrary code"
            )
        if len(data) < 8:
            raise ModelFileError(f"{path}: not a genmodels {what} (only {len(data)} bytes)")
        if n == 0 or n > _MAX_HEADER:
            raise ModelFileError(
                f"{path}: not a genmodels {what} (no valid safetensors header at the start)"
            )
        if 8 + n > len(data):
            raise ModelFileError(
                f"{path}: file is truncated (header announces {n} bytes, file has {len(data) - 8})"
            )
        if header is None:
            raise ModelFileError(f"{path}: not a genmodels {what} (header is not JSON)")
        raise ModelFileError(f"{path}: corrupt {what} (header is not a JSON object)")
    end = 0
    for key, info in header.items():
        if key == "__metadata__":
            continue
        try:
            end = max(end, int(info["data_offsets"][1]))
        except (KeyError, TypeError, IndexError, ValueError):
            raise ModelFileError(f"{path}: corrupt {what} (bad entry for {key!r})") from None
    if 8 + n + end > len(data):
        raise ModelFileError(
            f"{path}: file is truncated ({len(data)} bytes, the header needs {8 + n + end})"
        )
    if 8 + n + end < len(data):
        raise ModelFileError(f"{path}: corrupt {what} (trailing bytes after the tensors)")
    return header


def _read_header(data: bytes, path: Path) -> dict[str, Any]:
    """The genmodels metadata of a model file, after :func:`safetensors_header`'s checks."""
    meta = safetensors_header(data, path).get("__metadata__") or {}
    if meta.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{path}: a safetensors file, but not a genmodels model file (no genmodels "
            "metadata); it may hold plain weights from another library"
        )
    try:
        version = int(meta.get("format_version", ""))
    except ValueError:
        raise ModelFileError(f"{path}: corrupt model file (bad format_version)") from None
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: written by a newer genmodels (file format {version}, library "
            f"{meta.get('library_version', '?')}); this genmodels {__version__} reads format "
            f"{FORMAT_VERSION} or older: upgrade genmodels"
        )
    return meta


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The metadata of a genmodels model file (``format``, ``format_version``,
    ``library_version``, ``class``, ``params``, ``attributes``), checked as :func:`load`
    checks it, without building the model."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    return dict(_read_header(path.read_bytes(), path))


def load(path: str | os.PathLike) -> GenerativeModel:
    """Load a model saved with ``model.save(path)``, as an instance of its own class.

    Never unpickles and never runs code from the file. Raises
    :class:`~genmodels.exceptions.ModelFileError` for a truncated, corrupt, foreign,
    newer-format or unknown-class file, for fitted attributes that are not what the class
    declares (shape, dtype, constraints: see :mod:`genmodels.attributes`), and
    ``FileNotFoundError`` for a missing one. A file written by a newer genmodels (same file
    format) loads with a :class:`~genmodels.exceptions.ModelVersionWarning`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    data = path.read_bytes()
    meta = _read_header(data, path)
    try:
        tensors = st_load(data)
    except Exception as exc:
        raise ModelFileError(f"{path}: corrupt model file ({exc})") from None
    return model_from_parts(meta, tensors, path)


def model_from_parts(
    meta: dict[str, str], tensors: dict[str, np.ndarray], path: str | os.PathLike
) -> GenerativeModel:
    """The model that :func:`model_parts` gave ``(tensors, meta)`` for, checked as
    :func:`load` checks a file (``path`` names the file in error messages)."""
    path = Path(path)
    name = meta.get("class", "")
    classes = registered_models()
    if name not in classes:
        raise ModelFileError(
            f"{path}: unknown model class {name!r}; this genmodels knows "
            f"{', '.join(sorted(classes))}"
        )
    try:
        params = {k: from_json_value(v) for k, v in json.loads(meta["params"]).items()}
        attributes = {k: from_json_value(v) for k, v in json.loads(meta["attributes"]).items()}
    except ModelFileError:
        raise
    except Exception as exc:
        raise ModelFileError(f"{path}: corrupt model file ({exc})") from None
    for key, value in tensors.items():
        kind, _, attr = key.partition("/")
        if kind == "param":
            params[attr] = value
        elif kind == "attr":
            attributes[attr] = value
        else:
            raise ModelFileError(f"{path}: corrupt model file (unexpected tensor {key!r})")
    cls = classes[name]
    params = _renamed_params(cls, params)
    try:
        model = cls(**params)
    except TypeError as exc:
        raise ModelFileError(f"{path}: hyper-parameters do not fit {name}: {exc}") from None
    newer = _warn_if_newer(meta, path, name)
    check_fitted_state(model, attributes, path, strict=not newer)
    model._restore_state(attributes)
    return model


def _version_key(text: str) -> tuple[int, ...] | None:
    """``"1.2.3"`` (a release; anything after the numbers, as in "1.3.0rc1", ignored) as a
    tuple for comparing, or None when the text does not start with one."""
    parts = []
    for piece in text.split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
        if digits != piece:
            break
    return tuple(parts) or None


def _warn_if_newer(meta: dict[str, Any], path: Path, name: str) -> bool:
    """Warn (and return True) when the file was written by a newer genmodels than this."""
    written = str(meta.get("library_version", ""))
    theirs, ours = _version_key(written), _version_key(__version__)
    if theirs is None or ours is None or theirs <= ours:
        return False
    warnings.warn(
        ModelVersionWarning(
            f"{path}: this {name} was saved by genmodels {written}, and is loaded by "
            f"genmodels {__version__}, an older version; it may not behave as it did "
            "(its attributes are still checked)",
            file_version=written,
            current_version=__version__,
        ),
        stacklevel=3,
    )
    return True


# Hyper-parameters renamed since files were first written: old name -> new name. A file
# that uses the old name loads into a class that now takes the new one.
_RENAMED = {"precision": "mixed_precision"}


def _renamed_params(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    names = set(cls._get_param_names())
    out = {}
    for key, value in params.items():
        new = _RENAMED.get(key)
        out[new if new in names and key not in names else key] = value
    return out
