"""Drop-ins for scikit-learn: the same classes, answering as scikit-learn's do.

``from genmodels.sklearn.mixture import GaussianMixture`` in place of
``from sklearn.mixture import GaussianMixture`` (and ``naive_bayes``, ``neural_network``
for the naive Bayes classes and ``BernoulliRBM``) changes no other line of a user's code:
``X, y = gmm.sample(n)``, a classifier's ``score`` is accuracy, ``reg_covar=0`` fails as
scikit-learn documents, float32 data keeps float32 attributes, ``BernoulliRBM`` scores by
pseudo-likelihood and prints scikit-learn's ``verbose`` lines.

Each class is a thin subclass of the genmodels class of the same name (``genmodels.X``),
overriding only where scikit-learn answers differently; everything else (EM, missing
values, sample weights, ``partial_fit``, devices, ``score_samples``) is the same code.
The top-level classes keep genmodels' uniform contract (``sample`` returns ``X`` alone,
``score`` is the mean log-likelihood). What still differs from scikit-learn, and the
scikit-learn tests that are not run against these classes, are listed in
docs/compatibility.md; ``tests/peers/port.py sklearn`` runs scikit-learn's own test files
against them.
"""

from .mixture import GaussianMixture
from .naive_bayes import BernoulliNB, CategoricalNB, ComplementNB, GaussianNB, MultinomialNB
from .neural_network import BernoulliRBM

__all__ = [
    "BernoulliNB",
    "BernoulliRBM",
    "CategoricalNB",
    "ComplementNB",
    "GaussianMixture",
    "GaussianNB",
    "MultinomialNB",
]
