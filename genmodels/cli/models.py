"""``genmodels models``: the registered models, their aliases and capabilities."""

from __future__ import annotations

import argparse

from ..registry import registered_models, shown_aliases
from .common import add_verb, format_capabilities, print_table


def add_parser(sub) -> None:
    add_verb(sub, "models", "list the available models", run, "genmodels models")


def run(args: argparse.Namespace) -> int:
    aliases = shown_aliases()
    rows = [
        (name, ", ".join(aliases[name]) or "-", format_capabilities(cls.capabilities))
        for name, cls in sorted(registered_models().items())
    ]
    print_table(("MODEL", "ALIASES", "CAPABILITIES"), rows)
    return 0
