"""The README runs as written (issue 17).

Every fenced ``python`` and ``bash`` block of README.md is executed here, in a fresh
temporary folder holding the small files a reader of the README is assumed to have
(:func:`write_user_files`: ``data.csv`` with empty cells, ``ticks.csv`` of sequences,
...). A Python block runs in a namespace of its own, so it must import and build what it
uses; a shell block runs line by line (``\\`` continues a line) and every line must exit 0.
``genmodels`` lines run through :func:`genmodels.cli.main`, the function the console script
calls, in this process (a new process per line would cost ~3 s of imports each); the slow
test runs them through the installed console script itself. Lines that are not
``genmodels`` commands are refused unless :data:`SKIPPED` lists them with the reason.
"""

from __future__ import annotations

import csv
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from genmodels.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"

#: Shell lines of the README that are not run, and why.
SKIPPED = {
    "make demo": "creates .venv and installs the package; these tests already run inside it",
    "make test": "creates .venv and runs the whole test suite, this file included",
    "genmodels demo": (
        "fits every family on the full built-in data (minutes); the same report on less data "
        "(`genmodels demo --quick`) is tested in test_demo.py"
    ),
}


@dataclass(frozen=True)
class Block:
    lang: str  # "python" or "bash"
    line: int  # line of README.md where the code starts
    code: str

    @property
    def id(self) -> str:
        return f"{self.lang}-line{self.line}"


def readme_blocks(text: str | None = None) -> list[Block]:
    """The fenced ``python`` and ``bash`` blocks of the README, in order."""
    text = README.read_text(encoding="utf-8") if text is None else text
    blocks = []
    for m in re.finditer(r"^```(python|bash)[ \t]*\n(.*?)^```[ \t]*$", text, re.M | re.S):
        line = text.count("\n", 0, m.start(2)) + 1
        blocks.append(Block(m.group(1), line, m.group(2)))
    return blocks


def shell_lines(block: Block) -> list[tuple[int, str]]:
    """``(README line, command)`` for each command of a shell block: ``\\`` at the end of
    a line continues it; blank lines and comment-only lines are left out."""
    commands: list[tuple[int, str]] = []
    pending, start = "", 0
    for i, raw in enumerate(block.code.splitlines()):
        if not pending:
            start = block.line + i
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        command, pending = (pending + stripped).strip(), ""
        if command and not command.startswith("#"):
            commands.append((start, command))
    return commands


def argv_of(command: str) -> list[str]:
    return shlex.split(command, comments=True)


# -- the reader's files -------------------------------------------------------------------


