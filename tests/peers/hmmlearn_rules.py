"""hmmlearn's own test files, run against ``genmodels.hmmlearn`` by ``port.py hmmlearn``.

Only the imports of the models under test are rewritten (``hmmlearn.hmm`` and
``hmmlearn.base``, absolute or relative); hmmlearn's utilities (``hmmlearn.utils``), its
private C kernel (``hmmlearn._hmmc``) and scikit-learn are imported as the files say. The
exceptions are listed, with the same reasons, in docs/compatibility.md.
"""

PACKAGE = "hmmlearn"

FILES = [
    "tests/__init__.py",  # the shared helpers (assert_log_likelihood_increasing, ...)
    "tests/conftest.py",  # seeds numpy's global stream
    "tests/test_base.py",
    "tests/test_categorical_hmm.py",
    "tests/test_gaussian_hmm.py",
    "tests/test_gmm_hmm.py",
    "tests/test_gmm_hmm_multisequence.py",
    "tests/test_gmm_hmm_new.py",
    "tests/test_multinomial_hmm.py",
    "tests/test_poisson_hmm.py",
]

REWRITES = [
    (r"^from hmmlearn import hmm\b", "from genmodels.hmmlearn import hmm"),
    (r"^from hmmlearn import hmm, ", "from genmodels.hmmlearn import hmm, "),
    (r"^from \.\. import hmm\b", "from genmodels.hmmlearn import hmm"),
    (r"^from \.\.hmm import ", "from genmodels.hmmlearn.hmm import "),
    (r"^from hmmlearn\.hmm import ", "from genmodels.hmmlearn.hmm import "),
    (r"^from hmmlearn\.base import ", "from genmodels.hmmlearn.base import "),
]

_BASE = "tests/test_base.py::"

_HMMC = (
    "calls hmmlearn's private C kernel (hmmlearn._hmmc.forward_log, backward_scaling, "
    "viterbi, ...), not a model; genmodels' kernel is genmodels.hmm._kernel"
)

EXCEPTIONS = {
    # -- calls the peer's private functions or methods
    _BASE + "TestBaseAgainstWikipedia::test_do_forward_scaling_pass": _HMMC,
    _BASE + "TestBaseAgainstWikipedia::test_do_forward_pass": _HMMC,
    _BASE + "TestBaseAgainstWikipedia::test_do_backward_scaling_pass": _HMMC,
    _BASE + "TestBaseAgainstWikipedia::test_do_backward_log_pass": _HMMC,
    _BASE + "TestBaseAgainstWikipedia::test_do_viterbi_pass": _HMMC,
}

_INIT = (
    "calls hmmlearn's private initialisation method _init(X) (genmodels initialises inside "
    "fit, from its own k-means and random stream)"
)
_N_FEATURES = "calls hmmlearn's private method _check_and_set_n_features"
_GAUSS = "tests/test_gaussian_hmm.py::TestGaussianHMMWith{}Covars::"
_GMM = "tests/test_gmm_hmm_new.py::TestGMMHMMWith{}Covars::"
for _ct in ("Spherical", "Diagonal", "Tied", "Full"):
    EXCEPTIONS[_GAUSS.format(_ct) + "test_score_samples_and_decode"] = _INIT
    EXCEPTIONS[_GAUSS.format(_ct) + "test_fit_too_little_data"] = _INIT
for _ct in ("Spherical", "Diag", "Tied", "Full"):
    EXCEPTIONS[_GMM.format(_ct) + "test_init"] = _INIT
    EXCEPTIONS[_GMM.format(_ct) + "test_fit_sparse_data"] = _INIT
EXCEPTIONS.update(
    {
        _GAUSS.format("Diagonal") + "test_covar_is_writeable": _INIT,
        "tests/test_categorical_hmm.py::TestCategoricalHMM::test_fit_with_init": _INIT,
        "tests/test_multinomial_hmm.py::TestMultinomialHMM::test_fit_with_init": _INIT,
        "tests/test_poisson_hmm.py::TestPoissonHMM::test_fit_with_init": _INIT,
        "tests/test_categorical_hmm.py::TestCategoricalHMM::"
        "test__check_and_set_categorical_n_features": _N_FEATURES,
        "tests/test_multinomial_hmm.py::TestMultinomialHMM::"
        "test__check_and_set_multinomial_n_features_n_trials": _N_FEATURES,
        _GAUSS.format("Spherical") + "test_underflow_from_scaling": (
            "expects hmmlearn's 'scaling' forward pass to underflow and raise; genmodels "
            "computes in log space whatever the implementation, so nothing underflows"
        ),
    }
)
