"""The demo's HTML page: one self-contained file (inline CSS, no JavaScript, no external
assets) that shows each section's text, figures (PNG files beside it) and tables."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np

from .core import Section, Table, fmt_seconds

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: #1d2330;
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
.page { max-width: 980px; margin: 0 auto; padding: 28px 24px 40px; }
header { border-bottom: 1px solid #dde1e7; margin-bottom: 8px; padding-bottom: 12px; }
h1 { font-size: 26px; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 20px; margin: 0 0 10px; }
.meta { color: #5b6474; font-size: 13px; margin: 2px 0; }
nav { font-size: 14px; margin: 10px 0 0; }
nav a { margin-right: 14px; }
a { color: #1f5fbf; text-decoration: none; }
a:hover { text-decoration: underline; }
section { background: #fff; border: 1px solid #e3e6eb; border-radius: 8px;
  padding: 20px 24px; margin: 22px 0; }
.took { color: #8a93a3; font-size: 12px; font-weight: normal; margin-left: 8px; }
figure { margin: 18px 0; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid #eceef2; border-radius: 4px; }
figcaption { color: #5b6474; font-size: 13px; margin-top: 6px; text-align: left; }
table { border-collapse: collapse; margin: 14px 0 6px; font-size: 14px; width: 100%; }
caption { caption-side: bottom; text-align: left; color: #5b6474; font-size: 13px;
  padding-top: 8px; }
th, td { border: 1px solid #e1e4e9; padding: 5px 10px; text-align: left;
  vertical-align: top; }
th { background: #f2f4f7; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.na { color: #8a93a3; text-align: center; }
tbody tr:nth-child(even) td { background: #fbfbfc; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: #f0f2f5; padding: 1px 4px; border-radius: 3px; }
.note { color: #5b6474; font-size: 14px; }
footer { color: #5b6474; font-size: 13px; border-top: 1px solid #dde1e7; padding-top: 12px; }
"""


@dataclass
class ReportMeta:
    """What the header and footer say."""

    title: str
    version: str
    generated: str  # date and time, already formatted
    seconds: float
    environment: str  # plain text
    command: str  # plain text, the command that regenerates the report
    python_call: str  # plain text, the same from Python
    quick: bool = False


def render_table(table: Table) -> str:
    formats = list(table.formats) + [None] * (len(table.columns) - len(table.formats))
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for value, fmt in zip(row, formats, strict=True):
            if value is None:
                cells.append('<td class="na">—</td>')
            elif isinstance(value, int | float | np.number) and not isinstance(value, bool):
                v = float(value)
                text = fmt.format(value) if fmt else str(value)
                if not math.isfinite(v):
                    text = str(v)
                cells.append(f'<td class="num" data-value="{v!r}">{escape(text)}</td>')
            else:
                cells.append(f"<td>{escape(str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table id="{escape(table.name)}">'
        f"<caption>{escape(table.caption)}</caption>"
        f"<thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def render_section(section: Section) -> str:
    parts = [
        f'<section id="{escape(section.slug)}">',
        f"<h2>{escape(section.title)}"
        + (
            f'<span class="took">{escape(fmt_seconds(section.seconds))}</span>'
            if math.isfinite(section.seconds)
            else ""
        )
        + "</h2>",
        section.body,
    ]
    for fig in section.figures:
        alt = fig.alt or fig.caption
        parts.append(
            f'<figure><img src="{escape(fig.file)}" alt="{escape(alt)}">'
            + (f"<figcaption>{escape(fig.caption)}</figcaption>" if fig.caption else "")
            + "</figure>"
        )
    parts.extend(render_table(t) for t in section.tables)
    if section.notes:
        parts.append(section.notes)
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def render_page(sections: Sequence[Section], meta: ReportMeta) -> str:
    nav = " ".join(f'<a href="#{escape(s.slug)}">{escape(s.title)}</a>' for s in sections)
    mode = " (quick mode: fewer and shorter fits)" if meta.quick else ""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(meta.title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            '<div class="page">',
            "<header>",
            f"<h1>{escape(meta.title)}</h1>",
            f'<p class="meta">genmodels {escape(meta.version)} · generated {escape(meta.generated)}'
            f" · total run time {escape(fmt_seconds(meta.seconds))}{escape(mode)}</p>",
            f'<p class="meta">{escape(meta.environment)}</p>',
            f"<nav>{nav}</nav>",
            "</header>",
            *(render_section(s) for s in sections),
            "<footer>",
            f"<p>Regenerate this page with <code>{escape(meta.command)}</code>, or from Python "
            f"with <code>{escape(meta.python_call)}</code>.</p>",
            "</footer>",
            "</div>",
            "</body>",
            "</html>",
            "",
        ]
    )


def write_page(path: Path, html: str) -> Path:
    """Write ``html`` to ``path`` atomically (a temporary file, then a rename)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".index-", suffix=".html", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(html)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