def write_user_files(folder: Path) -> None:
    """Small versions of the files the README's examples read."""
    rng = np.random.default_rng(0)

    # data.csv: three clusters in three columns, with empty cells and an NA.
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 4.0, 0.0], [0.0, 4.0, 4.0]])
    X = centres[rng.integers(0, 3, 150)] + rng.normal(size=(150, 3))
    cells = [[f"{v:.4f}" for v in row] for row in X]
    for r, c in [(3, 1), (10, 0), (40, 2), (77, 1)]:
        cells[r][c] = ""
    cells[90][2] = "NA"
    _write_csv(folder / "data.csv", ["height", "width", "depth"], cells)

    # seqs.npz and ticks.csv: sequences whose regime (mean) switches rarely.
    def regimes(n_frames: int, d: int) -> np.ndarray:
        means = np.array([-3.0, 0.0, 3.0])
        z = np.empty(n_frames, dtype=int)
        z[0] = rng.integers(3)
        for t in range(1, n_frames):
            z[t] = z[t - 1] if rng.random() < 0.95 else rng.integers(3)
        return means[z][:, None] + rng.normal(size=(n_frames, d))

    lengths = rng.integers(40, 80, size=8)
    np.savez(folder / "seqs.npz", X=regimes(int(lengths.sum()), 2), lengths=lengths)
    rows = []
    for day in range(5):
        for frame in regimes(60, 2):
            rows.append([f"2024-01-0{day + 2}", f"{frame[0]:.5f}", f"{abs(frame[1]):.5f}"])
    _write_csv(folder / "ticks.csv", ["day", "ret", "vol"], rows)

    # train.csv / test.csv: word counts with a text label column.
    words = ["win", "cash", "free", "lunch", "noon", "meeting"]
    rates = {"spam": [3.0, 2.0, 2.0, 0.2, 0.2, 0.2], "ham": [0.2, 0.2, 0.3, 2.0, 1.5, 2.0]}
    for name, n in (("train.csv", 80), ("test.csv", 40)):
        labels = rng.choice(["spam", "ham"], size=n)
        rows = [[*map(str, rng.poisson(rates[lab])), lab] for lab in labels]
        _write_csv(folder / name, [*words, "label"], rows)

    # binary.csv: 0/1 rows near one of two patterns.
    patterns = rng.random((2, 12)) < 0.5
    B = patterns[rng.integers(0, 2, 100)] ^ (rng.random((100, 12)) < 0.1)
    _write_csv(folder / "binary.csv", [f"b{j}" for j in range(12)], B.astype(int).astype(str))

    # lines.txt: a small text for the character transformer.
    verse = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind\n"
    (folder / "lines.txt").write_text(verse * 20, encoding="utf-8")

    # mols.smi: a few molecules, one SMILES a line, for the SMILES language model.
    mols = ["CCO", "c1ccccc1", "CC(=O)O", "CCN", "c1ccncc1", "CC(=O)Nc1ccc(O)cc1", "CCOC"]
    (folder / "mols.smi").write_text("".join(m + "\n" for m in mols) * 4, encoding="utf-8")

    # counts.npz (scipy.sparse.save_npz) and labels.txt: sparse word counts and their labels.
    import scipy.sparse as sp

    spam = rng.random(120) < 0.5
    counts = rng.poisson(np.where(spam[:, None], [3.0, 2.0, 0.2, 0.2], [0.2, 0.3, 2.0, 1.5]))
    sp.save_npz(folder / "counts.npz", sp.csr_matrix(counts.astype(float)))
    (folder / "labels.txt").write_text("\n".join(np.where(spam, "spam", "ham")) + "\n")

    # ratings.csv: ratings coded 0..4, an empty cell where a user did not rate the item.
    taste = rng.integers(0, 5, size=(60, 1))
    R = np.clip(taste + rng.integers(-1, 2, size=(60, 8)), 0, 4).astype(str)
    R[rng.random(R.shape) < 0.3] = ""
    _write_csv(folder / "ratings.csv", [f"item{j}" for j in range(8)], R)

    # 0/1 digits (8 x 8 pixels): training, validation and test rows, labelled rows, and
    # single rows a.csv / b.csv.
    from sklearn.datasets import load_digits

    digits = load_digits()
    X01 = (digits.data > 7).astype(np.float64)
    np.save(folder / "digits01.npy", X01[:300])
    np.save(folder / "val01.npy", X01[300:400])
    np.save(folder / "test01.npy", X01[400:500])
    pixels = [f"p{j}" for j in range(64)]
    labelled = [
        [*(f"{v:g}" for v in row), str(t)]
        for row, t in zip(X01[:300], digits.target[:300], strict=True)
    ]
    _write_csv(folder / "labelled.csv", [*pixels, "label"], labelled)
    for name, row in (("a.csv", X01[0]), ("b.csv", X01[7])):
        _write_csv(folder / name, pixels, [[f"{v:g}" for v in row]])

    # small.png and superres_x4.safetensors: a smooth RGB picture and a tiny x4 model
    # (trained for two steps: the README shows the command, not the model's quality).
    from PIL import Image

    from genmodels.superres import SuperResolution

    yy, xx = np.mgrid[0:40, 0:36] / 40.0
    picture = np.stack([yy, xx, (yy + xx) / 2], axis=-1)
    Image.fromarray((picture * 255).astype(np.uint8)).save(folder / "small.png")
    tiny = SuperResolution(n_blocks=1, channels=4, patch_size=4, batch_size=2, epochs=1)
    tiny.set_params(steps_per_epoch=2).fit(picture).save(folder / "superres_x4.safetensors")

    # faces/ and faces-val/: folders of small colour PNGs for the image-folder lines
    rng = np.random.default_rng(0)
    for name, n in (("faces", 8), ("faces-val", 4)):
        (folder / name).mkdir()
        for i in range(n):
            pixels = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / name / f"{i}.png")
    # adult.csv: a small made-up table in UCI Adult's style ('?' for missing cells).
    n = 200
    work = rng.choice(["Private", "Self-emp", "State-gov", "?"], n, p=[0.6, 0.2, 0.15, 0.05])
    edu = rng.integers(5, 16, n)
    rows = [
        [str(a), w, str(e), str(h), ">50K" if e + rng.normal(0, 3) > 13 else "<=50K"]
        for a, w, e, h in zip(
            rng.integers(17, 80, n), work, edu, rng.integers(10, 70, n), strict=True
        )
    ]
    _write_csv(
        folder / "adult.csv",
        ["age", "workclass", "education-num", "hours-per-week", "income"],
        rows,
    )


