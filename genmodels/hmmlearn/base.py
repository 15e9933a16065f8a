"""hmmlearn's ``base`` module: :class:`ConvergenceMonitor`, :class:`BaseHMM` (an HMM whose
subclass supplies ``_compute_log_likelihood``, as hmmlearn's) and the drop-ins' shared
behaviour (:class:`HMMLearnDropIn`)."""

from __future__ import annotations

import logging
import string
import sys
from collections import deque

import numpy as np
import torch

from ..backend import to_numpy, to_tensor
from ..hmm.base import BaseHMM as _TopBaseHMM
from ..hmm.base import _sequence_log_likelihoods
from ..sklearn._base import DropIn
from ..validation import validate_params

_log = logging.getLogger(__name__)

DECODER_ALGORITHMS = frozenset(("viterbi", "map"))
IMPLEMENTATIONS = ("log", "scaling")


class ConvergenceMonitor:
    """hmmlearn's monitor: ``history`` (the log-likelihood of each iteration, before its
    M-step), ``iter``, ``converged`` (``n_iter`` reached, or a gain below ``tol``) and, with
    ``verbose``, one line per iteration on stderr. A subclass may redefine ``converged``;
    point a model's ``monitor_`` at an instance before ``fit``."""

    _template = "{iter:>10d} {log_prob:>16.8f} {delta:>+16.8f}"

    def __init__(self, tol, n_iter, verbose):
        self.tol = tol
        self.n_iter = n_iter
        self.verbose = verbose
        self.history = deque()
        self.iter = 0

    def __repr__(self):
        params = sorted(dict(vars(self), history=list(self.history)).items())
        body = "".join(f"    {k}={v},\n" for k, v in params)
        return f"{type(self).__name__}(\n{body})"

    def _reset(self):
        self.iter = 0
        self.history.clear()

    def report(self, log_prob):
        if self.verbose:
            delta = log_prob - self.history[-1] if self.history else np.nan
            message = self._template.format(iter=self.iter + 1, log_prob=log_prob, delta=delta)
            print(message, file=sys.stderr)  # hmmlearn's verbose report
        self.history.append(log_prob)
        self.iter += 1

    @property
    def converged(self):
        return self.iter == self.n_iter or (
            len(self.history) >= 2 and self.history[-1] - self.history[-2] < self.tol
        )


