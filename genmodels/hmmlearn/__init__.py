"""Drop-ins for hmmlearn: code written for ``hmmlearn`` runs with only its imports changed.

    from genmodels.hmmlearn import hmm          # for: from hmmlearn import hmm
    from genmodels.hmmlearn.base import ConvergenceMonitor

Each class is a thin subclass of the top-level genmodels class (``genmodels.GaussianHMM``,
...) that answers as hmmlearn does where genmodels' uniform contract answers otherwise:
hmmlearn's constructor (``params=``/``init_params=`` letter codes, ``implementation=``),
``monitor_``, ``sample(n)`` returning one sequence ``(X, states)``, ``score`` the total
log-likelihood, ``score_samples`` returning ``(logprob, posteriors)``, GaussianHMM's
``covars_`` as full matrices, parameters that were not set initialised by ``fit``. The
fitting (hmmlearn's EM, with its priors), inference and validation are the top-level
classes'. See docs/compatibility.md ("hmmlearn").
"""

from . import base, hmm

__all__ = ["base", "hmm"]
