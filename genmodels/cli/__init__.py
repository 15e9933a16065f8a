"""The ``genmodels`` command: fit, sample, score, predict, decode, interpolate and inspect
models from the shell. One module per verb (``fit``, ``sample``, ...), the entry point and
the verb list in :mod:`.main`, what the verbs share in :mod:`.common` and :mod:`.settings`,
and the tables they read and write in :mod:`.tables`."""

from .main import VERBS, build_parser, main
from .settings import check_param_names, match_tuple_settings, parse_settings

__all__ = [
    "VERBS",
    "build_parser",
    "check_param_names",
    "main",
    "match_tuple_settings",
    "parse_settings",
]
