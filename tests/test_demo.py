"""``genmodels demo``: the quick report is complete, self-contained and numerically sane."""

from __future__ import annotations

import math
from html.parser import HTMLParser

import numpy as np
import pytest

from genmodels import figures
from genmodels.demo import Context, Section, Table, run
from genmodels.demo.report import render_table

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Page(HTMLParser):
    """Collects image sources, external references, and each table's rows as lists of
    ``(text, data-value or None)`` cells."""

    def __init__(self, html: str):
        super().__init__()
        self.images: list[str] = []
        self.external: list[str] = []
        self.scripts = 0
        self.ids: list[str] = []
        self.tables: dict[str, list[list[tuple[str, float | None]]]] = {}
        self._table: str | None = None
        self._cell: list | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "img":
            self.images.append(a["src"])
        elif tag == "script":
            self.scripts += 1
        if tag == "link" or "://" in (a.get("src") or ""):
            self.external.append(str(a))
        if tag == "table":
            self._table = a.get("id", "")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag == "td" and self._table is not None:
            value = a.get("data-value")
            self._cell = ["", None if value is None else float(value)]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "td" and self._cell is not None:
            self.tables[self._table][-1].append(tuple(self._cell))
            self._cell = None


def _table(path, name: str) -> list[list[tuple[str, float | None]]]:
    rows = _Page(path.read_text(encoding="utf-8")).tables[name]
    return [r for r in rows if r]  # the header row has no <td>


def _heldout(path) -> list[list[tuple[str, float | None]]]:
    return _table(path, "gmm-heldout")


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    path = run(out, quick=True, random_state=0)
    return out, path


def test_quick_demo_writes_a_complete_report(quick_report):
    out, path = quick_report
    assert path == out / "index.html"
    assert path.is_file()

    html = path.read_text(encoding="utf-8")
    page = _Page(html)
    assert page.scripts == 0 and not page.external
    assert len(page.ids) == len(set(page.ids)), "duplicate HTML ids"
    assert "<style>" in html and "genmodels demo" in html
    assert len(page.images) >= 3
    for src in page.images:
        assert "/" not in src and src.endswith(".png")
        assert (out / src).read_bytes()[:8] == PNG_MAGIC, src

    numbers = [v for row in _heldout(path) for _, v in row if v is not None]
    assert len(numbers) >= 4 * 4 + 4  # 4 covariance types x (2 scores + 2 times) + more
    assert all(math.isfinite(v) for v in numbers)
    assert "30-dimensional PCA" in html  # the caption says where the densities live


def test_heldout_table_is_sane(quick_report):
    _, path = quick_report
    rows = {(r[0][0], r[1][0]): [v for _, v in r[2:]] for r in _heldout(path)}
    by_type = {
        ct: v for (name, ct), v in rows.items() if name.startswith("GMM") and "missing" not in name
    }
    assert set(by_type) == {"full", "tied", "diag", "spherical"}
    for ours, theirs, t_ours, t_theirs in by_type.values():
        assert abs(ours - theirs) < 3.0  # nats per digit: same model, other initialisation
        assert t_ours > 0 and t_theirs > 0
    single = rows[("single Gaussian", "full")]
    assert single[0] == pytest.approx(single[1], abs=1e-6)  # K=1 has a closed form
    assert by_type["full"][0] > single[0]  # a mixture beats one Gaussian on held-out digits
    missing = [v for (name, _), v in rows.items() if "missing" in name]
    assert len(missing) == 2
    assert all(math.isfinite(v[0]) and v[1:] == [None, None, None] for v in missing)


def test_demo_is_reproducible(quick_report, tmp_path):
    _, first = quick_report
    again = run(tmp_path, quick=True, random_state=0)

    def scores(path):  # fit times vary from run to run; the scores must not
        return [[v for _, v in r[2:4]] for r in _heldout(path)]

    assert scores(first) == scores(again)
    assert (tmp_path / "gmm-samples.png").is_file()

    def nb_scores(path):  # accuracies and log p(x), not the fit times
        return [[v for _, v in r[2:5]] for r in _table(path, "nb-accuracy")]

    assert nb_scores(first) == nb_scores(again)
    assert (tmp_path / "nb-samples.png").is_file()


