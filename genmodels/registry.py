"""The registry of model classes: how a model file's class name and a CLI alias become a
class, without ever running code from a file.

``@register("alias")`` on a :class:`~genmodels.base.GenerativeModel` subclass makes it
loadable by its class name (:func:`genmodels.load`), reachable from the command line by
its aliases, and covered by the contract test suite (which runs over
:func:`registered_models`). This module imports nothing of the library, so the contract,
the file format and the command line can all depend on it without a cycle.
"""

from __future__ import annotations

import difflib
import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import GenerativeModel

_REGISTRY: dict[str, type[GenerativeModel]] = {}
_ALIASES: dict[str, str] = {}

#: The packages whose models register themselves when imported. ``import genmodels`` is
#: lazy (the command line's ``--help`` needs no torch), so the lookups below import these
#: the first time they are asked; a new family adds its package here.
FAMILIES = (
    "genmodels.mixture",
    "genmodels.naive_bayes",
    "genmodels.hmm",
    "genmodels.boltzmann",
    "genmodels.vae",
    "genmodels.autoregressive",
    "genmodels.gan",
)
_loaded = False


def _load_families() -> None:
    global _loaded
    if not _loaded:
        for name in FAMILIES:
            importlib.import_module(name)
        _loaded = True


def register(*aliases: str):
    """Class decorator: make a model loadable by class name and reachable by CLI aliases.

    >>> @register("gmm")
    ... class GaussianMixture(GenerativeModel): ...
    """

    def deco(cls: type[GenerativeModel]) -> type[GenerativeModel]:
        name = cls.__name__
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise RuntimeError(f"two model classes are registered as {name!r}")
        _REGISTRY[name] = cls
        for alias in (name.lower(), *aliases):
            _ALIASES[alias.lower()] = name
        return cls

    return deco


def registered_models() -> dict[str, type[GenerativeModel]]:
    """All registered model classes, by class name."""
    _load_families()
    return dict(_REGISTRY)


def model_class(name: str) -> type[GenerativeModel]:
    """The model class for a class name or CLI alias (case-insensitive), or a clear error."""
    _load_families()
    key = _ALIASES.get(name.lower(), name)
    if key in _REGISTRY:
        return _REGISTRY[key]
    close = difflib.get_close_matches(name.lower(), list(_ALIASES), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    known = ", ".join(sorted(a for names in shown_aliases().values() for a in names))
    raise ValueError(f"unknown model {name!r}{hint}; known models: {known}")


def shown_aliases() -> dict[str, list[str]]:
    """Class name -> the aliases worth showing a user: all but the class name itself and
    its lowercased form (which work too), unless that form is the only short name."""
    _load_families()
    out: dict[str, list[str]] = {name: [] for name in _REGISTRY}
    for alias, target in sorted(_ALIASES.items()):
        if alias != target:
            out.setdefault(target, []).append(alias)
    for name, names in out.items():
        if len(names) > 1 and name.lower() in names:
            names.remove(name.lower())
    return out


def model_aliases() -> dict[str, str]:
    """CLI alias -> class name."""
    _load_families()
    return dict(_ALIASES)
