"""The first section: which model families this build registers and what each declares."""

from __future__ import annotations

from ..registry import model_aliases, registered_models
from .core import LIKELIHOOD_LABEL, Context, Section, Table


def families_section(ctx: Context) -> Section:
    """A table of every registered model and its declared capabilities."""
    aliases: dict[str, list[str]] = {}
    for alias, name in sorted(model_aliases().items()):
        if alias != name.lower():
            aliases.setdefault(name, []).append(alias)
    table = Table(
        name="families-table",
        caption=(
            "Every model registered in this build, with the capabilities its class declares. "
            "The demo, the CLI and the contract tests dispatch on these declarations."
        ),
        columns=[
            "model",
            "CLI names",
            "likelihood",
            "latent variables",
            "conditional sampling",
            "supervised",
            "missing values",
            "input",
        ],
    )

    def yes(flag: bool) -> str:
        return "yes" if flag else "no"

    for name, cls in sorted(registered_models().items()):
        c = cls.capabilities
        table.add(
            name,
            ", ".join(aliases.get(name, [])) or name.lower(),
            LIKELIHOOD_LABEL[c.likelihood],
            yes(c.latent),
            yes(c.conditional_sampling),
            yes(c.supervised),
            yes(c.missing_values),
            f"sequences of {c.input_kind} frames" if c.sequential else c.input_kind,
        )
    body = (
        "<p>Each family below is fitted on data that ships with scikit-learn or that the "
        "demo generates from a known model, so this page needs no download. Every model "
        "follows one API: <code>fit</code>, "
        "<code>sample</code>, <code>score_samples</code> (log-likelihood in nats) and "
        "<code>save</code>.</p>"
    )
    return Section(title="Model families", body=body, tables=[table], slug="families")
