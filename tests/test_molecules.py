"""Molecules (issue 15): the end token of the autoregressive family, the MOSES metrics of
genmodels.chem against hand-made lists and RDKit's own functions, and ``genmodels
molecules`` end to end on a tiny SMILES model. RDKit is the genmodels[chem] extra: the
tests that need it skip, with the install line, where it is missing."""

from __future__ import annotations

import builtins
import json
import math

import numpy as np
import pytest

from genmodels import Transformer, load
from genmodels.cli.main import main

try:  # the chem extra
    from rdkit import Chem, DataStructs
    from rdkit.Chem import rdFingerprintGenerator
except ImportError:  # pragma: no cover - make test installs the chem extra
    Chem = None

needs_rdkit = pytest.mark.skipif(
    Chem is None, reason="RDKit is missing: pip install 'genmodels[chem]'"
)

SMILES = [
    "CCO",
    "c1ccccc1",
    "CC(=O)O",
    "CCN",
    "CCCC",
    "C1CC1",
    "OCC(N)C",
    "CC(C)C",
    "c1ccncc1",
    "CCOC",
    "CC(=O)Nc1ccc(O)cc1",
    "CC=O",
]


@pytest.fixture(scope="module")
def tiny_model():
    model = Transformer(
        n_layers=1,
        n_heads=2,
        d_model=32,
        block_size=24,
        end_token=True,
        epochs=40,
        batch_size=4,
        lr=3e-3,
        warmup_steps=0,
        random_state=0,
    )
    return model.fit(SMILES)


# -- the end token (autoregressive family) ------------------------------------------------


def test_end_token_reserves_one_id_past_the_characters(tiny_model):
    m = tiny_model
    assert m.end_id_ == len(m.vocabulary_) == m.vocab_size_ - 1
    assert Transformer(epochs=1, random_state=0).fit(SMILES).end_id_ is None


def test_samples_stop_at_the_end_token(tiny_model):
    codes = tiny_model.sample(16, length=40, random_state=3)[..., 0].astype(int)
    end = tiny_model.end_id_
    for row in codes:
        hits = np.flatnonzero(row == end)
        if hits.size:  # everything after the first end token is the end token
            assert (row[hits[0] :] == end).all()
    texts = tiny_model.sample_text(16, length=40, random_state=3)
    ended = [np.flatnonzero(r == end) for r in codes]
    for text, row, hit in zip(texts, codes, ended, strict=True):
        assert len(text) == (hit[0] if hit.size else len(row))
    # a model trained to memorise a dozen molecules ends most samples well before 40
    assert sum(len(t) < 40 for t in texts) >= 12


def test_same_seed_same_molecules_and_the_cache_agrees(tiny_model):
    a = tiny_model.sample_text(10, length=30, random_state=7)
    assert a == tiny_model.sample_text(10, length=30, random_state=7)
    assert a == tiny_model.sample_text(10, length=30, random_state=7, use_cache=False)
    assert a != tiny_model.sample_text(10, length=30, random_state=8)


def test_score_includes_the_end_and_is_a_distribution_over_lengths(tiny_model):
    """log p(x) = sum of the characters' log-probabilities plus log p(end | x): the
    characters' part alone is complete's, so the difference is log p(end | x) < 0."""
    m = tiny_model
    with_end = m.score_samples(["CCO"])[0]
    ids = m._encode_text(["CCO"], fitting=False)
    no_end = m._score_token_lists(ids)[0]
    assert with_end < no_end < 0
    # bits per token counts each molecule's end as one more token
    total = m.score_samples(SMILES).sum()
    n_tokens = sum(len(s) + 1 for s in SMILES)
    assert m.bits_per_token(SMILES) == pytest.approx(-total / n_tokens / math.log(2))


def test_stop_at_end_needs_an_end_token():
    m = Transformer(n_layers=1, n_heads=2, d_model=16, block_size=8, epochs=1, random_state=0)
    m.fit(SMILES)
    with pytest.raises(ValueError, match="without an end token"):
        m.sample_text(2, length=5, stop_at_end=True)
    assert all(len(t) == 5 for t in m.sample_text(3, length=5))


def test_end_token_survives_save_and_load(tiny_model, tmp_path):
    path = tmp_path / "smiles.safetensors"
    tiny_model.save(path)
    back = load(path)
    assert back.end_id_ == tiny_model.end_id_
    assert back.sample_text(5, length=30, random_state=1) == tiny_model.sample_text(
        5, length=30, random_state=1
    )


# -- the MOSES metrics ------------------------------------------------------------------