def _write_csv(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="module")
def user_files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("user_files")
    write_user_files(folder)
    return folder


@pytest.fixture
def workdir(tmp_path, user_files, monkeypatch) -> Path:
    """A fresh folder holding the reader's files, made the working directory."""
    for f in user_files.iterdir():
        if f.is_dir():
            shutil.copytree(f, tmp_path / f.name)
        else:
            shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


# -- the blocks ---------------------------------------------------------------------------

BLOCKS = readme_blocks()
PYTHON = [b for b in BLOCKS if b.lang == "python"]
SHELL = [b for b in BLOCKS if b.lang == "bash"]


def test_the_readme_has_python_and_shell_blocks():
    assert len(PYTHON) >= 5 and len(SHELL) >= 4


def test_every_skipped_line_is_in_the_readme_and_nothing_else_is_skipped_silently():
    commands = {command for b in SHELL for _, command in shell_lines(b)}
    plain = {" ".join(argv_of(c)) for c in commands}
    assert set(SKIPPED) <= plain, "SKIPPED names lines no longer in the README"
    for command in plain - set(SKIPPED):
        assert argv_of(command)[0] == "genmodels", f"no way to run {command!r}; see SKIPPED"


@pytest.mark.parametrize("block", PYTHON, ids=[b.id for b in PYTHON])
def test_python_block_runs(block, workdir):
    code = compile(block.code, f"README.md, block at line {block.line}", "exec")
    exec(code, {"__name__": "__readme__"})


@pytest.mark.parametrize("block", SHELL, ids=[b.id for b in SHELL])
def test_shell_block_runs(block, workdir, capsys):
    for line, command in shell_lines(block):
        argv = argv_of(command)
        if " ".join(argv) in SKIPPED:
            continue
        rc = main(argv[1:])
        out = capsys.readouterr()
        assert rc == 0, f"README.md line {line}: `{command}` exited {rc}:\n{out.err}"


@pytest.mark.slow
@pytest.mark.parametrize("block", SHELL, ids=[b.id for b in SHELL])
def test_shell_block_runs_through_the_console_script(block, workdir):
    script = Path(sys.executable).with_name("genmodels")
    assert script.is_file(), f"no console script beside {sys.executable}"
    for line, command in shell_lines(block):
        argv = argv_of(command)
        if " ".join(argv) in SKIPPED:
            continue
        done = subprocess.run([str(script), *argv[1:]], capture_output=True, text=True)
        assert done.returncode == 0, (
            f"README.md line {line}: `{command}` exited {done.returncode}:\n{done.stderr}"
        )