NB_MODELS = {"GaussianNB", "MultinomialNB", "BernoulliNB", "CategoricalNB", "ComplementNB"}


def test_naive_bayes_section_is_in_the_report(quick_report):
    out, path = quick_report
    html = path.read_text(encoding="utf-8")
    page = _Page(html)
    assert "naive-bayes" in page.ids and 'href="#naive-bayes"' in html
    assert html.index('id="gaussian-mixture"') < html.index('id="naive-bayes"')
    assert "nb-samples.png" in page.images
    assert (out / "nb-samples.png").read_bytes()[:8] == PNG_MAGIC
    assert "p(x, c) = p(c)" in html
    assert "own representation" in html  # the caption warns the likelihoods differ in kind
    families = {r[0][0] for r in _table(path, "families-table")}
    assert NB_MODELS <= families


def test_naive_bayes_accuracy_matches_scikit_learn(quick_report):
    _, path = quick_report
    rows = {r[0][0]: [v for _, v in r[2:]] for r in _table(path, "nb-accuracy")}
    assert NB_MODELS <= set(rows)
    for name, (ours, theirs, loglik, t_ours, t_theirs) in rows.items():
        assert ours == theirs, name  # the same predictions, so exactly the same accuracy
        assert 0.75 < ours <= 1.0, name  # well above chance (0.1) on the digits
        assert loglik is not None and math.isfinite(loglik), name
        assert t_ours > 0 and t_theirs > 0
    # ComplementNB's generative side is the multinomial fitted to the same counts
    assert rows["ComplementNB"][2] == pytest.approx(rows["MultinomialNB"][2], rel=1e-9)
    # a variance floor makes GaussianNB's held-out density usable
    smoothed = [v for name, v in rows.items() if name.startswith("GaussianNB, var_smoothing")]
    assert len(smoothed) == 1 and smoothed[0][2] > rows["GaussianNB"][2]
    assert "predict the same class for every one of the" in path.read_text(encoding="utf-8")


def test_image_row_panels(tmp_path):
    rng = np.random.default_rng(0)
    means = rng.random((3, 1, 16))
    samples = rng.random((3, 5, 4, 4)) > 0.5
    path = figures.image_row_panels(
        [("means", means, (0.0, 1.0)), ("samples", samples, (0.0, 1.0))],
        tmp_path / "rows.png",
        image_shape=(4, 4),
        row_labels=["a", "b", "c"],
        row_title="class",
    )
    assert path.read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="same number of rows"):
        figures.image_row_panels(
            [("a", means, (0, 1)), ("b", samples[:2], (0, 1))],
            tmp_path / "bad.png",
            image_shape=(4, 4),
        )
    with pytest.raises(ValueError, match="row labels"):
        figures.image_row_panels(
            [("a", means, (0, 1))], tmp_path / "bad.png", image_shape=(4, 4), row_labels=["x"]
        )


def test_sections_are_pluggable(tmp_path):
    def custom(ctx: Context) -> Section:
        path = ctx.figure_path("custom.png")
        figures.criterion_curves([1, 2, 3], [("a", [3.0, 1.0, 2.0], "y")], path, xlabel="x", mark=2)
        t = Table("custom-table", "a caption", ["name", "value"], formats=[None, "{:.1f}"])
        t.add("one", 1.25)
        t.add("none", None)
        return Section("Custom <family>", body="<p>hi</p>", tables=[t], figures=[])

    path = run(tmp_path, quick=True, sections=[custom])
    html = path.read_text(encoding="utf-8")
    assert "Custom &lt;family&gt;" in html and 'id="custom-family"' in html
    assert 'data-value="1.25">1.2<' in html or 'data-value="1.25">1.3<' in html
    assert (tmp_path / "custom.png").read_bytes()[:8] == PNG_MAGIC


