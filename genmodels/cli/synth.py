"""``genmodels synth DATA.csv -n 10000 -o synthetic.csv``: fit a
:class:`~genmodels.tabular.Synthesizer` to a CSV table (a header row; numbers, integers,
categories, booleans, dates and empty cells as missing) and write as many new rows as
asked, with the input's columns, order and types. ``--save`` keeps the fitted synthesizer;
``--load`` samples from a saved one without fitting."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import CommandError, add_verb


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "synth",
        "fit a synthesizer to a CSV table and write synthetic rows",
        run,
        "genmodels synth adult.csv -n 10000 -o synthetic.csv --model vae --seed 0",
    )
    p.add_argument("data", metavar="DATA", nargs="?", help="a CSV file with a header row")
    p.add_argument(
        "-n",
        "--rows",
        type=int,
        default=None,
        metavar="N",
        help="rows to write (default: as many as DATA has)",
    )
    p.add_argument("-o", "--output", required=True, help="the CSV file to write")
    p.add_argument(
        "--model",
        default="auto",
        choices=("auto", "gmm", "vae", "gan"),
        help="auto (a Gaussian mixture for tables of up to 256 encoded features, "
        "else the VAE), gmm, vae (TVAE-like) or gan (CTGAN-like)",
    )
    p.add_argument("--seed", type=int, default=0, help="the random seed (default 0)")
    p.add_argument(
        "--epochs", type=int, default=None, help="the VAE's or GAN's epochs (default 300)"
    )
    p.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="NAME=TYPE",
        help="a column's type, overriding the inferred one: continuous, integer, "
        "categorical, boolean or datetime (repeatable)",
    )
    p.add_argument(
        "--missing",
        action="append",
        default=[],
        metavar="TEXT",
        help="a cell text that means missing, besides empty cells and NA "
        "(repeatable; e.g. --missing '?'); the first one also marks the "
        "missing cells of the output",
    )
    p.add_argument("--save", metavar="FILE", help="also write the fitted synthesizer here")
    p.add_argument(
        "--load", metavar="FILE", help="sample from a saved synthesizer instead of fitting DATA"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _columns(specs: list[str]) -> dict[str, str]:
    from ..tabular import KINDS

    out = {}
    for spec in specs:
        name, sep, kind = spec.rpartition("=")
        if not sep or not name:
            raise CommandError(f"--column wants NAME=TYPE, got {spec!r}")
        if kind not in KINDS:
            raise CommandError(
                f"--column {spec}: unknown column type {kind!r}; the types are {', '.join(KINDS)}"
            )
        out[name] = kind
    return out


def read_table(path: Path, missing: list[str]):
    """A CSV table as a DataFrame: spaces after the separators stripped, empty cells, NA
    and the ``missing`` texts read as missing."""
    from ..tabular._columns import pandas

    pd = pandas()
    if not path.is_file():
        raise FileNotFoundError(f"no table at {path}")
    try:
        frame = pd.read_csv(path, skipinitialspace=True, na_values=missing or None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path}: not a readable CSV table ({exc})") from None
    return frame


def run(args: argparse.Namespace) -> int:
    """Fit (or load), sample, write."""
    from ..tabular import Synthesizer

    out = Path(args.output)
    if out.suffix.lower() != ".csv":
        raise CommandError(f"cannot write {out}: synth writes a .csv table")
    if args.rows is not None and args.rows < 1:
        raise CommandError(f"-n must be a positive number of rows, got {args.rows}")
    if args.load:
        if args.data or args.column:
            raise CommandError("--load samples a saved synthesizer: give no DATA or --column")
        synth = Synthesizer.load(args.load)
    else:
        if not args.data:
            raise CommandError("give the CSV table to fit (DATA), or --load a saved synthesizer")
        frame = read_table(Path(args.data), args.missing)
        synth = Synthesizer(
            model=args.model,
            columns=_columns(args.column) or None,
            epochs=args.epochs,
            random_state=args.seed,
            verbose=0 if args.quiet else 1,
        ).fit(frame)
        if args.save:
            synth.save(args.save)
    n = args.rows or synth.n_rows_
    rows = synth.sample(n, random_state=args.seed)
    write_table(rows, synth, out, args.missing[0] if args.missing else "")
    kinds = ", ".join(f"{c} ({k})" for c, k in synth.column_kinds_.items())
    print(f"{n} synthetic rows -> {out} (model {synth.model_name_}; columns: {kinds})")
    return 0


def write_table(rows, synth, path: Path, missing: str = "") -> None:
    """Write ``rows`` as CSV so that each column reads back as the input's did: integer
    columns with missing values as whole numbers (3, not 3.0), missing cells as ``missing``
    (the first ``--missing`` text, so a table that marked them ``?`` still does)."""
    rows = rows.copy()
    with_missing = synth.encoder_.columns_with_missing()
    for name, kind in synth.column_kinds_.items():
        if kind == "integer" and name in with_missing and rows[name].dtype.kind == "f":
            rows[name] = rows[name].astype("Int64")
    rows.to_csv(path, index=False, na_rep=missing)