@needs_rdkit
def test_canonical_smiles_and_validity():
    from genmodels.chem import canonical_smiles, validity

    out = canonical_smiles(["OCC", "C1=CC=CC=C1", "", "C(C", "xyz", "CCO"])
    assert out == ["CCO", "c1ccccc1", None, None, None, "CCO"]
    assert validity(out) == pytest.approx(3 / 6)


@needs_rdkit
def test_moses_metrics_on_a_hand_made_list():
    from genmodels.chem import moses_metrics

    samples = ["CCO", "OCC", "c1ccccc1", "CC(=O)O", "C(C", "", "CCN", "CCO"]
    train = ["C1=CC=CC=C1", "NCC"]  # benzene and ethylamine, written otherwise
    m = moses_metrics(samples, train, ks=(3,))
    assert m["n_samples"] == 8 and m["n_valid"] == 6
    assert m["valid"] == pytest.approx(6 / 8)
    # first 3 valid: CCO, CCO, c1ccccc1 -> 2 distinct
    assert m["unique@3"] == pytest.approx(2 / 3)
    # distinct valid: CCO, c1ccccc1, CC(=O)O, CCN; two are training molecules
    assert m["Novelty"] == pytest.approx(2 / 4)
    assert 0 < m["IntDiv"] < 1 and 0 < m["IntDiv2"] < 1
    assert m["Filters"] == pytest.approx(1.0)


@needs_rdkit
def test_unique_at_k_warns_when_fewer_valid():
    from genmodels.chem import unique_at

    with pytest.warns(UserWarning, match="only 2 valid"):
        assert unique_at(["CCO", "CCN"], 10) == 1.0


@needs_rdkit
def test_tanimoto_agrees_with_rdkit():
    from genmodels.chem import morgan_fingerprints, tanimoto

    mols = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC", "O=C(O)c1ccccc1"]
    fps = morgan_fingerprints(mols)
    assert fps.shape == (5, 1024) and fps.dtype == np.uint8
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    bits = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in mols]
    ours = tanimoto(fps, fps)
    theirs = np.array([DataStructs.BulkTanimotoSimilarity(b, bits) for b in bits])
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


@needs_rdkit
def test_internal_diversity():
    from genmodels.chem import internal_diversity, morgan_fingerprints, tanimoto

    same = morgan_fingerprints(["c1ccccc1O"] * 4)
    assert internal_diversity(same) == pytest.approx(0.0)
    assert internal_diversity(same, 2) == pytest.approx(0.0)
    fps = morgan_fingerprints(["CCO", "c1ccccc1O", "CCN(CC)CC"])
    t = tanimoto(fps, fps)
    assert internal_diversity(fps) == pytest.approx(1 - t.mean())
    assert internal_diversity(fps, 2) == pytest.approx(1 - np.sqrt((t**2).mean(1)).mean())
    assert internal_diversity(fps, batch=1) == pytest.approx(internal_diversity(fps))


@needs_rdkit
def test_filters_flag_pains_charges_atoms_and_rings():
    from genmodels.chem import pains_catalog, passes_filters

    rhodanine = "S=C1SC(=Cc2ccccc2)C(=O)N1"  # a PAINS family (ene_rhod)
    assert pains_catalog().HasMatch(Chem.MolFromSmiles(rhodanine))
    assert not passes_filters(rhodanine)
    assert passes_filters("CC(=O)Nc1ccc(O)cc1")  # paracetamol
    assert not passes_filters("C[N+](C)(C)C")  # charged
    assert not passes_filters("CC[Si](C)C")  # an atom outside C N S O F Cl Br H
    assert not passes_filters("C1CCCCCCC1")  # an 8-membered ring
    assert not passes_filters("C(C")


@needs_rdkit
def test_sample_smiles_is_seeded_and_batched(tiny_model):
    from genmodels.chem import sample_smiles

    a = sample_smiles(tiny_model, 7, length=30, batch=3, random_state=0)
    assert len(a) == 7
    assert a == sample_smiles(tiny_model, 7, length=30, batch=3, random_state=0)
    plain = Transformer(n_layers=1, n_heads=2, d_model=16, block_size=8, epochs=1).fit(SMILES)
    with pytest.raises(ValueError, match="end_token=True"):
        sample_smiles(plain, 2)


# -- the command ------------------------------------------------------------------------


