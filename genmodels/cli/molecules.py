"""``genmodels molecules MODEL_FILE -n 1000 -o mols.smi``: molecules from a saved SMILES
language model (a transformer fitted on SMILES with ``end_token=True``), written as RDKit
canonical SMILES, with the MOSES metrics printed (validity, unique@1000/@10000, novelty
against ``--train``, IntDiv1/IntDiv2, the filters' share); ``--report DIR`` adds a grid
picture of sampled molecules and the metrics as JSON and markdown.

RDKit is the ``genmodels[chem]`` extra: without it the command says how to install it.
Samples that are not molecules (they do not parse, or fail RDKit's sanitisation) are
counted in the validity and left out of the output file, which holds one canonical SMILES
per valid sample, in sampling order (duplicates kept).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import CommandError, add_verb, load_model, num, print_rows

#: The MOSES CharRNN baseline (Polykovskiy et al. 2020, table 2; trained on MOSES's 1.58M
#: training molecules), printed beside the metrics.
ANCHOR = {"valid": 0.975, "unique@10000": 0.999, "Novelty": 0.842}
GRID = 24  # molecules in the report's picture
KS = (1000, 10000)


def add_parser(sub) -> None:
    p = add_verb(
        sub,
        "molecules",
        "sample molecules from a SMILES language model and print the MOSES metrics",
        run,
        "genmodels molecules smiles_gpt.safetensors -n 1000 -o mols.smi --train train.smi "
        "--report report/",
    )
    p.add_argument("model_file", metavar="MODEL_FILE")
    p.add_argument("-n", "--n-samples", type=int, default=1000, help="samples (default 1000)")
    p.add_argument(
        "-o", "--output", default=None, help="write the valid samples' canonical SMILES (.smi)"
    )
    p.add_argument(
        "--train",
        default=None,
        help="the training molecules, for novelty: a .smi/.txt (one a line) or .csv(.gz) "
        "file with a SMILES column, or 'moses' (genmodels.datasets.moses_smiles' training "
        "split)",
    )
    p.add_argument("--report", default=None, metavar="DIR", help="write a report folder")
    p.add_argument("--seed", type=int, default=None, help="random seed of the draws")
    p.add_argument(
        "--length", type=int, default=100, help="most characters a sample may have (default 100)"
    )
    p.add_argument("--temperature", type=float, default=1.0, help="divides the logits (1.0)")
    p.add_argument("--no-filters", action="store_true", help="skip the MOSES filters' share")


def _processes(args) -> int:
    """The processes that canonicalise SMILES: the --n-jobs count, else one."""
    from ..config import resolve_n_jobs

    return resolve_n_jobs(args.n_jobs) or 1


def _chem():
    try:
        from .. import chem

        chem.require_rdkit("genmodels molecules")
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    return chem


def _train_smiles(source: str | None, chem) -> list[str] | None:
    if source is None:
        return None
    if source == "moses":
        from ..datasets import moses_smiles

        return moses_smiles()["train"]
    return chem.read_smiles(source)


def _metric_rows(metrics: dict) -> list[tuple[str, str]]:
    rows = [("samples", f"{metrics['n_samples']} ({metrics['n_valid']} valid)")]
    for key in ("valid", *(f"unique@{k}" for k in KS), "Novelty", "IntDiv", "IntDiv2", "Filters"):
        if key not in metrics:
            if key.startswith("unique@"):
                rows.append((key, f"n/a (needs {key[7:]} valid samples)"))
            continue
        value = metrics[key]
        if value is None:
            text = "n/a (no --train)" if key == "Novelty" else "n/a"
        else:
            text = num(value)
        if key in ANCHOR:
            text += f"   (MOSES CharRNN: {ANCHOR[key]})"
        rows.append((key, text))
    return rows


def run(args: argparse.Namespace) -> int:
    chem = _chem()
    if args.n_samples < 1:
        raise CommandError(f"-n must be a positive number of samples, got {args.n_samples}")
    if args.length < 1:
        raise CommandError(f"--length must be a positive number of characters, got {args.length}")
    if args.output is not None and Path(args.output).suffix.lower() not in (".smi", ".txt"):
        raise CommandError(f"{args.output}: the samples go to a .smi (or .txt) file")
    model = load_model(args.model_file)
    train = _train_smiles(args.train, chem)
    samples = chem.sample_smiles(
        model,
        args.n_samples,
        length=args.length,
        random_state=args.seed,
        temperature=args.temperature,
    )
    processes = _processes(args)
    canonical = chem.canonical_smiles(samples, n_jobs=processes)
    valid = [c for c in canonical if c is not None]
    if args.output is not None:
        Path(args.output).write_text("".join(c + "\n" for c in valid), encoding="utf-8")
        print(
            f"wrote {len(valid)} canonical SMILES to {args.output} "
            f"({len(samples) - len(valid)} invalid samples left out)"
        )
    ks = tuple(k for k in KS if k <= len(valid))
    metrics = chem.moses_metrics(
        samples, train, n_jobs=processes, ks=ks, filters=not args.no_filters
    )
    print(f"MOSES metrics of {len(samples)} samples from {args.model_file}:")
    print_rows(_metric_rows(metrics), indent="  ")
    if args.report is not None:
        _report(Path(args.report), args, metrics, valid, chem)
    return 0


def _report(folder: Path, args, metrics: dict, valid: list[str], chem) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if valid:
        grid = chem.draw_grid(valid[:GRID], folder / "molecules.png", legends=valid[:GRID])
        written.append(grid.name)
    record = {
        "model_file": str(args.model_file),
        "seed": args.seed,
        "temperature": args.temperature,
        "train": args.train,
        "metrics": metrics,
        "anchor_moses_charrnn": ANCHOR,
    }
    (folder / "metrics.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    lines = [
        f"# Molecules from {Path(args.model_file).name}",
        "",
        f"{metrics['n_samples']} samples (seed {args.seed}, temperature {args.temperature}), "
        f"{metrics['n_valid']} valid; novelty against {args.train or '(no training set)'}.",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in _metric_rows(metrics)),
        "",
    ]
    if valid:
        lines += [f"![the first {min(GRID, len(valid))} valid samples](molecules.png)", ""]
    (folder / "report.md").write_text("\n".join(lines), encoding="utf-8")
    written += ["metrics.json", "report.md"]
    print(f"wrote {', '.join(written)} to {folder}")
