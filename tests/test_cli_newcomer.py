"""What a newcomer's first hour found (issue 17) beyond columns: summaries that name how
a likelihood was made, and the small things."""

from __future__ import annotations

import re

import numpy as np

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
