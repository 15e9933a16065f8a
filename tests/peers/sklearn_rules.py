"""scikit-learn's own test files, run against ``genmodels.sklearn`` by ``port.py sklearn``.

Only the imports of the estimators under test are rewritten; scikit-learn's utilities
(``sklearn.utils._testing``, datasets, model selection, its private functions) are
imported from scikit-learn as the files say. The exceptions are listed, with the same
reasons, in docs/compatibility.md.
"""

PACKAGE = "sklearn"

FILES = [
    "conftest.py",  # global_random_seed, global_dtype and the other fixtures
    "mixture/tests/test_gaussian_mixture.py",
    "tests/test_naive_bayes.py",
    "neural_network/tests/test_rbm.py",
]

REWRITES = [
    (r"^from sklearn\.mixture import ", "from genmodels.sklearn.mixture import "),
    (r"^from sklearn\.naive_bayes import ", "from genmodels.sklearn.naive_bayes import "),
    (r"^from sklearn\.neural_network import ", "from genmodels.sklearn.neural_network import "),
]

_GMM = "mixture/tests/test_gaussian_mixture.py::"
_NB = "tests/test_naive_bayes.py::"
_RBM = "neural_network/tests/test_rbm.py::"

_SK_FUNCTIONS = (
    "tests scikit-learn's private functions (sklearn.mixture._gaussian_mixture), not the "
    "estimator; genmodels' Gaussian maths are other functions (genmodels.maths.gaussian)"
)

EXCEPTIONS = {
    # -- calls the peer's private functions or methods
    _GMM + "test_suffstat_sk_full": _SK_FUNCTIONS,
    _GMM + "test_suffstat_sk_tied": _SK_FUNCTIONS,
    _GMM + "test_suffstat_sk_diag": _SK_FUNCTIONS,
    _GMM + "test_gaussian_suffstat_sk_spherical": _SK_FUNCTIONS,
    _GMM + "test_compute_log_det_cholesky": _SK_FUNCTIONS,
    _GMM + "test_gaussian_mixture_log_probabilities": _SK_FUNCTIONS,
    _GMM + "test_gaussian_mixture_precisions_init": (
        "calls the private methods GaussianMixture._set_parameters and _initialize(X, resp)"
    ),
    _GMM + "test_gaussian_mixture_precisions_init_diag": (
        "builds precisions_init with the private _estimate_gaussian_parameters from "
        "sklearn.cluster.KMeans(random_state=0) labels and expects the same n_iter_ as the "
        "default init, i.e. that our k-means init equals scikit-learn's KMeans draw for draw"
    ),
    _GMM + "test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters": (
        "monkeypatches the private sklearn.mixture._gaussian_mixture."
        "_estimate_gaussian_parameters and counts its calls"
    ),
    _NB + "test_gnb_check_update_with_no_data": (
        "calls the private GaussianNB._update_mean_variance"
    ),
    _NB + "test_alpha_vector": "calls the private MultinomialNB._check_alpha",
    _NB + "test_check_alpha": "calls the private BernoulliNB._check_alpha",
    _RBM + "test_transform": "calls the private BernoulliRBM._mean_hiddens",
    _RBM + "test_sample_hiddens": (
        "calls the private BernoulliRBM._mean_hiddens and _sample_hiddens"
    ),
    # -- depends on the peer's random stream
    _RBM + "test_fit_gibbs": (
        "expects components_ equal to 4 decimals to the weights scikit-learn's random "
        "stream gives with RandomState(42) (its own comment: 'very seed-dependent')"
    ),
    _GMM + "test_sample": (
        "a statistical check at 1 decimal on the draws of one shared RandomState: with "
        "our stream the diag fit has a component of weight 0.075 whose 1,578 draws have "
        "variance 2.82 against the fitted 2.59 (2.5 standard errors); 400,000 draws "
        "match to 2 decimals (tests/test_sklearn_dropin.py checks sample with enough draws)"
    ),
}