def test_section_listing_a_missing_figure_fails(tmp_path):
    from genmodels.demo import FigureRef

    def broken(ctx: Context) -> Section:
        return Section("Broken", figures=[FigureRef("nothing.png")])

    with pytest.raises(RuntimeError, match="nothing.png"):
        run(tmp_path, quick=True, sections=[broken])


def test_figure_names_are_checked(tmp_path):
    ctx = Context(tmp_path)
    ctx.figure_path("a.png")
    with pytest.raises(ValueError, match="two figures"):
        ctx.figure_path("a.png")
    with pytest.raises(ValueError, match="plain file names"):
        ctx.figure_path("../escape.png")


def test_render_table_escapes_and_marks_numbers():
    t = Table("t", "<cap>", ["a", "b"], formats=[None, "{:.2f}"])
    t.add("<x>", float("nan"))
    html = render_table(t)
    assert "&lt;x&gt;" in html and "&lt;cap&gt;" in html
    assert 'data-value="nan"' in html
    with pytest.raises(ValueError, match="cells"):
        t.add("only one")


def test_ellipse_geometry_matches_the_covariance():
    cov = np.array([[4.0, 0.0], [0.0, 1.0]])
    w, h, angle = figures.ellipse_geometry(cov, n_std=2.0)
    assert (w, h) == pytest.approx((8.0, 4.0))
    assert abs(math.sin(math.radians(angle))) == pytest.approx(0.0, abs=1e-12)
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    w, h, angle = figures.ellipse_geometry(rot @ cov @ rot.T, n_std=1.0)
    assert (w, h) == pytest.approx((4.0, 2.0))
    assert abs(math.cos(math.radians(angle))) == pytest.approx(0.0, abs=1e-12)


def test_random_state_must_be_an_int(tmp_path):
    with pytest.raises(TypeError, match="random_state"):
        run(tmp_path, quick=True, random_state=1.5)


# ----------------------------------------------------------------------------------------
# hidden Markov models


def _hmm_rows(path) -> dict[str, list[float | None]]:
    return {r[0][0]: [v for _, v in r[1:]] for r in _table(path, "hmm-heldout")}


def test_hmm_section_is_in_the_report_with_its_figures(quick_report):
    out, path = quick_report
    html = path.read_text(encoding="utf-8")
    page = _Page(html)
    assert "hidden-markov" in page.ids and 'href="#hidden-markov"' in html
    assert html.index('id="naive-bayes"') < html.index('id="hidden-markov"')
    for name in ("hmm-states.png", "hmm-transitions.png"):
        assert name in page.images
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, name
    assert "Viterbi" in html and "linear_sum_assignment" in html
    assert "GaussianHMM" in {r[0][0] for r in _table(path, "families-table")}


def test_hmm_decodes_the_generated_regimes(quick_report):
    _, path = quick_report
    rows = _hmm_rows(path)
    fitted = rows["fitted GaussianHMM"]
    true = next(v for name, v in rows.items() if name.startswith("true model"))
    one = next(v for name, v in rows.items() if name.startswith("GaussianHMM(1)"))
    gmm = next(v for name, v in rows.items() if name.startswith("GaussianMixture"))
    states, ll, ll_day, accuracy, seconds = fitted
    assert states == 3 and seconds > 0
    assert accuracy > 0.9  # after matching the learned states to the true ones
    assert true[3] > 0.9 and abs(accuracy - true[3]) < 0.05
    # held-out log-likelihood: close to the true model's, far above one state's
    assert abs(ll - true[1]) < 0.05 * abs(true[1])
    assert ll > one[1] + 10 and ll > gmm[1]
    assert one[3] is None and all(math.isfinite(v) for v in (ll, ll_day, one[1], gmm[1]))