class HMMLearnDropIn(DropIn):
    """What the hmmlearn drop-ins share. ``_letters`` maps hmmlearn's letter codes to
    genmodels' parameter names."""

    _letters: dict[str, str] = {"s": "startprob", "t": "transmat"}
    # genmodels' settings hmmlearn does not have: their defaults
    n_init = 1
    learn = None
    learning_decay = 0.7
    dtype = "float64"
    device = "cpu"
    _peer = "hmmlearn"

    def _hmmlearn_init(self, params, init_params, implementation) -> None:
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        self.monitor_ = ConvergenceMonitor(self.tol, self.n_iter, self.verbose)

    # -- letter codes -----------------------------------------------------------------------

    def _from_letters(self, codes, what: str) -> set[str]:
        if not isinstance(codes, str):
            raise ValueError(f"{what} must be a string of letter codes, got {codes!r}")
        return {name for letter, name in self._letters.items() if letter in codes}

    def _init_names(self) -> set[str]:
        # hmmlearn initialises what init_params names and whatever is not set
        names = self._from_letters(self.init_params, "init_params")
        letter = {name: code for code, name in self._letters.items()}
        for name in sorted(names):
            if self._is_set(name):  # hmmlearn's notice, on its logger's terms
                _log.warning(
                    "Even though the %r attribute is set, it will be overwritten during "
                    "initialization because 'init_params' contains %r",
                    name + "_",
                    letter[name],
                )
        return names | {n for n in self._all_params if not self._is_set(n)}

    def _learn_names(self) -> set[str]:
        return self._from_letters(self.params, "params")

    def _check_params(self) -> None:
        if self.implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"Unknown implementation {self.implementation!r}; use 'log' or 'scaling'"
            )
        spec = {**self._base_spec, **self._spec, **getattr(self, "_dropin_spec", {})}
        for name in ("init_params", "learn"):
            spec.pop(name, None)
        names = self.get_params(deep=False)  # genmodels' own settings keep their defaults
        validate_params(self, {k: v for k, v in spec.items() if k in names})

    # -- hmmlearn's answers -----------------------------------------------------------------

    def _converged(self, history) -> bool:
        self.monitor_.report(history[-1])
        return bool(self.monitor_.converged)

    def _after_fit(self) -> None:
        pass  # hmmlearn does not warn; monitor_ says whether EM converged

    def fit(self, X, lengths=None):
        self.monitor_._reset()
        return super().fit(X, lengths)

    def score(self, X, lengths=None) -> float:
        """The log-likelihood of ``X`` (all its sequences together), as hmmlearn's."""
        return float(np.sum(_sequence_log_likelihoods(self, X, lengths)))

    def score_samples(self, X, lengths=None):
        """``(log_prob, posteriors)``: the total log-likelihood and the (N, K) posteriors."""
        return self.score(X, lengths), self.predict_proba(X, lengths)

    def decode(self, X, lengths=None, algorithm=None):
        """``(log_prob, states)`` as hmmlearn: Viterbi's log p(x, z*) summed over the
        sequences, or for ``"map"`` hmmlearn's value, the sum of each frame's largest
        posterior (the top level answers log p(x) there)."""
        algorithm = self.algorithm if algorithm is None else algorithm
        if algorithm not in DECODER_ALGORITHMS:
            raise ValueError(f"Unknown decoder {algorithm!r}")
        if algorithm == "map":
            post = self.predict_proba(X, lengths)
            return float(post.max(axis=1).sum()), post.argmax(axis=1)
        return super().decode(X, lengths, algorithm)

    def sample(self, n_samples=1, random_state=None, currstate=None):
        """``(X, states)``: one sequence of ``n_samples`` frames, from ``currstate`` when
        given."""
        start = None
        if currstate is not None:
            self._ready()
            start = self.startprob_
            onehot = np.zeros(self.n_components)
            onehot[int(currstate)] = 1.0
            self.startprob_ = onehot
        try:
            X, Z = super().sample(
                1, length=n_samples, random_state=random_state, return_latent=True
            )
        finally:
            if start is not None:
                self.startprob_ = start
        return X[0], Z[0]

    def get_stationary_distribution(self):
        """The stationary distribution of ``transmat_`` (its left eigenvector for 1)."""
        check = np.asarray(self.transmat_, dtype=float)
        eigvals, eigvecs = np.linalg.eig(check.T)
        v = np.real(eigvecs[:, np.argmax(np.isclose(eigvals, 1))])
        return v / v.sum()

    def _check(self):
        """hmmlearn's parameter check (a ValueError naming what is wrong)."""
        self._check_params()
        self._check_hmm_params()


class BaseHMM(HMMLearnDropIn, _TopBaseHMM):
    """hmmlearn's ``BaseHMM``: a subclass supplies ``_compute_log_likelihood(X) -> (N, K)``
    (and, to sample, ``_generate_sample_from_state``); genmodels' kernel does the rest.
    It has no emission parameters to learn."""

    _emission_params = ()
    _letters = {"s": "startprob", "t": "transmat"}

    def __init__(
        self,
        n_components=1,
        startprob_prior=1.0,
        transmat_prior=1.0,
        algorithm="viterbi",
        random_state=None,
        n_iter=10,
        tol=1e-2,
        verbose=False,
        params=string.ascii_letters,
        init_params=string.ascii_letters,
        implementation="log",
    ):
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self._hmmlearn_init(params, init_params, implementation)

    def _compute_log_likelihood(self, X):
        raise NotImplementedError("a BaseHMM subclass defines _compute_log_likelihood(X)")

    def _sequences(self, X, lengths, *, fitting: bool):
        from ..hmm._sequences import check_sequences

        return check_sequences(X, lengths, owner=type(self).__name__)

    def _infer_n_features(self) -> int:
        return 0

    def _log_emission(self, ft: torch.Tensor) -> torch.Tensor:
        lp = np.asarray(self._compute_log_likelihood(to_numpy(ft)), dtype=float)
        return to_tensor(lp, ft.device, ft.dtype)

    def _init_emissions(self, frames, w_frames, rng, names) -> None:
        pass

    def _emission_stats(self, ft, gamma_w):
        from ..hmm.base import Stats

        return Stats()

    def _emission_m_step(self, stats, names) -> None:
        pass

    def _sample_emissions(self, states: torch.Tensor, gen) -> torch.Tensor:
        rng = np.random.RandomState(int(torch.randint(2**31 - 1, (1,), generator=gen)))
        rows = [np.atleast_1d(self._generate_sample_from_state(int(s), rng)) for s in states]
        return torch.as_tensor(np.array(rows, dtype=float).reshape(len(rows), -1))

    def _generate_sample_from_state(self, state, random_state):
        return ()

    def _n_emission_parameters(self) -> int:
        return 0
