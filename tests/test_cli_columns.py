"""Columns on the command line (issue 17): a CSV with a header is matched to the model's
features by name, ``--columns``/``--drop`` choose the features of every verb that reads a
table, and the fit summary says which columns were used and how many cells were missing."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import genmodels
from genmodels.cli import main


def _write(path: Path, header: list[str], rows) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _one_line_error(rc: int, err: str) -> str:
    assert rc != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genmodels: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.RandomState(0)
    a = rng.normal(0.0, 1.0, 200)
    b = 3.0 * a + rng.normal(10.0, 0.5, 200)  # b differs from a in scale and mean
    label = np.where(a > 0, "up", "down")
    root = tmp_path_factory.mktemp("cols")
    table = _write(root / "t.csv", ["a", "b", "note"], zip(a, b, ["x"] * 200, strict=True))
    swapped = _write(root / "swapped.csv", ["b", "a"], zip(b, a, strict=True))
    plain = _write(root / "plain.csv", ["a", "b"], zip(a, b, strict=True))
    labelled = _write(root / "lab.csv", ["a", "b", "label"], zip(a, b, label, strict=True))
    labelled_swapped = _write(
        root / "lab_swapped.csv", ["label", "b", "a"], zip(label, b, a, strict=True)
    )
    model = root / "gmm.safetensors"
    argv = ["fit", "gmm", str(plain), "--set", "n_components=2", "--set", "random_state=0"]
    assert main([*argv, "-o", str(model), "-q"]) == 0
    nb = root / "nb.safetensors"
    assert main(["fit", "gnb", str(labelled), "--target", "label", "-o", str(nb), "-q"]) == 0
    return {
        "root": root,
        "table": table,
        "swapped": swapped,
        "plain": plain,
        "gmm": model,
        "nb": nb,
        "labelled": labelled,
        "labelled_swapped": labelled_swapped,
        "a": a,
        "b": b,
    }


def test_score_matches_columns_by_name_not_position(data, capsys):
    out1, out2 = data["root"] / "s1.csv", data["root"] / "s2.csv"
    assert main(["score", str(data["gmm"]), str(data["plain"]), "-o", str(out1)]) == 0
    assert main(["score", str(data["gmm"]), str(data["swapped"]), "-o", str(out2)]) == 0
    s1 = np.loadtxt(out1, delimiter=",", skiprows=1)
    s2 = np.loadtxt(out2, delimiter=",", skiprows=1)
    np.testing.assert_array_equal(s1, s2)  # the swapped file scores as the original
    model = genmodels.load(data["gmm"])
    np.testing.assert_allclose(s1, model.score_samples(np.c_[data["a"], data["b"]]))


def test_classifier_accuracy_is_the_same_with_reordered_columns(data, capsys):
    main(["predict", str(data["nb"]), str(data["labelled"]), "--target", "label"])
    first = capsys.readouterr().out
    main(["predict", str(data["nb"]), str(data["labelled_swapped"]), "--target", "label"])
    second = capsys.readouterr().out
    acc = [line for line in first.splitlines() if line.startswith("accuracy")]
    assert acc and acc == [line for line in second.splitlines() if line.startswith("accuracy")]
    assert float(acc[0].split()[-1]) > 0.9


def test_a_missing_column_is_an_error_naming_it(data, tmp_path, capsys):
    only_b = _write(tmp_path / "b.csv", ["b"], zip(data["b"], strict=True))
    line = _one_line_error(main(["score", str(data["gmm"]), str(only_b)]), capsys.readouterr().err)
    assert "no column 'a'" in line and "GaussianMixture" in line


def test_an_extra_column_is_an_error_naming_it_and_drop_reads_past_it(data, capsys):
    line = _one_line_error(
        main(["score", str(data["gmm"]), str(data["table"])]), capsys.readouterr().err
    )
    assert "'note'" in line and "--drop note" in line  # a text column, never parsed
    assert main(["score", str(data["gmm"]), str(data["table"]), "--drop", "note"]) == 0


def test_fit_with_columns_and_drop_uses_only_those_and_says_so(data, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    argv = ["fit", "gmm", str(data["table"]), "--columns", "b", "-o", str(out), "-q"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert list(genmodels.load(out).feature_names_in_) == ["b"]
    assert any(line.split()[:2] == ["features", "b"] for line in text.splitlines())
    assert main(["fit", "gmm", str(data["table"]), "--drop", "note", "-o", str(out), "-q"]) == 0
    assert list(genmodels.load(out).feature_names_in_) == ["a", "b"]
    line = _one_line_error(
        main(["fit", "gmm", str(data["table"]), "--columns", "c", "-q"]), capsys.readouterr().err
    )
    assert "no feature column 'c'" in line and "a, b, note" in line


def test_fit_summary_counts_missing_cells(tmp_path, capsys):
    path = _write(tmp_path / "m.csv", ["a", "b"], [[1, 2], [2, ""], [3, 4], ["", 5], [4, 4]])
    assert main(["fit", "gmm", str(path), "-o", str(tmp_path / "m.safetensors"), "-q"]) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.startswith("missing cells")]
    assert rows and rows[0].split()[2:] == ["2", "of", "10", "(20.0%)"]


def test_sequence_csv_drops_a_time_column_it_should_not_learn(tmp_path, capsys):
    rng = np.random.RandomState(1)
    rows = [
        [f"d{d}", minute, rng.normal(), abs(rng.normal())] for d in range(4) for minute in range(30)
    ]
    path = _write(tmp_path / "ticks.csv", ["day", "minute", "ret", "vol"], rows)
    out = tmp_path / "hmm.safetensors"
    argv = ["fit", "ghmm", str(path), "--sequence-column", "day", "--set", "n_components=2"]
    assert main([*argv, "--drop", "minute", "-o", str(out), "-q"]) == 0
    assert "ret, vol" in capsys.readouterr().out
    model = genmodels.load(out)
    assert list(model.feature_names_in_) == ["ret", "vol"] and model.means_.shape == (2, 2)
    # decoding the same file needs the same choice; the model names what is extra
    line = _one_line_error(
        main(
            [
                "decode",
                str(out),
                str(path),
                "--sequence-column",
                "day",
                "-o",
                str(tmp_path / "s.csv"),
            ]
        ),
        capsys.readouterr().err,
    )
    assert "'minute'" in line
    argv = ["decode", str(out), str(path), "--sequence-column", "day", "--drop", "minute"]
    assert main([*argv, "-o", str(tmp_path / "s.csv")]) == 0
