"""Molecules as SMILES strings: RDKit helpers and the MOSES metrics of generated molecules.

RDKit is the ``genmodels[chem]`` extra, imported only when a function here runs (a clear
``ImportError`` saying ``pip install 'genmodels[chem]'`` when it is missing), so
``import genmodels.chem`` itself needs nothing.

* :func:`to_molecule`, :func:`canonical_smiles`: SMILES -> RDKit molecule / RDKit's
  canonical SMILES, None for an empty or unparsable string (MOSES's ``get_mol``:
  ``MolFromSmiles`` then ``SanitizeMol``).
* :func:`morgan_fingerprints` (radius 2, 1,024 bits, as MOSES), :func:`tanimoto` (the
  Tanimoto similarity of every pair of rows of two bit matrices) and
  :func:`internal_diversity`.
* :func:`passes_filters`: the MOSES filters *as implemented here* (see its docstring: the
  atom, charge and ring rules and RDKit's PAINS catalogue; MOSES's MCF list is not
  included).
* :func:`sample_smiles`: molecules from a SMILES language model, in batches, seeded.
* :func:`read_smiles`, :func:`draw_grid`: SMILES files in, a grid picture out.
* :func:`moses_metrics`: validity, unique@k, novelty, IntDiv1/IntDiv2 and the filters'
  share, as MOSES (Polykovskiy et al. 2020, ``moses.metrics``) defines them.
"""

from ._metrics import (
    MOSES_ATOMS,
    canonical_smiles,
    draw_grid,
    internal_diversity,
    morgan_fingerprints,
    moses_metrics,
    novelty,
    pains_catalog,
    passes_filters,
    read_smiles,
    require_rdkit,
    sample_smiles,
    tanimoto,
    to_molecule,
    unique_at,
    validity,
)

__all__ = [
    "MOSES_ATOMS",
    "canonical_smiles",
    "draw_grid",
    "internal_diversity",
    "morgan_fingerprints",
    "moses_metrics",
    "novelty",
    "pains_catalog",
    "passes_filters",
    "read_smiles",
    "require_rdkit",
    "sample_smiles",
    "tanimoto",
    "to_molecule",
    "unique_at",
    "validity",
]