def test_the_console_script_answers_help():
    script = Path(sys.executable).with_name("genmodels")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "usage: genmodels" in done.stdout


def test_the_capabilities_shown_are_the_real_ones():
    import genmodels

    block = next(b for b in PYTHON if "GaussianMixture.capabilities\n#" in b.code)
    shown = block.code.split("GaussianMixture.capabilities\n", 1)[1]
    shown = " ".join(line.lstrip("# ").strip() for line in shown.splitlines())
    assert shown == repr(genmodels.GaussianMixture.capabilities)


# -- what "Loading data in Python" says ---------------------------------------------------


def test_load_table_reads_the_missing_markers_np_loadtxt_refuses(tmp_path):
    from genmodels.cli.tables import load_table

    path = tmp_path / "m.csv"
    path.write_text("a,b\n1,\n,2\nNA,3\nnan,N/A\nNULL,none\n5,6\n", encoding="utf-8")
    with pytest.raises(ValueError):
        np.loadtxt(path, delimiter=",", skiprows=1)  # what the README used to show
    X, columns = load_table(path)
    assert columns == ["a", "b"]
    expected = [[1, np.nan], [np.nan, 2], [np.nan, 3], [np.nan, np.nan], [np.nan, np.nan], [5, 6]]
    np.testing.assert_array_equal(X, expected)
    path.write_text("a,b\n1,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"column 'b', data row 1"):
        load_table(path)


def test_load_table_numpy_files_as_documented(tmp_path):
    import scipy.sparse as sp

    from genmodels.cli.tables import load_table

    np.save(tmp_path / "v.npy", np.arange(3.0))
    np.save(tmp_path / "img.npy", np.zeros((4, 2, 3)))
    sp.save_npz(tmp_path / "s.npz", sp.csr_matrix(np.eye(3)))
    assert load_table(tmp_path / "v.npy")[0].shape == (3, 1)  # a 1-D array: one column
    assert load_table(tmp_path / "img.npy")[0].shape == (4, 6)  # images flattened
    X, columns = load_table(tmp_path / "s.npz")
    assert sp.issparse(X) and X.format == "csr" and columns is None


def test_load_data_and_load_sequences_on_the_readme_files(user_files):
    from genmodels.cli.sequences import load_sequences
    from genmodels.cli.tables import load_data

    X, columns, y = load_data(user_files / "train.csv", target="label")
    assert columns == ["win", "cash", "free", "lunch", "noon", "meeting"]
    assert set(y) == {"spam", "ham"} and len(y) == len(X) == 80
    X, columns, y = load_data("builtin:digits")
    assert X.shape == (1797, 64) and y.shape == (1797,)
    X, columns, y = load_data(user_files / "ticks.csv", exclude=["day"])
    assert columns == ["ret", "vol"] and y is None and X.shape == (300, 2)
    seq = load_sequences(user_files / "ticks.csv", sequence_column="day")
    assert seq.columns == ["ret", "vol"] and seq.frames.shape == (300, 2)
    assert seq.lengths.tolist() == [60] * 5
    assert seq.ids.tolist() == [f"2024-01-0{d}" for d in range(2, 7)]


# -- "Coming from hmmlearn": each difference, against hmmlearn itself ----------------------


@pytest.fixture(scope="module")
def hmm_pair():
    """Our GaussianHMM with the parameters of an hmmlearn fit, the fit, and its data."""
    import warnings

    hmmlearn = pytest.importorskip("hmmlearn.hmm")
    import genmodels

    rng = np.random.RandomState(0)
    lengths = [50, 80, 30, 120]
    X = rng.randn(sum(lengths), 2) + np.repeat(rng.randn(len(lengths), 2) * 3, lengths, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = hmmlearn.GaussianHMM(3, covariance_type="diag", random_state=0, n_iter=5)
        ref.fit(X, lengths)
    ours = genmodels.GaussianHMM(3, covariance_type="diag")
    ours.startprob_, ours.transmat_ = ref.startprob_, ref.transmat_
    ours.means_, ours.covars_ = ref.means_, ref._covars_  # diag: (K, D) in both
    return ours, ref, X, lengths


def test_score_is_the_mean_per_sequence_hmmlearns_the_sum(hmm_pair):
    ours, ref, X, lengths = hmm_pair
    per_sequence = ours.score_samples(X, lengths)
    assert ours.score(X, lengths) == pytest.approx(per_sequence.mean(), rel=1e-12)
    assert ref.score(X, lengths) == pytest.approx(per_sequence.sum(), rel=1e-10)
    assert ours.score(X, lengths) == pytest.approx(ref.score(X, lengths) / len(lengths), rel=1e-10)
    one = X[: lengths[0]]
    assert ours.score(one) == pytest.approx(ref.score(one), rel=1e-10)  # one sequence: agree


def test_score_samples_gives_one_value_per_sequence_hmmlearn_a_pair(hmm_pair):
    ours, ref, X, lengths = hmm_pair
    values = ours.score_samples(X, lengths)
    assert isinstance(values, np.ndarray) and values.shape == (len(lengths),)
    logprob, posteriors = ref.score_samples(X, lengths)
    assert logprob == pytest.approx(values.sum(), rel=1e-10)
    assert posteriors.shape == (len(X), 3)
    np.testing.assert_allclose(ours.predict_proba(X, lengths), posteriors, atol=1e-8)
    logp, states = ours.decode(X, lengths)  # decode: as hmmlearn's
    ref_logp, ref_states = ref.decode(X, lengths)
    assert logp == pytest.approx(ref_logp, rel=1e-10)
    np.testing.assert_array_equal(states, ref_states)
    np.testing.assert_array_equal(ours.predict(X, lengths), ref.predict(X, lengths))


def test_sample_n_gives_n_sequences_hmmlearn_n_frames(hmm_pair):
    ours, ref, X, lengths = hmm_pair
    X_ref, Z_ref = ref.sample(50, random_state=0)  # one sequence of 50 frames
    assert X_ref.shape == (50, 2) and Z_ref.shape == (50,)
    seqs = ours.sample(50, random_state=0)  # fifty sequences of the default 100 frames
    assert isinstance(seqs, np.ndarray) and seqs.shape == (50, 100, 2)
    assert ours.sample(5, length=200, random_state=0).shape == (5, 200, 2)
    Xs, Zs = ours.sample(1, length=50, random_state=0, return_latent=True)
    assert Xs.shape == (1, 50, 2) and Zs.shape == (1, 50)
    assert set(np.unique(Zs[0])) <= {0, 1, 2}


def test_learn_and_init_params_by_name_fit_as_hmmlearns_letters(hmm_pair):
    import warnings

    import genmodels

    hmmlearn = pytest.importorskip("hmmlearn.hmm")
    start, ref, X, lengths = hmm_pair
    ref2 = hmmlearn.GaussianHMM(3, "diag", params="tm", init_params="", n_iter=4, tol=0)
    ours = genmodels.GaussianHMM(
        3, covariance_type="diag", learn=("transmat", "means"), init_params=(), n_iter=4, tol=0.0
    )
    for model in (ref2, ours):
        model.startprob_, model.transmat_ = start.startprob_.copy(), start.transmat_.copy()
        model.means_, model.covars_ = start.means_.copy(), start.covars_.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both: "did not converge" in 4 iterations, tol 0
        ref2.fit(X, lengths)
        ours.fit(X, lengths)
    np.testing.assert_allclose(ours.transmat_, ref2.transmat_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.means_, ref2.means_, rtol=1e-12, atol=1e-12)
    assert not np.allclose(ours.means_, start.means_)  # learned
    np.testing.assert_array_equal(ours.covars_, start.covars_)  # neither initialised nor learned
    np.testing.assert_array_equal(ours.startprob_, start.startprob_)
