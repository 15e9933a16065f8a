"""``genmodels models``: the registered models, their aliases and capabilities."""

from __future__ import annotations

import argparse

from ..registry import model_aliases, registered_models
from .common import add_verb, format_capabilities, print_table


def add_parser(sub) -> None:
    add_verb(sub, "models", "list the available models", run, "genmodels models")


def run(args: argparse.Namespace) -> int:
    aliases = model_aliases()
    rows = []
    for name, cls in sorted(registered_models().items()):
        names = sorted(a for a, target in aliases.items() if target == name and a != name.lower())
        rows.append((name, ", ".join(names) or "-", format_capabilities(cls.capabilities)))
    print_table(("MODEL", "ALIASES", "CAPABILITIES"), rows)
    return 0
