"""RDKit helpers and the MOSES metrics (see the package docstring).

The definitions follow MOSES (Polykovskiy et al. 2020, ``moses.metrics``), computed with
RDKit directly:

* validity: the share of samples that are a molecule: a non-empty string that
  ``MolFromSmiles`` parses and ``SanitizeMol`` accepts;
* unique@k: among the first k valid samples (in sampling order), the share of distinct
  canonical SMILES (all the valid ones, with a warning, when fewer than k are valid);
* novelty: among the distinct valid samples, the share whose canonical SMILES is not a
  training molecule's (the training SMILES canonicalised by the same RDKit);
* IntDiv_p: 1 - mean_i (mean_j T(i, j)^p)^(1/p) over the valid samples (duplicates kept,
  i = j included), T the Tanimoto similarity of Morgan fingerprints (radius 2, 1,024
  bits); IntDiv is p = 1, IntDiv2 p = 2;
* Filters: the share of valid samples that :func:`passes_filters`.
"""

from __future__ import annotations

import csv
import gzip
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

INSTALL = "pip install 'genmodels[chem]'"

#: The atoms a molecule passing the MOSES filters may have.
MOSES_ATOMS = frozenset({"C", "N", "S", "O", "F", "Cl", "Br", "H"})
#: Rings of this many atoms or more fail the MOSES filters.
MOSES_MAX_RING = 8
#: MOSES's fingerprint: Morgan, radius 2, folded to 1,024 bits.
MORGAN_RADIUS, MORGAN_BITS = 2, 1024


def require_rdkit(what: str = "genmodels.chem"):
    """``rdkit.Chem``, or an ``ImportError`` that says how to install it."""
    try:
        from rdkit import Chem
    except ImportError:
        raise ImportError(f"{what} needs RDKit: {INSTALL}") from None
    return Chem


def _quiet():
    """A context in which RDKit logs nothing (a model's invalid samples would flood the
    terminal with parse errors)."""
    from rdkit import rdBase

    return rdBase.BlockLogs()


def _map(fn: Callable, items: Sequence, n_jobs: int) -> list:
    """``[fn(x) for x in items]``, in ``n_jobs`` processes when it is more than 1."""
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive integer, got {n_jobs!r}")
    if n_jobs == 1 or len(items) < 2 * n_jobs:
        return [fn(x) for x in items]
    chunk = max(1, len(items) // (8 * n_jobs))
    with ProcessPoolExecutor(max_workers=n_jobs) as pool:
        return list(pool.map(fn, items, chunksize=chunk))


def _as_list(smiles: Iterable[str], what: str) -> list[str]:
    if isinstance(smiles, str):
        raise TypeError(f"{what} must be a list of SMILES strings, not one string")
    out = list(smiles)
    bad = next((s for s in out if not isinstance(s, str)), None)
    if bad is not None:
        raise TypeError(f"{what} must be SMILES strings, got {type(bad).__name__} {bad!r}")
    return out


def to_molecule(smiles: str):
    """The RDKit molecule of ``smiles``, or None when it is empty, does not parse or fails
    sanitisation (MOSES's ``get_mol``)."""
    chem = require_rdkit("to_molecule")
    if not isinstance(smiles, str):
        raise TypeError(f"a SMILES must be a string, got {type(smiles).__name__}")
    if not smiles:
        return None
    with _quiet():
        mol = chem.MolFromSmiles(smiles)
        if mol is None:
            return None
        try:
            chem.SanitizeMol(mol)
        except ValueError:  # RDKit's sanitisation errors derive from ValueError
            return None
    return mol


def _canonical(smiles: str) -> str | None:
    mol = to_molecule(smiles)
    if mol is None:
        return None
    from rdkit import Chem

    return Chem.MolToSmiles(mol)


def canonical_smiles(smiles: Iterable[str], *, n_jobs: int = 1) -> list[str | None]:
    """RDKit's canonical SMILES of each string (isomeric, as ``MolToSmiles`` writes it),
    None where the string is not a valid molecule."""
    require_rdkit("canonical_smiles")
    return _map(_canonical, _as_list(smiles, "smiles"), n_jobs)


def morgan_fingerprints(molecules: Iterable) -> np.ndarray:
    """(n, 1024) uint8 0/1 Morgan fingerprints (radius 2, MOSES's) of SMILES strings or
    RDKit molecules; an invalid SMILES is an error."""
    require_rdkit("morgan_fingerprints")
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=MORGAN_RADIUS, fpSize=MORGAN_BITS)
    rows = []
    for i, m in enumerate(molecules):
        mol = to_molecule(m) if isinstance(m, str) else m
        if mol is None:
            raise ValueError(f"morgan_fingerprints: molecule {i} ({m!r}) is not a valid molecule")
        rows.append(gen.GetFingerprintAsNumPy(mol).astype(np.uint8))
    if not rows:
        return np.zeros((0, MORGAN_BITS), dtype=np.uint8)
    return np.stack(rows)


