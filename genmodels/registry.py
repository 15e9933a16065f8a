"""The registry of model classes: how a model file's class name and a CLI alias become a
class, without ever running code from a file.

``@register("alias")`` on a :class:`~genmodels.base.GenerativeModel` subclass makes it
loadable by its class name (:func:`genmodels.load`), reachable from the command line by
its aliases, and covered by the contract test suite (which runs over
:func:`registered_models`). This module imports nothing of the library, so the contract,
the file format and the command line can all depend on it without a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import GenerativeModel

_REGISTRY: dict[str, type[GenerativeModel]] = {}
_ALIASES: dict[str, str] = {}


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
    return dict(_REGISTRY)


def model_class(name: str) -> type[GenerativeModel]:
    """The model class for a class name or CLI alias (case-insensitive), or a clear error."""
    key = _ALIASES.get(name.lower(), name)
    if key in _REGISTRY:
        return _REGISTRY[key]
    known = ", ".join(sorted(set(_ALIASES)))
    raise ValueError(f"unknown model {name!r}; known models: {known}")


def model_aliases() -> dict[str, str]:
    """CLI alias -> class name."""
    return dict(_ALIASES)
