"""What every Boltzmann machine shares: fitting through the shared trainer, written once,
and the likelihood bookkeeping (log Z cached until the parameters change).

A model is a dict of parameter tensors ``P`` and a gradient: ``_gradient(P, v, mask,
chains, rnd, share)`` returns the ascent direction of the mean log-likelihood of a
mini-batch (data statistics minus model statistics, from CD-k, persistent CD or exact
enumeration) as a dict whose entries are tensors or pairs ``(A, B)`` meaning ``A.T @ B``:
a weight matrix's pair is applied by one in-place GEMM (``W.addmm_(A.T, B)``), never
materialised, so at small batches a step reads and writes W once. ``fit`` and
``partial_fit`` set the model up (validation split, initial parameters and chains, all
from one random stream) and hand it to the :class:`~genmodels.nn.Trainer` as a manual
task (``_training.py``), which owns mini-batches, the learning-rate schedule, the
per-epoch monitor (reconstruction error, and the exact log-likelihood when a layer is
small enough to enumerate cheaply), early stopping on the validation split with the best
epoch's parameters kept, checkpoints (``checkpoint_dir``; ``fit(X, resume=True)``
continues a killed run exactly), data parallelism under ``torchrun`` and the progress bar.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from abc import abstractmethod
from typing import Any

import numpy as np
import torch
from torch.utils.data import TensorDataset

from .. import attributes as A
from ..backend import data_dtype, resolve_device, resolve_dtype
from ..base import GenerativeModel
from ..nn import Trainer, TrainResult, World, checkpoint_owner, load_checkpoint
from ..validation import (
    BOOL,
    DEVICE,
    NONE,
    SEED,
    Interval,
    OneOf,
    Satisfies,
    check_is_fitted,
    check_n_features,
    check_random_state,
    validate_params,
)
from ._partition import LogPartition, check_betas, default_betas
from ._random import Random, draw_seed
from ._training import BoltzmannTask, Grad, Share

#: The per-epoch monitor computes the exact log-likelihood when the layer it would
#: enumerate has at most 2**16 states (milliseconds); beyond, only the reconstruction error.
MONITOR_MAX_LOG2_STATES = 16
#: Hyper-parameters that may change between a killed run and its resumption.
RUN_ONLY = {"n_iter", "verbose", "checkpoint_dir", "checkpoint_every"}

COMMON_SPEC: dict[str, list] = {
    "n_components": [Interval(int, 1, None)],
    "learning_rate": [Interval(float, 0.0, None, closed="neither")],
    "batch_size": [Interval(int, 1, None)],
    "n_iter": [Interval(int, 0, None)],
    "verbose": [BOOL, Interval(int, 0, None)],
    "random_state": [NONE, SEED],
    "method": [OneOf(("pcd", "cd"))],
    "n_gibbs_steps": [Interval(int, 1, None)],
    "n_chains": [NONE, Interval(int, 1, None)],
    "momentum": [Interval(float, 0.0, 1.0, closed="left")],
    "weight_decay": [Interval(float, 0.0, None)],
    "learning_rate_schedule": [OneOf(("constant", "linear"))],
    "shuffle": [BOOL],
    "validation_fraction": [NONE, Interval(float, 0.0, 1.0, closed="neither")],
    "n_iter_no_change": [Interval(int, 1, None)],
    "ais_runs": [Interval(int, 2, None)],
    "ais_betas": [Interval(int, 2, None)],
    "dtype": [NONE, OneOf(("float64", "float32"))],
    "device": [DEVICE],
    "checkpoint_dir": [NONE, Satisfies(lambda v: isinstance(v, str), "a folder path")],
    "checkpoint_every": [Interval(int, 1, None)],
}


def positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        kind = "a positive" if minimum == 1 else f"an integer >= {minimum}:"
        if minimum == 0:
            kind = "a non-negative"
        raise ValueError(f"{name} must be {kind} integer, got {value!r}")
    return int(value)


def _log_z_cache_ok(v, ctx) -> bool:
    """A cache read from a file: a fingerprint and entries (value, method, std, lower,
    upper, n_runs, n_betas) whose values are numbers, never NaN."""
    entries = v.get("entries")
    if not isinstance(v.get("key"), str) or not isinstance(entries, dict):
        return False
    for e in entries.values():
        if not (isinstance(e, tuple | list) and len(e) == 7 and e[1] in ("exact", "ais")):
            return False
        if not isinstance(e[0], numbers.Real) or math.isnan(e[0]):
            return False
    return True


def _one_chain_each(v, ctx) -> bool:
    n = ctx.get("n_chains")
    return len(v) == (ctx.get("batch_size") if n is None else n)


#: The persistent chains (PCD): one per n_chains (batch_size when None), 0/1 states.
CHAINS = A.Check(_one_chain_each, "one chain per n_chains (batch_size when it is None)")


class BaseBoltzmann(GenerativeModel):
    """Shared machinery of the Boltzmann machines (not registered itself).

    A subclass declares its hyper-parameters (``COMMON_SPEC`` plus its own) and provides
    the hooks below; fitted parameters live in public attributes (``components_`` ...)
    and become the tensor dict ``P`` through ``_params``, and back through ``_store``.
    """

    _param_spec: dict[str, list] = COMMON_SPEC
    _decayed: tuple[str, ...] = ("W",)  # the parameters weight decay applies to
    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    _fitted_spec = {
        "base_rate_": A.Attr(("n_features_in_",), constraints=(A.FINITE,)),
        "history_": A.HISTORY,
        "n_iter_": A.N_ITER,
        "n_updates_": A.Attr((), kind="int", constraints=(A.Range(0),)),
        "log_partition_cache_": A.Attr(
            kind="dict",
            constraints=(
                A.Check(_log_z_cache_ok, "a log Z cache: a key and (value, method, ...) entries"),
            ),
            optional=True,
        ),
    }
    _chains_attr = "h_samples_"

    # -- hooks ------------------------------------------------------------------------------

    @abstractmethod
    def _check_X(self, X, *, fitting: bool, scoring: bool = False):
        """Validated ``X`` as ``(values, mask)``: a float64 array and, for a model that takes
        missing entries, the (N, D) bool array of the present ones (None if all are)."""

    @abstractmethod
    def _encode(self, values: np.ndarray, mask, dev, dt) -> tuple[torch.Tensor, Any]:
        """The visible states (N, M) and the mask tensor (or None) of validated values."""

    @abstractmethod
    def _decode(self, v: torch.Tensor, mask=None) -> np.ndarray:
        """Visible states (N, M) back to rows of the user's data (N, D)."""

    @abstractmethod
    def _init_params(self, V, mask, rnd: Random) -> dict[str, torch.Tensor]:
        """Initial parameters (``base_rate_`` is already set from the training data)."""

    @abstractmethod
    def _base_rate(self, V, mask) -> torch.Tensor:
        """Visible biases of the base-rate model of the data ``V``."""

    @abstractmethod
    def _params(self, dev, dt) -> dict[str, torch.Tensor]:
        """The fitted parameters as fresh tensors (never views of the attributes)."""

    @abstractmethod
    def _store(self, P: dict[str, torch.Tensor]) -> None:
        """Write the parameter tensors to the fitted attributes."""

    @abstractmethod
    def _param_attrs(self) -> tuple[str, ...]:
        """Names of the attributes that hold parameters (log Z is cached under their hash)."""

    @abstractmethod
    def _gradient(
        self, P, v, mask, chains, rnd: Random, share: Share, work: dict | None = None
    ) -> tuple[dict[str, Grad], Any]:
        """Log-likelihood ascent direction on a mini-batch, and the new persistent chains
        (this process's share of both under ``torchrun``: see ``_training.Share``).
        ``work`` is a dict the model may keep buffers in from one update to the next (the
        statistics it returns may be views of them: they are applied before the next
        call)."""

    @abstractmethod
    def _init_chains(self, P, V, mask, n: int, rnd: Random):
        """Persistent chains (for PCD; else None), started from rows of ``V``."""

    @abstractmethod
    def _free_energy(self, P, v: torch.Tensor) -> torch.Tensor:
        """F(v), (N,)."""

    @abstractmethod
    def _reconstruction_error(self, P, v: torch.Tensor, mask) -> float:
        """Mean over rows of the summed squared error of the mean-field reconstruction."""

    @abstractmethod
    def _log2_states(self, P) -> float:
        """log2 of the number of states of the layer that exact log Z would enumerate."""

    @abstractmethod
    def _log_z_rows(self, P, masks, *, method: str, ais: dict, seed) -> list[LogPartition]:
        """log Z of the model (``masks`` None) or of each mask row's restricted model."""

    def _constrain(self, P: dict[str, torch.Tensor]) -> None:
        """Project the parameters back onto their domain after an update (default: none)."""

    def _check_method(self, mask) -> None:
        """Refuse what the model cannot train on (subclasses add their cases)."""

    # -- set-up -----------------------------------------------------------------------------

    def _setup(self) -> tuple[torch.device, torch.dtype]:
        """Device and training dtype (``dtype=None``: float64)."""
        return resolve_device(self.device), resolve_dtype(self._dtype_name())

    def _dtype_name(self, X=None) -> str:
        """The training dtype: ``dtype``, and for ``dtype=None`` float64 (the data's dtype
        only sets how the fitted arrays are stored, see ``_attr_dtype``)."""
        return "float64" if self.dtype is None else self.dtype

    def _keep_data_dtype(self, X) -> None:
        """At the first fit: remember whether the fitted arrays are stored in float32
        (``dtype=None`` and float32 training data, as scikit-learn keeps them)."""
        self._float32_attrs = self.dtype is None and data_dtype(X) == "float32"

    def _attr_dtype(self):
        """The numpy dtype of the fitted arrays and of ``transform``'s output: float64, or
        float32 when ``dtype=None`` and the training data were float32."""
        if self.dtype is not None:
            return np.float64
        keep = self.__dict__.get("_float32_attrs")
        if keep is None:  # a loaded model: as it was stored
            keep = self._is_fitted() and np.asarray(self.components_).dtype == np.float32
        return np.float32 if keep else np.float64

    def _epoch_end(self, epoch: int, P, V, M) -> None:
        """Called after every training epoch with the parameters and the training rows
        (``genmodels.sklearn.BernoulliRBM`` prints scikit-learn's verbose line here)."""

    def _progress_verbose(self) -> int:
        """The progress bar's verbosity (the ``verbose`` hyper-parameter)."""
        return int(self.verbose)

    def _is_fitted(self) -> bool:
        return "components_" in vars(self)

    def _check_fitted(self) -> None:
        check_is_fitted(self, "components_")

    def _reset(self) -> None:
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, key)
        for key in ("_velocity", "_rng", "_log_z_cache", "_gibbs_stream", "_float32_attrs"):
            self.__dict__.pop(key, None)

    def _visible_shape(self) -> tuple[int, ...]:
        """The shape of one visible vector's parameters (D,), or (D, K) for categories."""
        return (self.n_features_in_,)

    def _n_chains(self) -> int:
        return self.n_chains if self.n_chains is not None else self.batch_size

    def _checked(self, X, *, scoring: bool = False):
        """(V, mask) tensors of ``X`` for inference on the fitted model, in float64."""
        self._check_fitted()
        values, mask = self._check_X(X, fitting=False, scoring=scoring)
        check_n_features(values, self.n_features_in_, type(self).__name__)
        return self._encode(values, mask, self._setup()[0], torch.float64)

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, X, y=None, *, resume: bool = False):
        """Fit by stochastic gradient ascent on the log-likelihood (``method``) for
        ``n_iter`` epochs of mini-batches; returns ``self``. With ``checkpoint_dir`` set,
        a checkpoint is written every ``checkpoint_every`` epochs; ``resume=True``
        continues from it (the same model and hyper-parameters; ``n_iter`` may be raised)
        exactly as if the run had never stopped, or starts afresh when there is none."""
        validate_params(self, self._param_spec)
        if resume and self.checkpoint_dir is None:
            raise ValueError("resume=True needs checkpoint_dir, the folder to resume from")
        values, mask = self._check_X(X, fitting=True)
        self._reset()
        self._remember_features(X, values)
        self._keep_data_dtype(X)
        dev, dt = self._setup()
        rnd = Random.from_seed(self._run_seed(resume), dev)
        V, M = self._encode(values, mask, dev, dt)
        self._check_method(M)
        val = None
        if self.validation_fraction is not None:
            n = V.shape[0]
            n_val = max(1, int(round(n * self.validation_fraction)))
            if n - n_val < 1:
                raise ValueError(
                    f"{type(self).__name__}: validation_fraction={self.validation_fraction} "
                    f"leaves no training rows out of {n}"
                )
            order = rnd.permutation(n).to(dev)
            val = _rows(V, M, order[:n_val])
            V, M = _rows(V, M, order[n_val:])
        self.base_rate_ = _numpy(self._base_rate(V, M)).reshape(self._visible_shape())
        P = self._init_params(V, M, rnd)
        chains = self._init_chains(P, V, M, self._n_chains(), rnd)
        self.history_ = {"reconstruction_error": [], "validation_score": []}
        task = BoltzmannTask(self, P, chains, rnd, V, M, val)
        trainer = self._trainer(self.n_iter, dev, rnd.seed, validating=val is not None)
        result = trainer.fit(task, _dataset(V, M), resume=resume)
        self.n_iter_ = result.epochs_run
        self.n_updates_ = 0
        self._record(task, result)
        return self

    def partial_fit(self, X, y=None):
        """One epoch over ``X`` in mini-batches of ``batch_size`` (a single update when
        ``X`` has at most ``batch_size`` rows), from the current parameters; the first call
        initialises the model. Momentum and the persistent chains carry over between calls,
        the learning rate is constant, and successive calls continue one random stream.
        (No checkpoints: the caller owns the loop.)"""
        validate_params(self, self._param_spec)
        first = not self._is_fitted()
        values, mask = self._check_X(X, fitting=first)
        if not first:
            check_n_features(values, self.n_features_in_, type(self).__name__)
        if first:
            self._keep_data_dtype(X)
        dev, dt = self._setup()
        if "_rng" not in vars(self):
            self._rng = check_random_state(self.random_state)
        rnd = Random(self._rng, dev)
        V, M = self._encode(values, mask, dev, dt)
        self._check_method(M)
        if first:
            self._remember_features(X, values)
            self.base_rate_ = _numpy(self._base_rate(V, M)).reshape(self._visible_shape())
            P = self._init_params(V, M, rnd)
            chains = self._init_chains(P, V, M, self._n_chains(), rnd)
            self.history_ = {"reconstruction_error": [], "validation_score": []}
            self.n_updates_ = 0
            self.n_iter_ = 0
        else:
            P = self._params(dev, dt)
            chains = self._stored_chains(P, V, M, rnd)
        task = BoltzmannTask(self, P, chains, rnd, V, M, None, self.__dict__.get("_velocity"))
        trainer = self._trainer(
            1,
            dev,
            rnd.seed,
            validating=False,
            streaming=True,
            batch_size=self._partial_fit_batch_size(V.shape[0]),
        )
        result = trainer.fit(task, _dataset(V, M))
        self.n_iter_ += 1
        self._record(task, result)
        return self

    def _run_seed(self, resume: bool) -> int:
        """The seed of the run's random stream: drawn from ``random_state`` (as ever), the
        same on every process under ``torchrun`` (rank 0's), and when resuming without a
        ``random_state`` the one the checkpointed run drew."""
        if resume and self.random_state is None:
            saved = load_checkpoint(self.checkpoint_dir, owner=self._checkpoint_owner())
            if saved is not None:
                return int(saved["extra"]["seed"])
        return World.current().agree(draw_seed(check_random_state(self.random_state)))

    def _checkpoint_owner(self) -> dict[str, Any]:
        return checkpoint_owner(self, RUN_ONLY)

    def _partial_fit_batch_size(self, n_rows: int) -> int:
        """Rows per update in ``partial_fit`` (``batch_size``; the scikit-learn drop-in
        takes one update on all the rows given, as scikit-learn's)."""
        return self.batch_size

    def _trainer(
        self,
        n_epochs: int,
        dev,
        seed: int,
        *,
        validating: bool,
        streaming=False,
        batch_size: int | None = None,
    ):
        """The trainer of ``n_epochs`` epochs: the task updates itself at the scheduled
        rate (constant, or falling linearly over the epochs), early stopping watches the
        validation score (strictly higher is better, as ever). ``streaming`` (an epoch of
        ``partial_fit``): a constant rate and no checkpoints."""
        linear = self.learning_rate_schedule == "linear" and not streaming
        return Trainer(
            epochs=n_epochs,
            batch_size=self.batch_size if batch_size is None else batch_size,
            optimizer="manual",
            epochs_name="n_iter",
            lr=float(self.learning_rate),
            lr_schedule="linear" if linear else "constant",
            schedule_by="epoch",
            early_stopping=self.n_iter_no_change if validating else None,
            monitor="validation_score" if validating else None,
            monitor_mode="max",
            min_delta=0.0,
            device=dev,
            mixed_precision="float32",
            checkpoint_dir=None if streaming else self.checkpoint_dir,
            checkpoint_every=self.checkpoint_every,
            seed=seed,
            verbose=self._progress_verbose(),
            desc=f"{type(self).__name__} {self.method}",
            owner=self._checkpoint_owner(),
        )

    def _record(self, task: BoltzmannTask, result: TrainResult) -> None:
        """The trained parameters, chains, momentum and history onto the model."""
        for key in ("reconstruction_error", "log_likelihood", "validation_score"):
            if key in result.history:
                self.history_.setdefault(key, []).extend(result.history[key])
        self.n_updates_ += result.group_steps["model"]
        if task.velocity is not None:
            self._velocity = task.velocity
        self._finish(task.P, task.chains)

    def _uses_chains(self) -> bool:
        return self.method == "pcd"

    def _stored_chains(self, P, V, M, rnd):
        """The persistent chains kept on the model, or new ones if they do not fit."""
        if not self._uses_chains():
            return None
        stored = self.__dict__.get(self._chains_attr)
        width = self._chain_width(P)
        if stored is not None and np.shape(stored) == (self._n_chains(), width):
            return torch.tensor(stored, dtype=P["W"].dtype, device=P["W"].device)
        return self._init_chains(P, V, M, self._n_chains(), rnd)

    def _chain_width(self, P) -> int:
        return P["W"].shape[0]

    def _finish(self, P, chains) -> None:
        self._store(P)
        if chains is not None:
            setattr(self, self._chains_attr, _numpy(chains))
        self.__dict__.pop("_log_z_cache", None)

    def _cheap_exact(self, P) -> bool:
        return self._log2_states(P) <= MONITOR_MAX_LOG2_STATES

    def _monitor(self, P, V, M) -> dict[str, float]:
        out = {"reconstruction_error": self._reconstruction_error(P, V, M)}
        if self._cheap_exact(P):
            out["log_likelihood"] = float(self._exact_log_likelihood(P, V, M).mean())
        return out

    def _validation_score(self, P, V, M) -> float:
        if self._cheap_exact(P):
            return float(self._exact_log_likelihood(P, V, M).mean())
        return -self._reconstruction_error(P, V, M)

    # -- likelihood -------------------------------------------------------------------------

    def _param_key(self) -> str:
        """A fingerprint of the fitted parameters: log Z is cached under it."""
        digest = hashlib.blake2b(digest_size=16)
        for name in self._param_attrs():
            arr = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            digest.update(f"{name}{arr.shape}".encode())
            digest.update(arr.tobytes())
        return digest.hexdigest()

    def _cache(self) -> dict[str, LogPartition]:
        """The log Z cache of the current parameters (emptied when they changed)."""
        key = self._param_key()
        cache = self.__dict__.get("_log_z_cache")
        if cache is None or cache["key"] != key:
            cache = {"key": key, "entries": {}}
            self._log_z_cache = cache
        return cache["entries"]

    def _default_ais(self) -> dict:
        return {
            "n_runs": self.ais_runs,
            "betas": default_betas(self.ais_betas).tolist(),
            "chain_dtype": torch.float32,
        }

    def _cached_log_z(self, P, masks) -> torch.Tensor:
        """log Z for each row's mask (N,), or 0-d without masks: from the cache when the
        parameters are unchanged, else computed ("auto", the model's AIS settings) — all
        missing patterns at once — and cached."""
        entries = self._cache()
        seed = self.random_state if self.random_state is not None else 0
        if masks is None:
            if "all" not in entries:
                entries["all"] = self._log_z_rows(
                    P, None, method="auto", ais=self._default_ais(), seed=seed
                )[0]
            return torch.tensor(entries["all"].value, dtype=torch.float64)
        patterns, inverse = torch.unique(masks.bool(), dim=0, return_inverse=True)
        keys = [_pattern_key(p) for p in patterns.cpu().numpy()]
        todo = [i for i, k in enumerate(keys) if k not in entries]
        if todo:
            found = self._log_z_rows(
                P, patterns[todo], method="auto", ais=self._default_ais(), seed=seed
            )
            for i, res in zip(todo, found, strict=True):
                entries[keys[i]] = res
        values = torch.tensor([entries[k].value for k in keys], dtype=torch.float64)
        return values[inverse.cpu()]

    def _exact_log_likelihood(self, P, V, M) -> torch.Tensor:
        """Exact log p(v) (N,) in float64, enumerating, without the cache (the monitor)."""
        P64 = {k: t.to(torch.float64) for k, t in P.items()}
        fe = self._free_energy(P64, V.to(torch.float64))
        if M is None:
            res = self._log_z_rows(P64, None, method="exact", ais={}, seed=0)
            return -fe - res[0].value
        patterns, inverse = torch.unique(M.bool(), dim=0, return_inverse=True)
        res = self._log_z_rows(P64, patterns, method="exact", ais={}, seed=0)
        log_z = torch.tensor([r.value for r in res], dtype=torch.float64, device=fe.device)
        return -fe - log_z[inverse]

    def score_samples(self, X) -> np.ndarray:
        """log p(x) of each row in nats: -F(x) - log Z.

        log Z is exact when the layer to enumerate has at most 2**20 states; otherwise it is
        an AIS **estimate** (``ais_runs`` runs over ``ais_betas`` temperatures, seeded with
        ``random_state``), and so are these values. It is computed once and cached until the
        parameters change; a ``log_partition`` call beforehand (other settings, or exact)
        supplies the value used. See ``log_partition`` for the estimate's uncertainty."""
        V, M = self._checked(X, scoring=True)
        P = self._params(V.device, torch.float64)
        log_z = self._cached_log_z(P, M).to(V.device)
        return (-self._free_energy(P, V) - log_z).cpu().numpy().astype(np.float64)

    def free_energy(self, X) -> np.ndarray:
        """F(x) = -log sum_h exp(-E(x, h)) of each row, so that p(x) = exp(-F(x)) / Z."""
        V, _ = self._checked(X)
        return _numpy(self._free_energy(self._params(V.device, torch.float64), V))

    def log_partition(
        self,
        method: str = "auto",
        *,
        n_runs: int | None = None,
        n_betas: int | None = None,
        betas=None,
        chain_dtype: str = "float32",
        random_state=None,
    ) -> LogPartition:
        """log Z of the fitted model, in nats.

        ``"exact"`` enumerates the smaller layer (at most 2**20 states); ``"ais"`` runs
        annealed importance sampling from the base-rate model (``n_runs`` runs, default
        ``ais_runs``; ``n_betas`` inverse temperatures on Salakhutdinov & Murray's schedule,
        default ``ais_betas``, or an explicit increasing ``betas`` from 0 to 1) and returns
        the estimate with its standard deviation and a ±3 standard-error interval;
        ``"auto"`` is exact when possible. The AIS chains run in ``chain_dtype`` (float32
        is twice as fast; the log-weights are always summed in float64, so the estimate
        moves by far less than its standard deviation). ``random_state`` seeds AIS (default:
        the model's ``random_state``, else 0). The result is cached: ``score_samples`` uses
        it until the parameters change (an exact value is never replaced by an estimate)."""
        self._check_fitted()
        if method not in ("auto", "exact", "ais"):
            raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}")
        runs = self.ais_runs if n_runs is None else positive_int(n_runs, "n_runs", 2)
        if betas is None:
            nb = self.ais_betas if n_betas is None else positive_int(n_betas, "n_betas", 2)
            schedule = default_betas(nb).tolist()
        else:
            schedule = check_betas(betas)
        ais = {"n_runs": runs, "betas": schedule, "chain_dtype": resolve_dtype(chain_dtype)}
        if random_state is None:
            random_state = self.random_state if self.random_state is not None else 0
        dev, _ = self._setup()
        P = self._params(dev, torch.float64)
        result = self._log_z_rows(P, None, method=method, ais=ais, seed=random_state)[0]
        entries = self._cache()
        old = entries.get("all")
        if old is None or not (old.method == "exact" and result.method != "exact"):
            entries["all"] = result
        return result

    def scoring_log_partition(self, compute: bool = True) -> LogPartition | None:
        """The log Z that ``score_samples`` uses for complete rows, with how it was got
        (``method`` "exact" or "ais", and AIS's spread and runs): from the cache, else
        computed as ``score_samples`` would ("auto", the model's ``ais_runs`` and
        ``ais_betas``) and cached, or None when not cached and ``compute`` is False."""
        self._check_fitted()
        if not compute:
            return self._cache().get("all")
        dev, _ = self._setup()
        self._cached_log_z(self._params(dev, torch.float64), None)
        return self._cache()["all"]

    def _fitted_state(self) -> dict[str, Any]:
        """Fitted attributes, plus the cached log Z values (so a loaded model scores without
        re-running AIS; they are kept under a fingerprint of the parameters)."""
        state = super()._fitted_state()
        cache = self.__dict__.get("_log_z_cache")
        if self._is_fitted() and cache is not None and cache["entries"]:
            if cache["key"] == self._param_key():
                state["log_partition_cache_"] = {
                    "key": cache["key"],
                    "entries": {
                        k: (r.value, r.method, r.std, r.lower, r.upper, r.n_runs, r.n_betas)
                        for k, r in cache["entries"].items()
                    },
                }
        return state

    def _restore_state(self, state: dict[str, Any]) -> None:
        state = dict(state)
        cache = state.pop("log_partition_cache_", None)
        super()._restore_state(state)
        if cache is not None:
            entries = {k: LogPartition(*v) for k, v in cache["entries"].items()}
            self._log_z_cache = {"key": cache["key"], "entries": entries}

    # -- sampling ---------------------------------------------------------------------------

    @staticmethod
    def _sample_args(n_samples, burn_in, n_steps, n_chains) -> tuple[int, int, int, int]:
        n_samples = positive_int(n_samples, "n_samples")
        burn_in = positive_int(burn_in, "burn_in", 0)
        n_steps = positive_int(n_steps, "n_steps")
        chains = n_samples if n_chains is None else positive_int(n_chains, "n_chains")
        return n_samples, burn_in, n_steps, min(chains, n_samples)

    def _gibbs_rng(self, random_state) -> np.random.RandomState:
        """``random_state``'s generator, or (None) one stream kept on the model across
        ``gibbs`` calls, seeded by the model's ``random_state`` (as scikit-learn's)."""
        if random_state is not None:
            return check_random_state(random_state)
        if "_gibbs_stream" not in vars(self):
            self._gibbs_stream = check_random_state(self.random_state)
        return self._gibbs_stream


def _rows(V, M, idx):
    return V.index_select(0, idx), (None if M is None else M.index_select(0, idx))


def _dataset(V, M) -> TensorDataset:
    """The training rows (and their masks) as the trainer's dataset."""
    return TensorDataset(V) if M is None else TensorDataset(V, M)


def _numpy(t: torch.Tensor, dtype=np.float64) -> np.ndarray:
    """A float64 (or ``dtype``) numpy copy (never a view of a tensor that training keeps
    updating)."""
    return t.detach().cpu().to(torch.float64).numpy().astype(dtype, copy=True)


def _pattern_key(row: np.ndarray) -> str:
    return np.packbits(row.astype(bool)).tobytes().hex() + f":{row.size}"
