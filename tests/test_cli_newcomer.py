"""What a newcomer's first hour found (issue 17) beyond columns: summaries that name how
a likelihood was made, and the small things."""

from __future__ import annotations

import re

import numpy as np
import pytest

import genmodels
from genmodels.cli import main


def test_rbm_summary_and_info_name_the_log_z_method(tmp_path, capsys):
    X = (np.random.RandomState(0).rand(80, 24) < 0.3).astype(float)
    data = tmp_path / "b.npy"
    np.save(data, X)
    small, big = tmp_path / "small.safetensors", tmp_path / "big.safetensors"
    base = ["fit", "rbm", str(data), "--set", "n_iter=1", "--set", "random_state=0", "-q"]
    assert main([*base, "--set", "n_components=8", "-o", str(small)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"^train log-likelihood ", text, re.M)  # exact: not "estimated"
    assert re.search(r"^log Z +\S+, exact \(enumerated\)$", text, re.M)
    ais = ["--set", "n_components=22", "--set", "ais_runs=8", "--set", "ais_betas=50"]
    assert main([*base, *ais, "-o", str(big)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"^train estimated log-likelihood ", text, re.M)
    lz = genmodels.load(big).scoring_log_partition(compute=False)
    assert lz is not None and lz.method == "ais"
    assert f"± {lz.std:.6g} by AIS (8 runs x 50 temperatures" in text
    assert main(["info", str(small)]) == 0
    assert "log-likelihood (exact); log Z:" in capsys.readouterr().out
    assert main(["info", str(big)]) == 0
    assert "(estimate); log Z:" in capsys.readouterr().out and "by AIS" in text


def test_models_lists_an_alias_for_every_model(capsys):
    assert main(["models"]) == 0
    rows = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["VAE"] == "vae" and rows["MultVAE"] == "multvae"
    assert "-" not in rows.values()  # every model has a short name to type
    assert "gaussianmixture" not in capsys.readouterr().out


def test_an_unknown_model_suggests_the_closest(capsys):
    rc = main(["fit", "gmx", "builtin:iris"])
    line = capsys.readouterr().err.strip()
    assert rc == 1 and "unknown model 'gmx' (did you mean 'gmm'?)" in line
    assert "gaussianmixture," not in line and "vae" in line


def test_vae_image_grid_shows_decoder_means_and_draws_on_request(tmp_path, monkeypatch):
    from sklearn.datasets import load_digits

    import genmodels.figures

    X = (load_digits().data[:300] / 16 > 0.5).astype(float)
    data = tmp_path / "d.npy"
    np.save(data, X)
    path = tmp_path / "v.safetensors"
    sets = ["latent_dim=2", "hidden_dims=32", "epochs=3", "random_state=0", "n_importance=2"]
    argv = ["fit", "vae", str(data), *[a for s in sets for a in ("--set", s)], "-q"]
    assert main([*argv, "-o", str(path)]) == 0
    drawn = []
    real = genmodels.figures.save_image_grid

    def spy(images, out, **kw):
        drawn.append(np.asarray(images))
        return real(images, out, **kw)

    monkeypatch.setattr(genmodels.figures, "save_image_grid", spy)
    png = str(tmp_path / "s.png")
    assert main(["sample", str(path), "-n", "16", "-o", png, "--seed", "0"]) == 0
    assert main(["sample", str(path), "-n", "16", "-o", png, "--seed", "0", "--draws"]) == 0
    model = genmodels.load(path)
    _, Z = model.sample(16, random_state=0, return_latent=True)
    np.testing.assert_allclose(drawn[0].reshape(16, -1), model.decode(Z))  # E[x | z]
    assert len(np.unique(drawn[0])) > 100
    assert set(np.unique(drawn[1])) <= {0.0, 1.0}  # --draws: the 0/1 pixels themselves
    csv = tmp_path / "x.csv"
    assert main(["sample", str(path), "-o", str(csv), "--seed", "0"]) == 0  # tables: draws
    assert set(np.unique(np.loadtxt(csv, delimiter=",", skiprows=1))) <= {0.0, 1.0}


def test_image_grids_draw_dark_ink_on_light_paper(tmp_path):
    import matplotlib.image as mpimg

    from genmodels.figures import save_image_grid

    images = np.zeros((2, 8, 8))
    images[1] = 1.0  # all ink
    path = save_image_grid(images, tmp_path / "g.png", ncols=2, vmin=0.0, vmax=1.0)
    img = mpimg.imread(path)[..., :3].mean(-1)
    h, w = img.shape
    left, right = img[h // 2, w // 4], img[h // 2, 3 * w // 4]
    assert left > 0.9 and right < 0.1  # zeros light, ones dark, as in interpolation strips


def test_vae_summary_reports_its_terms_and_warns_on_posterior_collapse(tmp_path, capsys):
    from sklearn.datasets import load_digits

    X = (load_digits().data[:400] / 16 > 0.5).astype(float)
    data = tmp_path / "d.npy"
    np.save(data, X)
    base = ["fit", "vae", str(data), "--set", "latent_dim=4", "--set", "hidden_dims=32"]
    base += ["--set", "random_state=0", "--set", "n_importance=2", "-q"]
    # a heavy KL weight and one epoch: every code collapses onto the prior
    argv = [*base, "--set", "epochs=1", "--set", "beta=50", "-o", str(tmp_path / "a.st")]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert re.search(r"^active latent dimensions +0 of 4", out, re.M)
    assert re.search(r"^reconstruction -log p\(x\|z\) \(last epoch\) +\d", out, re.M)
    assert re.search(r"^KL to the prior \(last epoch\) +\S+", out, re.M)
    assert "warning" in err and "no latent dimension of VAE is active" in err
    argv = [*base, "--set", "epochs=30", "-o", str(tmp_path / "b.st")]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    active = re.search(r"^active latent dimensions +(\d) of 4", out, re.M)
    assert active and int(active.group(1)) >= 1 and "no latent dimension" not in err


def _blob_csv(path, seed: int, n: int = 100):
    rng = np.random.RandomState(seed)
    centres = np.array([[-6.0, 0.0], [0.0, 6.0], [6.0, 0.0]])
    X = np.vstack([c + rng.randn(n, 2) for c in centres])
    from genmodels.cli import tables

    tables.save_table(path, X, ["a", "b"])
    return X


def test_fit_sweeps_a_range_and_keeps_the_best_by_bic(tmp_path, capsys):
    X = _blob_csv(tmp_path / "t.csv", 0)
    out = tmp_path / "g.safetensors"
    argv = ["fit", "gmm", str(tmp_path / "t.csv"), "--set", "n_components=1..5"]
    assert main([*argv, "--set", "random_state=0", "--select", "bic", "-o", str(out), "-q"]) == 0
    text = capsys.readouterr().out
    bics = [
        genmodels.GaussianMixture(n_components=k, random_state=0).fit(X).bic(X) for k in range(1, 6)
    ]
    assert genmodels.load(out).n_components == int(np.argmin(bics)) + 1 == 3
    for k, b in enumerate(bics, start=1):  # the table shows every candidate's BIC
        assert re.search(rf"^{k} +{re.escape(f'{b:.6g}')}", text, re.M)
    assert (tmp_path / "g.selection.png").read_bytes()[:4] == b"\x89PNG"


def test_fit_sweep_by_held_out_log_likelihood(tmp_path, capsys):
    _blob_csv(tmp_path / "t.csv", 0)
    Xv = _blob_csv(tmp_path / "v.csv", 1)
    out = tmp_path / "g.safetensors"
    argv = ["fit", "gmm", str(tmp_path / "t.csv"), "--set", "n_components=1..4"]
    argv += ["--select", "val", "--validation", str(tmp_path / "v.csv"), "-o", str(out), "-q"]
    assert main([*argv, "--set", "random_state=0"]) == 0
    model = genmodels.load(out)
    assert model.n_components >= 3  # three clusters: fewer components score worse held out
    assert f"{model.score(Xv):.6g}" in capsys.readouterr().out


def test_fit_sweeps_an_hmm_and_refuses_what_cannot_be_chosen(tmp_path, capsys):
    rng = np.random.RandomState(0)
    states = np.repeat(rng.randint(0, 2, 40), 10)
    frames = np.where(states[:, None] == 0, -3.0, 3.0) + rng.randn(400, 1)
    np.savez(tmp_path / "s.npz", X=frames, lengths=[100] * 4)
    out = tmp_path / "h.safetensors"
    argv = ["fit", "ghmm", str(tmp_path / "s.npz"), "--set", "n_components=1..3"]
    assert main([*argv, "--set", "random_state=0", "-o", str(out), "-q"]) == 0
    assert genmodels.load(out).n_components == 2
    assert "chosen by BIC" in capsys.readouterr().out
    rc = main(["fit", "gnb", "builtin:iris", "--set", "var_smoothing=1..3", "-q"])
    assert rc == 1 and "--select val --validation FILE" in capsys.readouterr().err
    rc = main(["fit", "gmm", "builtin:iris", "--select", "bic", "-q"])
    assert rc == 1 and "A..B" in capsys.readouterr().err


def test_help_imports_neither_torch_nor_scikit_learn():
    """``genmodels --help`` (and every verb's) loads only what a parser needs: the
    families, torch and scikit-learn are imported when a verb runs."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from genmodels.cli import main\n"
        "for argv in (['--help'], ['fit', '--help'], ['score', '--help'], ['models']):\n"
        "    if argv == ['models']:\n"
        "        heavy = [m for m in ('torch', 'sklearn') if m in sys.modules]\n"
        "        print('HEAVY', heavy)\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('AFTER', 'torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out  # after three --help: nothing heavy
    assert "AFTER True" in out  # `models` lists the families, which need torch


def test_the_package_is_lazy_but_complete():
    import subprocess
    import sys

    code = (
        "import sys, genmodels\n"
        "print('torch' in sys.modules)\n"
        "print(sorted(genmodels.registered_models()) == sorted(set(genmodels.__all__) & "
        "set(genmodels.registered_models())))\n"
        "print(genmodels.GaussianMixture.__module__, 'GaussianMixture' in dir(genmodels))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True", "genmodels.mixture.gaussian_mixture", "True"]


def test_a_sparse_npz_of_counts_takes_labels_from_a_file(tmp_path, capsys):
    import scipy.sparse as sp

    rng = np.random.RandomState(0)
    y = np.array(["spam", "ham"])[rng.randint(0, 2, 200)]
    rate = np.where(
        y[:, None] == "spam", np.r_[[2.0] * 10, [0.1] * 40], np.r_[[0.1] * 10, [0.5] * 40]
    )
    X = sp.csr_matrix(rng.poisson(rate).astype(float))
    sp.save_npz(tmp_path / "counts.npz", X)
    (tmp_path / "labels.txt").write_text("\n".join(y) + "\n")
    np.save(tmp_path / "labels.npy", y.astype(str))
    out = tmp_path / "nb.safetensors"
    argv = ["fit", "mnb", str(tmp_path / "counts.npz"), "--labels", str(tmp_path / "labels.txt")]
    assert main([*argv, "-o", str(out), "-q"]) == 0
    model = genmodels.load(out)
    ref = genmodels.MultinomialNB().fit(X, y)  # the same fit in Python, on the CSR matrix
    np.testing.assert_allclose(model.feature_log_prob_, ref.feature_log_prob_)
    assert list(model.classes_) == ["ham", "spam"]
    capsys.readouterr()
    argv = [
        "predict",
        str(out),
        str(tmp_path / "counts.npz"),
        "--labels",
        str(tmp_path / "labels.npy"),
    ]
    assert main(argv) == 0
    acc = float(re.search(r"^accuracy +(\S+)", capsys.readouterr().out, re.M).group(1))
    assert acc == np.mean(ref.predict(X) == y)
    (tmp_path / "short.txt").write_text("spam\nham\n")
    argv = ["fit", "mnb", str(tmp_path / "counts.npz"), "--labels", str(tmp_path / "short.txt")]
    assert main([*argv, "-q"]) == 1
    assert "2 labels for 200 rows" in capsys.readouterr().err


def test_resume_at_or_past_the_requested_epochs_says_so(tmp_path, capsys):
    from sklearn.datasets import load_digits

    X = (load_digits().data[:200] / 16 > 0.5).astype(float)
    data = tmp_path / "d.npy"
    np.save(data, X)
    ckpt = tmp_path / "ckpt"
    sets = ["latent_dim=2", "hidden_dims=16", "random_state=0", "n_importance=2"]
    base = ["fit", "vae", str(data), *[a for s in sets for a in ("--set", s)], "-q"]
    base += ["--checkpoint-dir", str(ckpt), "-o", str(tmp_path / "v.st")]
    assert main([*base, "--set", "epochs=3"]) == 0
    capsys.readouterr()
    assert main([*base, "--set", "epochs=2", "--resume"]) == 0
    err = capsys.readouterr().err
    assert "already at epoch 3 and epochs=2: nothing to train" in err and "--set epochs" in err
    assert main([*base, "--set", "epochs=4", "--resume"]) == 0
    assert "nothing to train" not in capsys.readouterr().err
    rbm = genmodels.BernoulliRBM(n_components=4, n_iter=2, random_state=0)
    rbm.set_params(checkpoint_dir=str(tmp_path / "r")).fit(X)
    with pytest.warns(
        UserWarning,
        match="BernoulliRBM: the checkpoint .* already at epoch 2 and n_iter=2: .* raise n_iter",
    ):
        rbm.fit(X, resume=True)
