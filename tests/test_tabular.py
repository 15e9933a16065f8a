"""Synthetic tables (genmodels.tabular): column kinds, the table encoder's round trip, the
synthesizers' samples (types, bounds, missing rates, frequencies, modes), seeds, files,
errors, the mixed likelihood, and ``genmodels synth`` end to end. Small made-up frames."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy import stats

pd = pytest.importorskip("pandas")

from genmodels.cli import main  # noqa: E402
from genmodels.exceptions import ModelFileError, NotFittedError  # noqa: E402
from genmodels.tabular import Synthesizer, TableEncoder, column_kinds  # noqa: E402
from genmodels.vae._likelihoods import MixedLikelihood  # noqa: E402

N = 400


def make_frame(n: int = N, seed: int = 0):
    rng = np.random.default_rng(seed)
    bimodal = np.where(rng.random(n) < 0.4, rng.normal(-5, 0.5, n), rng.normal(5, 1.0, n))
    return pd.DataFrame(
        {
            "x": bimodal,
            "count": rng.integers(10, 60, n),
            "colour": rng.choice(["red", "green", "blue"], n, p=[0.6, 0.3, 0.1]),
            "flag": rng.random(n) < 0.3,
            "day": pd.date_range("2021-03-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "stamp": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 10**7, n), "s"),
            "gap": np.where(rng.random(n) < 0.25, np.nan, rng.normal(2, 1, n)),
            "igap": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 5, n)).astype(float),
            "cgap": np.where(rng.random(n) < 0.15, None, rng.choice(["u", "v"], n)),
        }
    )


@pytest.fixture(scope="module")
def frame():
    return make_frame()


@pytest.fixture(scope="module")
def encoder(frame):
    torch.set_num_threads(1)
    return TableEncoder().fit(frame)


@pytest.fixture(scope="module")
def gmm(frame):
    torch.set_num_threads(1)
    return Synthesizer("gmm", random_state=0, verbose=0).fit(frame)


# -- column kinds ---------------------------------------------------------------------------


def test_kinds_are_inferred(frame):
    kinds = column_kinds(frame)
    assert kinds == {
        "x": "continuous",
        "count": "integer",
        "colour": "categorical",
        "flag": "boolean",
        "day": "datetime",
        "stamp": "datetime",
        "gap": "continuous",
        "igap": "integer",
        "cgap": "categorical",
    }


def test_kinds_can_be_overridden(frame):
    kinds = column_kinds(frame, {"count": "categorical", "x": "integer"})
    assert kinds["count"] == "categorical" and kinds["x"] == "integer"


def test_strings_that_are_not_one_date_format_are_categories():
    f = pd.DataFrame({"d": ["2021-01-02", "03/04/2021", "2021-05-06"]})
    assert column_kinds(f)["d"] == "categorical"


# -- the encoder ------------------------------------------------------------------------------


def test_encoder_round_trips_the_table(frame, encoder):
    enc = encoder
    back = enc.inverse_transform(enc.transform(frame))
    assert list(back.columns) == list(frame.columns)
    assert back.dtypes.equals(frame.dtypes)
    for c in frame.columns:
        if frame[c].dtype.kind == "f":
            np.testing.assert_allclose(back[c], frame[c], rtol=1e-12, atol=1e-12)
            assert back[c].isna().equals(frame[c].isna())
        else:
            assert back[c].equals(frame[c]), c


def test_encoder_layout_is_its_groups(frame, encoder):
    enc = encoder
    X = enc.transform(frame)
    assert X.shape == (len(frame), enc.n_features_) == (len(frame), sum(n for _, n in enc.groups_))
    start = 0
    for kind, n in enc.groups_:
        block = X[:, start : start + n]
        if kind == "categorical":  # exact one-hot groups
            assert set(np.unique(block)) <= {0.0, 1.0} and (block.sum(1) == 1).all()
        start += n


def test_encoder_finds_the_modes_of_a_bimodal_column(encoder):
    enc = encoder
    state = enc.to_state()["transforms"][0]
    means = np.array(state["mode_means"]) * state["std"] + state["mean"]
    assert len(means) >= 2
    assert np.abs(means[:, None] - np.array([-5.0, 5.0])[None]).min(0).max() < 0.5


def test_encoder_state_is_json_and_restores(frame, encoder):
    enc = encoder
    again = TableEncoder.from_state(json.loads(json.dumps(enc.to_state())))
    X = enc.transform(frame)
    assert again.inverse_transform(X).equals(enc.inverse_transform(X))


def test_encoder_refuses_unseen_levels(frame, encoder):
    enc = encoder
    other = frame.copy()
    other.loc[0, "colour"] = "purple"
    with pytest.raises(ValueError, match="purple"):
        enc.transform(other)


# -- errors -----------------------------------------------------------------------------------


def test_empty_table_is_refused():
    with pytest.raises(ValueError, match="empty"):
        Synthesizer("gmm", verbose=0).fit(pd.DataFrame({"a": []}))
    with pytest.raises(ValueError, match="empty"):
        Synthesizer("gmm", verbose=0).fit(pd.DataFrame())


def test_all_missing_column_is_refused():
    f = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [np.nan] * 3})
    with pytest.raises(ValueError, match="'b' has no observed values"):
        Synthesizer("gmm", verbose=0).fit(f)


def test_unknown_column_type_and_unknown_column_are_refused(frame):
    with pytest.raises(ValueError, match="columns"):
        Synthesizer("gmm", columns={"x": "fancy"}, verbose=0).fit(frame)
    with pytest.raises(ValueError, match="unknown column type 'fancy'"):
        column_kinds(frame, {"x": "fancy"})
    with pytest.raises(ValueError, match="not a column"):
        column_kinds(frame, {"nope": "integer"})
    with pytest.raises(ValueError, match="not numbers"):
        Synthesizer("gmm", columns={"colour": "continuous"}, verbose=0).fit(frame)


def test_unfitted_and_bad_n_are_refused(gmm):
    with pytest.raises(NotFittedError):
        Synthesizer().sample(3)
    with pytest.raises(ValueError, match="positive integer"):
        gmm.sample(0)


def test_a_table_that_is_not_a_table_is_refused():
    with pytest.raises(TypeError, match="DataFrame"):
        Synthesizer("gmm", verbose=0).fit(np.zeros((3, 2)))


# -- samples ----------------------------------------------------------------------------------


def test_samples_keep_columns_order_dtypes_and_bounds(gmm, frame):
    out = gmm.sample(2000, random_state=1)
    assert list(out.columns) == list(frame.columns)
    assert out.dtypes.equals(frame.dtypes)
    for c in ("x", "count", "gap", "igap"):
        assert out[c].min() >= frame[c].min() and out[c].max() <= frame[c].max()
    for c in ("count", "igap"):
        v = out[c].dropna().to_numpy(float)
        assert (v == np.round(v)).all()
    assert set(out["colour"]) <= set(frame["colour"])
    days = pd.to_datetime(out["day"], format="%Y-%m-%d")
    assert (out["day"] == days.dt.strftime("%Y-%m-%d")).all()
    assert days.min() >= pd.Timestamp("2021-03-01")


@pytest.mark.parametrize("column", ["gap", "igap", "cgap"])
def test_missing_values_come_back_at_their_rate(gmm, frame, column):
    n = 4000
    out = gmm.sample(n, random_state=2)
    p = frame[column].isna().mean()
    k = int(out[column].isna().sum())
    # the model's rate is estimated from N rows: allow both binomial spreads (4 sigma)
    sd = np.sqrt(p * (1 - p) * (1 / n + 1 / len(frame)))
    assert abs(k / n - p) < 4 * sd + 0.01


def test_category_frequencies_are_reproduced(gmm, frame):
    out = gmm.sample(4000, random_state=3)
    levels = ["red", "green", "blue"]
    observed = out["colour"].value_counts().reindex(levels).to_numpy()
    expected = frame["colour"].value_counts(normalize=True).reindex(levels).to_numpy()
    # chi-square against the training frequencies (not a p-value test: both are estimates)
    assert np.abs(observed / observed.sum() - expected).max() < 0.05


def test_bimodal_column_keeps_its_two_modes(gmm, frame):
    x = gmm.sample(4000, random_state=4)["x"].to_numpy()
    share_low = (x < 0).mean()
    assert abs(share_low - (frame["x"] < 0).mean()) < 0.06
    assert abs(np.median(x[x < 0]) + 5) < 0.5 and abs(np.median(x[x > 0]) - 5) < 0.5
    assert ((x > -2) & (x < 1)).mean() < 0.03  # the valley between the modes stays empty
    ks = stats.ks_2samp(x, frame["x"]).statistic
    assert ks < 0.1


def test_seeds_reproduce_fit_and_samples(frame, gmm):
    again = Synthesizer("gmm", random_state=0, verbose=0).fit(frame)
    assert again.sample(300, random_state=5).equals(gmm.sample(300, random_state=5))
    assert not gmm.sample(300, random_state=5).equals(gmm.sample(300, random_state=6))
    assert gmm.sample(50).equals(gmm.sample(50))  # the synthesizer's own seed


def test_vae_synthesizer_samples_the_table(frame, tmp_path):
    small = frame.iloc[:200]
    a = Synthesizer("vae", epochs=3, latent_dim=8, hidden_dims=(32,), verbose=0).fit(small)
    b = Synthesizer("vae", epochs=3, latent_dim=8, hidden_dims=(32,), verbose=0).fit(small)
    out = a.sample(500, random_state=0)
    assert out.dtypes.equals(frame.dtypes) and list(out.columns) == list(frame.columns)
    assert out.equals(b.sample(500, random_state=0))
    assert out["count"].between(frame["count"].min(), frame["count"].max()).all()
    assert len(a.history_["loss"]) == 3
    path = tmp_path / "vae.safetensors"
    a.save(path)
    assert Synthesizer.load(path).sample(100, random_state=7).equals(a.sample(100, random_state=7))


def test_gan_synthesizer_samples_the_table(frame, tmp_path):
    small = frame.iloc[:200]
    a = Synthesizer("gan", epochs=2, batch_size=100, verbose=0).fit(small)
    b = Synthesizer("gan", epochs=2, batch_size=100, verbose=0).fit(small)
    out = a.sample(500, random_state=0)
    assert out.dtypes.equals(frame.dtypes) and list(out.columns) == list(frame.columns)
    assert out.equals(b.sample(500, random_state=0))  # same seed, same fit and rows
    assert out["count"].between(frame["count"].min(), frame["count"].max()).all()
    assert a.model_name_ == "gan" and len(a.history_["generator_loss"]) == 2
    assert "generator_condition" in a.history_  # the conditional vector's cross-entropy
    # it conditions on the categorical columns only, not on the numbers' mode indicators
    enc = a.encoder_
    kinds = [k for k, _ in enc.groups_]
    covered = list(a.model_.condition_groups_)
    assert covered == list(enc.category_groups()) and all(
        kinds[g] == "categorical" for g in covered
    )
    assert len(covered) < kinds.count("categorical")  # x's modes are a group it leaves out
    path = tmp_path / "gan.safetensors"
    a.save(path)
    assert Synthesizer.load(path).sample(100, random_state=7).equals(a.sample(100, random_state=7))


def test_auto_picks_by_encoded_width(frame, monkeypatch):
    import genmodels.tabular.synthesizer as S

    small = frame.iloc[:100]
    assert Synthesizer(verbose=0).fit(small).model_name_ == "gmm"
    monkeypatch.setattr(S, "AUTO_GMM_FEATURES", 5)
    wide = Synthesizer(epochs=1, latent_dim=2, hidden_dims=(8,), verbose=0).fit(small)
    assert wide.model_name_ == "vae"


# -- files ------------------------------------------------------------------------------------


def test_save_load_gives_identical_samples(gmm, tmp_path):
    path = tmp_path / "synth.safetensors"
    gmm.save(path)
    loaded = Synthesizer.load(path)
    assert loaded.column_kinds_ == gmm.column_kinds_
    assert loaded.sample(500, random_state=8).equals(gmm.sample(500, random_state=8))
    assert path.read_bytes()[:1] != b"\x80"  # not a pickle


def test_load_refuses_other_files(tmp_path, gmm):
    gmm.model_.save(tmp_path / "gm.safetensors")  # a plain model file
    with pytest.raises(ModelFileError, match="GaussianMixture model file, not a synthesizer file"):
        Synthesizer.load(tmp_path / "gm.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x80\x04junk")
    with pytest.raises(ModelFileError, match="pickle"):
        Synthesizer.load(tmp_path / "junk.safetensors")


# -- the VAE's mixed likelihood ----------------------------------------------------------------


def test_mixed_likelihood_is_the_sum_of_its_parts():
    torch.manual_seed(0)
    groups = (("gaussian", 2), ("categorical", 3), ("gaussian", 1), ("categorical", 2))
    lik = MixedLikelihood(8, groups)
    with torch.no_grad():
        lik.raw_log_var.copy_(torch.tensor([0.3, -0.5, 0.1]))
    out = torch.randn(5, 8, 1)
    x = torch.cat(
        [
            torch.randn(5, 2),
            torch.eye(3)[[0, 2, 1, 1, 0]],
            torch.randn(5, 1),
            torch.eye(2)[[1, 0, 0, 1, 1]],
        ],
        dim=1,
    )
    o = out[..., 0]
    var = torch.exp(lik.log_var())
    g = torch.distributions.Normal(o[:, [0, 1, 5]], var.sqrt()).log_prob(x[:, [0, 1, 5]]).sum(1)
    c1 = torch.distributions.Categorical(logits=o[:, 2:5]).log_prob(x[:, 2:5].argmax(1))
    c2 = torch.distributions.Categorical(logits=o[:, 6:8]).log_prob(x[:, 6:8].argmax(1))
    torch.testing.assert_close(lik.log_prob(x, out), g + c1 + c2)
    s = lik.sample(out, torch.Generator().manual_seed(0))
    assert ((s[:, 2:5].sum(1) == 1) & (s[:, 6:8].sum(1) == 1)).all()


def test_vae_refuses_bad_groups():
    from genmodels.vae import VAE

    X = np.c_[np.zeros((10, 1)), np.eye(2)[np.arange(10) % 2]]
    with pytest.raises(ValueError, match="one-hot"):
        VAE(likelihood="mixed", feature_groups=(("gaussian", 1), ("categorical", 2)), epochs=1).fit(
            X * 2
        )
    with pytest.raises(ValueError, match="feature_groups"):
        VAE(likelihood="mixed", feature_groups=(("poisson", 3),), epochs=1).fit(X)


# -- the command line -------------------------------------------------------------------------


def test_synth_command_end_to_end(tmp_path, capsys):
    src = tmp_path / "table.csv"
    make_frame(120).drop(columns=["stamp"]).to_csv(src, index=False)
    out = tmp_path / "synthetic.csv"
    model = tmp_path / "s.safetensors"
    args = [
        "synth",
        str(src),
        "-n",
        "300",
        "-o",
        str(out),
        "--model",
        "gmm",
        "--seed",
        "0",
        "--quiet",
        "--save",
        str(model),
    ]
    assert main(args) == 0
    assert "300 synthetic rows" in capsys.readouterr().out
    real, fake = pd.read_csv(src), pd.read_csv(out)
    assert list(fake.columns) == list(real.columns) and len(fake) == 300
    assert fake.dtypes.equals(real.dtypes)
    # a saved synthesizer samples the same rows
    again = tmp_path / "again.csv"
    assert main(["synth", "--load", str(model), "-n", "300", "-o", str(again), "--seed", "0"]) == 0
    assert pd.read_csv(again).equals(fake)


def test_synth_command_column_override_and_errors(tmp_path, capsys):
    src = tmp_path / "t.csv"
    src.write_text("a,b\n1,x\n2,y\n3,x\n4,?\n")
    out = tmp_path / "o.csv"
    assert (
        main(
            [
                "synth",
                str(src),
                "-o",
                str(out),
                "--model",
                "gmm",
                "--quiet",
                "--column",
                "a=categorical",
                "--missing",
                "?",
            ]
        )
        == 0
    )
    assert "a (categorical)" in capsys.readouterr().out
    fake = pd.read_csv(out, keep_default_na=False)
    assert set(fake["a"]) <= {1, 2, 3, 4}
    assert set(fake["b"]) <= {"x", "y", "?"}  # missing cells written as the input marked them
    assert main(["synth", str(src), "-o", str(out), "--column", "a=fancy"]) == 1
    assert "unknown column type 'fancy'" in capsys.readouterr().err
    assert main(["synth", str(src), "-o", str(tmp_path / "o.npy")]) == 1


def test_progress_shows_losses_and_a_slow_fit_is_announced(frame, monkeypatch, caplog, capsys):
    import genmodels.tabular.synthesizer as S

    monkeypatch.setattr(S, "SLOW_SECONDS", 0.0)
    with caplog.at_level("WARNING", logger="genmodels"):
        Synthesizer("vae", epochs=2, latent_dim=2, hidden_dims=(8,), verbose=1).fit(
            frame.iloc[:100]
        )
    assert any("will take about" in r.getMessage() for r in caplog.records)
    assert "loss=" in capsys.readouterr().err  # the trainer's progress lines