def _bits(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of 0/1 fingerprints, got shape {a.shape}")
    if a.size and not np.isin(a, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1 (bit fingerprints)")
    return a.astype(np.float32)


def tanimoto(a, b) -> np.ndarray:
    """T(i, j) = |a_i & b_j| / |a_i | b_j| for every row i of ``a`` and j of ``b`` (0/1
    fingerprint matrices with as many columns): (len(a), len(b)); 1 where both are empty
    (as MOSES)."""
    fa, fb = _bits(a, "a"), _bits(b, "b")
    if fa.shape[1] != fb.shape[1]:
        raise ValueError(f"fingerprints of {fa.shape[1]} and {fb.shape[1]} bits do not compare")
    both = (fa @ fb.T).astype(np.float64)  # exact: integer counts below 2**24
    union = fa.sum(1)[:, None] + fb.sum(1)[None, :] - both
    with np.errstate(invalid="ignore", divide="ignore"):
        t = both / union
    t[union == 0] = 1.0
    return t


def internal_diversity(fingerprints, p: int = 1, *, batch: int = 2048) -> float:
    """IntDiv_p = 1 - mean_i (mean_j T(i, j)^p)^(1/p) over all pairs of rows of
    ``fingerprints`` (i = j included, as MOSES), in blocks of ``batch`` rows."""
    return _internal_diversities(fingerprints, (p,), batch)[0]


def _internal_diversities(fingerprints, ps: Sequence, batch: int = 2048) -> list[float]:
    """IntDiv_p for each p of ``ps``, from one pass over the blocks of similarities."""
    fps = _bits(fingerprints, "fingerprints")
    if len(fps) == 0:
        raise ValueError("internal_diversity of no molecules")
    for p in ps:
        if not isinstance(p, int | float) or isinstance(p, bool) or p <= 0:
            raise ValueError(f"p must be positive, got {p!r}")
    per_row = np.empty((len(ps), len(fps)))
    for i in range(0, len(fps), batch):
        t = tanimoto(fps[i : i + batch], fps)
        for k, p in enumerate(ps):
            per_row[k, i : i + batch] = np.mean(t**p, axis=1) ** (1.0 / p)
    return [float(1.0 - r.mean()) for r in per_row]


@lru_cache(maxsize=1)
def pains_catalog():
    """RDKit's PAINS filter catalogue (families A, B and C: 480 substructures, Baell &
    Holloway 2010), built once."""
    require_rdkit("pains_catalog")
    from rdkit.Chem import FilterCatalog

    params = FilterCatalog.FilterCatalogParams()
    params.AddCatalog(FilterCatalog.FilterCatalogParams.FilterCatalogs.PAINS)
    return FilterCatalog.FilterCatalog(params)


def passes_filters(molecule) -> bool:
    """Whether a molecule (SMILES or RDKit molecule) passes the MOSES filters as
    implemented here: valid; no ring of 8 or more atoms; no charged atom; only the atoms
    C, N, S, O, F, Cl, Br, H; no PAINS substructure (RDKit's catalogue, matched on the
    molecule with explicit hydrogens, as MOSES matches its list); and a SMILES written
    without stereochemistry parses back. MOSES also rejects the substructures of its
    medicinal-chemistry list (``mcf.csv``), which RDKit does not ship and which is not
    included here, so this share is an upper bound on MOSES's."""
    chem = require_rdkit("passes_filters")
    mol = to_molecule(molecule) if isinstance(molecule, str) else molecule
    if mol is None:
        return False
    if any(len(ring) >= MOSES_MAX_RING for ring in mol.GetRingInfo().AtomRings()):
        return False
    atoms = list(mol.GetAtoms())
    if any(a.GetFormalCharge() != 0 for a in atoms):
        return False
    if any(a.GetSymbol() not in MOSES_ATOMS for a in atoms):
        return False
    if pains_catalog().HasMatch(chem.AddHs(mol)):
        return False
    flat = chem.MolToSmiles(mol, isomericSmiles=False)
    return bool(flat) and to_molecule(flat) is not None


def validity(canonical: Sequence[str | None]) -> float:
    """The share of samples that are molecules (``canonical``: :func:`canonical_smiles`)."""
    if len(canonical) == 0:
        raise ValueError("validity of no samples")
    return sum(c is not None for c in canonical) / len(canonical)


def unique_at(valid: Sequence[str], k: int) -> float:
    """unique@k: the share of distinct SMILES among the first ``k`` of ``valid`` (canonical
    SMILES of the valid samples, in order); all of them, with a warning, when fewer."""
    if len(valid) == 0:
        raise ValueError("unique@k of no valid samples")
    if len(valid) < k:
        warnings.warn(
            f"unique@{k}: only {len(valid)} valid samples; computed over all of them",
            stacklevel=2,
        )
    first = valid[:k]
    return len(set(first)) / len(first)


def novelty(valid: Sequence[str], train: set[str]) -> float:
    """The share of the distinct ``valid`` canonical SMILES that are not in ``train`` (a
    set of canonical SMILES)."""
    distinct = set(valid)
    if not distinct:
        raise ValueError("novelty of no valid samples")
    return len(distinct - train) / len(distinct)


def moses_metrics(
    samples: Iterable[str],
    train: Iterable[str] | None = None,
    *,
    n_jobs: int = 1,
    ks: Sequence[int] = (1000, 10000),
    filters: bool = True,
    canonical_train: bool = False,
) -> dict[str, Any]:
    """The MOSES metrics of generated SMILES ``samples`` (definitions in
    :mod:`genmodels.chem._metrics`): a dict with ``n_samples``, ``n_valid``, ``valid``,
    ``unique@k`` for each k of ``ks``, ``Novelty`` against the training SMILES ``train``
    (canonicalised here; None without ``train``), ``IntDiv``, ``IntDiv2`` and, with
    ``filters``, ``Filters`` (see :func:`passes_filters`). Metrics of the valid samples
    are None when there are none. ``n_jobs`` processes canonicalise;
    ``canonical_train=True`` takes ``train`` as canonical SMILES of this RDKit already
    (from :func:`canonical_smiles`) and skips canonicalising it again."""
    require_rdkit("moses_metrics")
    samples = _as_list(samples, "samples")
    canonical = canonical_smiles(samples, n_jobs=n_jobs)
    valid = [c for c in canonical if c is not None]
    out: dict[str, Any] = {
        "n_samples": len(samples),
        "n_valid": len(valid),
        "valid": validity(canonical),
    }
    for k in ks:
        out[f"unique@{k}"] = unique_at(valid, int(k)) if valid else None
    if train is None:
        out["Novelty"] = None
    else:
        train = _as_list(train, "train")
        if not canonical_train:
            train = canonical_smiles(train, n_jobs=n_jobs)
        train_set = {c for c in train if c is not None}
        if not train_set:
            raise ValueError("moses_metrics: no training SMILES is a valid molecule")
        out["Novelty"] = novelty(valid, train_set) if valid else None
    if valid:
        out["IntDiv"], out["IntDiv2"] = _internal_diversities(morgan_fingerprints(valid), (1, 2))
    else:
        out["IntDiv"] = out["IntDiv2"] = None
    if filters:
        out["Filters"] = float(np.mean([passes_filters(s) for s in valid])) if valid else None
    return out


def read_smiles(path: str | Path) -> list[str]:
    """SMILES from a file: ``.smi`` / ``.txt`` (one molecule a line, the SMILES its first
    field; blank lines skipped) or ``.csv`` / ``.csv.gz`` with a ``SMILES`` (or
    ``smiles``) column."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no SMILES file at {path}")
    name = path.name.lower()
    opener = gzip.open if name.endswith(".gz") else open
    stem = name[:-3] if name.endswith(".gz") else name
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        if stem.endswith(".csv"):
            reader = csv.DictReader(f)
            column = next((c for c in reader.fieldnames or () if c in ("SMILES", "smiles")), None)
            if column is None:
                raise ValueError(f"{path}: no SMILES column (header: {reader.fieldnames})")
            out = [row[column].strip() for row in reader if row[column].strip()]
        elif stem.endswith((".smi", ".txt")):
            out = [line.split()[0] for line in f if line.strip()]
        else:
            raise ValueError(f"{path}: a SMILES file is .smi, .txt or .csv (optionally .gz)")
    if not out:
        raise ValueError(f"{path}: the file holds no SMILES")
    return out


def sample_smiles(
    model,
    n: int,
    *,
    length: int = 100,
    batch: int = 1000,
    random_state=None,
    **kwargs,
) -> list[str]:
    """``n`` strings from a text model fitted with an end token (a
    :class:`~genmodels.Transformer` with ``end_token=True`` on SMILES), drawn ``batch`` at a
    time (the key/value cache of a batch is its memory) with the seeds a
    ``RandomState(random_state)`` draws, so the same ``random_state`` gives the same
    strings; each at most ``length`` characters. ``kwargs``: ``sample_text``'s
    (``temperature``, ``top_k``, ``top_p``)."""
    from ..validation import check_random_state

    if not hasattr(model, "sample_text") or getattr(model, "_has_text", False) is not True:
        raise TypeError(f"{type(model).__name__} is not a model of text: it samples no SMILES")
    if getattr(model, "end_id_", None) is None:
        raise ValueError(
            f"{type(model).__name__} was fitted without an end token, so its samples do not "
            "end where a molecule ends: fit it with end_token=True"
        )
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not isinstance(batch, int | np.integer) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    rng = check_random_state(random_state)
    out: list[str] = []
    while len(out) < n:
        k = min(int(batch), n - len(out))
        seed = int(rng.randint(0, 2**31 - 1))
        out.extend(model.sample_text(k, length=length, random_state=seed, **kwargs))
    return out


def draw_grid(
    smiles: Sequence[str],
    path: str | Path,
    *,
    per_row: int = 6,
    size: int = 220,
    legends: Sequence[str] | None = None,
) -> Path:
    """A PNG grid of the molecules ``smiles`` (valid ones; RDKit's ``MolsToGridImage``),
    ``size`` pixels a side each, ``per_row`` to a row, written to ``path``."""
    require_rdkit("draw_grid")
    from rdkit.Chem import Draw

    mols = [to_molecule(s) for s in smiles]
    keep = [i for i, m in enumerate(mols) if m is not None]
    if not keep:
        raise ValueError("draw_grid: none of the SMILES is a valid molecule")
    image = Draw.MolsToGridImage(
        [mols[i] for i in keep],
        molsPerRow=per_row,
        subImgSize=(size, size),
        legends=None if legends is None else [legends[i] for i in keep],
    )
    path = Path(path)
    image.save(path)
    return path