def test_hmm_section_is_reproducible(tmp_path):
    from genmodels.demo import hidden_markov_section

    def run_once(folder):
        path = run(tmp_path / folder, quick=True, sections=[hidden_markov_section])
        return [v[:4] for v in _hmm_rows(path).values()]  # not the fit times

    assert run_once("a") == run_once("b")


def test_match_states_undoes_a_relabelling():
    from genmodels.demo.hmm import match_states, relabel

    rng = np.random.default_rng(0)
    true = rng.integers(0, 3, size=200)
    found = np.array([2, 0, 1])[true]  # state j was found as 2, 0, 1
    found[:10] = (found[:10] + 1) % 3  # and a few frames are wrong
    order = match_states(true, found, 3)
    assert list(order) == [2, 0, 1]
    assert np.mean(relabel(found, order) == true) == pytest.approx(0.95)


def test_state_sequence_plot_and_matrix_heatmaps(tmp_path):
    rng = np.random.default_rng(0)
    states = np.repeat([0, 2, 1, 0], 25)
    path = figures.state_sequence_plot(
        rng.normal(size=(100, 2)),
        states,
        tmp_path / "states.png",
        true_states=np.roll(states, 3),
        state_names=["a", "b", "c"],
        feature_names=["x", "y"],
    )
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert figures.state_sequence_plot(rng.normal(size=100), states, tmp_path / "one.png")
    with pytest.raises(ValueError, match="states must have shape"):
        figures.state_sequence_plot(rng.normal(size=(100, 2)), states[:50], tmp_path / "x.png")
    trans = np.full((3, 3), 0.1) + 0.7 * np.eye(3)
    path = figures.matrix_heatmaps(
        [("a", trans), ("b", trans.T)],
        tmp_path / "heat.png",
        row_labels=["a", "b", "c"],
        col_labels=["a", "b", "c"],
    )
    assert path.read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="shape"):
        figures.matrix_heatmaps(
            [("a", trans[:2])], tmp_path / "h.png", row_labels="abc", col_labels="abc"
        )


def test_boltzmann_section_reports_honest_likelihoods(quick_report):
    out, path = quick_report
    html = path.read_text(encoding="utf-8")
    page = _Page(html)
    assert "boltzmann" in page.ids
    for fig in ("rbm-samples.png", "rbm-filters.png"):
        assert fig in page.images and (out / fig).read_bytes()[:8] == PNG_MAGIC
    rows = [(r[0][0], r[1][0], [v for _, v in r[2:]]) for r in _table(path, "rbm-loglik")]
    by = {(name, z): vals for name, z, vals in rows}
    base = by[("independent pixels (base rates)", "—")][0]
    exact = by[("BernoulliRBM, 16 hidden", "exact")][0]
    ais, pm = by[("BernoulliRBM, 16 hidden", "AIS")][:2]
    assert abs(ais - exact) < 0.1 and pm < 0.1  # AIS agrees with the exact log Z
    assert exact > base + 3  # the RBM models the pixels' dependencies
    assert by[("BernoulliRBM, 64 hidden", "AIS")][0] > base + 3


# ----------------------------------------------------------------------------------------
# variational autoencoders


def _vae_rows(path) -> dict[tuple[str, str], list[float | None]]:
    return {(r[0][0], r[1][0]): [v for _, v in r[2:]] for r in _table(path, "vae-loglik")}


VAE_FIGURES = (
    "vae-latent-map.png",
    "vae-samples.png",
    "vae-reconstructions.png",
    "vae-interpolation.png",
)


def test_vae_section_is_in_the_report_with_its_figures(quick_report):
    out, path = quick_report
    html = path.read_text(encoding="utf-8")
    page = _Page(html)
    assert "vae" in page.ids and 'href="#vae"' in html
    assert html.index('id="boltzmann"') < html.index('id="vae"')
    for name in VAE_FIGURES:
        assert name in page.images
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, name
    assert "IWAE" in html and "ELBO" in html
    families = {r[0][0] for r in _table(path, "families-table")}
    assert {"VAE", "ConditionalVAE"} <= families