@needs_rdkit
def test_cli_fit_and_molecules_end_to_end(tmp_path, capsys):
    data = tmp_path / "train.smi"
    data.write_text("".join(s + "\n" for s in SMILES))
    model = tmp_path / "smiles.safetensors"
    settings = ["end_token=true", "n_layers=1", "n_heads=2", "d_model=16", "block_size=24"]
    settings += ["epochs=3", "batch_size=4", "warmup_steps=0"]
    args = ["fit", "gpt", str(data), "-o", str(model), "--set", "random_state=0"]
    for s in settings:
        args += ["--set", s]
    assert main(args) == 0
    out = tmp_path / "mols.smi"
    report = tmp_path / "report"
    code = main(
        ["molecules", str(model), "-n", "40", "-o", str(out), "--seed", "1", "--train", str(data)]
        + ["--report", str(report)]
    )
    printed = capsys.readouterr().out
    assert code == 0
    for key in ("valid", "unique@1000", "Novelty", "IntDiv", "IntDiv2", "Filters"):
        assert key in printed
    written = out.read_text().split()
    for s in written:  # every line a canonical SMILES of a valid molecule
        assert Chem.MolToSmiles(Chem.MolFromSmiles(s)) == s
    record = json.loads((report / "metrics.json").read_text())
    assert record["metrics"]["n_valid"] == len(written)
    assert record["metrics"]["n_samples"] == 40
    if written:
        assert (report / "molecules.png").read_bytes()[:4] == b"\x89PNG"
    assert "| valid |" in (report / "report.md").read_text()
    # the same seed writes the same molecules
    again = tmp_path / "again.smi"
    assert main(["molecules", str(model), "-n", "40", "-o", str(again), "--seed", "1"]) == 0
    assert again.read_text() == out.read_text()


def test_cli_molecules_without_rdkit(tiny_model, tmp_path, monkeypatch, capsys):
    path = tmp_path / "smiles.safetensors"
    tiny_model.save(path)
    real_import = builtins.__import__

    def no_rdkit(name, *args, **kwargs):
        if name == "rdkit" or name.startswith("rdkit."):
            raise ImportError("No module named 'rdkit'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_rdkit)
    assert main(["molecules", str(path), "-n", "3"]) == 1
    assert "pip install 'genmodels[chem]'" in capsys.readouterr().err
    from genmodels.chem import canonical_smiles

    with pytest.raises(ImportError, match=r"pip install 'genmodels\[chem\]'"):
        canonical_smiles(["CCO"])


def test_with_an_end_token_the_probabilities_of_all_strings_sum_to_one():
    """p(empty) + sum over strings x of 1..L characters of p(x, end) + the probability of
    every (L + 1)-character prefix = 1 (the chain rule with the end token)."""
    from itertools import product

    m = Transformer(
        n_layers=1,
        n_heads=2,
        d_model=16,
        block_size=4,
        end_token=True,
        epochs=3,
        batch_size=2,
        warmup_steps=0,
        random_state=0,
    )
    m.fit(["a", "ab", "bba", "babab"])  # block 4 < 6: the windows hop
    end, length = m.end_id_, 3
    total = math.exp(m._score_token_lists([np.array([end])])[0])  # the empty string
    for n in range(1, length + 1):
        texts = ["".join(t) for t in product("ab", repeat=n)]
        total += np.exp(m.score_samples(texts)).sum()
    prefixes = ["".join(t) for t in product("ab", repeat=length + 1)]
    total += np.exp(m._score_token_lists(m._encode_text(prefixes, fitting=False))).sum()
    assert total == pytest.approx(1.0, abs=1e-6)  # float32 logits


def test_a_transformer_checkpoints_and_resumes(tmp_path):
    """Tied input/output embeddings share one storage; the checkpoint must still write
    (it raised in safetensors before), and resuming to more epochs gives the run that
    went there at once."""
    params = dict(
        n_layers=1,
        n_heads=2,
        d_model=16,
        block_size=24,
        end_token=True,
        batch_size=4,
        warmup_steps=0,
        lr_schedule="constant",
        random_state=0,
    )
    straight = Transformer(epochs=2, **params).fit(SMILES)
    first = Transformer(epochs=1, checkpoint_dir=str(tmp_path), **params).fit(SMILES)
    assert (tmp_path / "checkpoint.safetensors").is_file()
    resumed = Transformer(epochs=2, checkpoint_dir=str(tmp_path), **params)
    resumed.fit(SMILES, resume=True)
    assert first.n_epochs_ == 1 and resumed.n_epochs_ == 2
    np.testing.assert_allclose(
        resumed.score_samples(SMILES), straight.score_samples(SMILES), rtol=1e-5
    )


@pytest.mark.slow
def test_moses_smiles_split_is_fixed_and_disjoint():
    from genmodels import datasets

    try:
        data = datasets.moses_smiles()
    except datasets.DatasetNotFound as exc:
        pytest.skip(str(exc))
    assert len(data["train"]) == 158467 and len(data["test"]) == 17607
    assert len(data["test_scaffolds"]) == 176225
    assert not set(data["train"]) & set(data["test"])
    assert data["train"][:5] == datasets.moses_smiles()["train"][:5]