def test_vae_heldout_likelihoods_sit_beside_the_other_models(quick_report):
    _, path = quick_report
    rows = _vae_rows(path)
    base = rows[("independent pixels (base rates)", "exact")][0]
    # the same binary test images as the Boltzmann section: its numbers, carried over
    rbm = {(r[0][0], r[1][0]): r[2][1] for r in _table(path, "rbm-loglik")}
    assert base == pytest.approx(rbm[("independent pixels (base rates)", "—")], abs=1e-12)
    carried = rows[("BernoulliRBM, 64 hidden (Boltzmann section)", "AIS log Z")][0]
    assert carried == pytest.approx(rbm[("BernoulliRBM, 64 hidden", "AIS")], abs=1e-12)
    vaes = sorted({name for name, _ in rows if name.startswith("VAE")})
    assert len(vaes) == 2 and any("2-D latent" in name for name in vaes)
    for name in vaes:
        elbo = rows[(name, "ELBO")][0]
        iwae_how = next(how for n, how in rows if n == name and how.startswith("IWAE"))
        iwae, seconds = rows[(name, iwae_how)]
        assert all(math.isfinite(v) for v in (elbo, iwae)) and seconds > 0
        assert iwae > elbo  # importance samples tighten the bound
        assert iwae > base + 1.5  # the VAE models the pixels' dependencies


def test_vae_section_is_reproducible(tmp_path):
    from genmodels.demo.vae import vae_section

    def run_once(folder):
        path = run(tmp_path / folder, quick=True, sections=[vae_section])
        return [v[0] for v in _vae_rows(path).values()]  # not the fit times

    first = run_once("a")
    assert first == run_once("b")
    assert len(first) == 6  # base rates, naive Bayes, two VAEs x (ELBO, IWAE): no RBM rows


def test_interpolation_strip_and_latent_map(tmp_path):
    rng = np.random.default_rng(0)
    path = figures.interpolation_strip(
        rng.random((6, 16)),
        tmp_path / "strip.png",
        image_shape=(4, 4),
        start=rng.random(16) > 0.5,
        end=rng.random(16) > 0.5,
        title="a strip",
    )
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert figures.interpolation_strip(
        rng.random((20, 4, 4)), tmp_path / "bare.png", image_shape=(4, 4)
    )
    calls = []

    def decode(z):
        calls.append(np.array(z))
        return np.tanh(z @ rng.normal(size=(2, 16)))

    codes = rng.normal(size=(50, 2))
    labels = np.repeat(["a", "b"], 25)
    path = figures.latent_map(
        decode, codes, labels, tmp_path / "map.png", image_shape=(4, 4), n_grid=5
    )
    assert path.read_bytes()[:8] == PNG_MAGIC
    grid = figures.latent_grid(5)
    np.testing.assert_allclose(calls[0][:5, 0], grid)  # the first row runs along z_1 ...
    np.testing.assert_allclose(calls[0][:5, 1], grid[-1])  # ... at the top, the highest z_2
    assert figures.latent_map(
        decode, codes, None, tmp_path / "plain.png", image_shape=(4, 4), n_grid=3
    )
    calls.clear()
    with pytest.raises(ValueError, match=r"2-D latent space.*3 dimensions"):
        figures.latent_map(
            decode, rng.normal(size=(50, 3)), None, tmp_path / "x.png", image_shape=(4, 4)
        )
    assert calls == [] and not (tmp_path / "x.png").exists()
    with pytest.raises(ValueError, match="labels"):
        figures.latent_map(decode, codes, labels[:10], tmp_path / "x.png", image_shape=(4, 4))
    assert figures.latent_grid(3, (0.5 - 0.3413447, 0.5 + 0.3413447)) == pytest.approx(
        [-1, 0, 1], abs=1e-6
    )
