"""``Synthesizer``: fit a table of mixed columns, sample new rows like it.

The table goes through a :class:`~genmodels.tabular.encoder.TableEncoder` (column kinds
inferred or given, mode-specific normalisation of numbers, one-hot categories, missing
values as their own level or indicator) and one of the library's models fits the encoded
rows:

* ``"vae"``: a :class:`~genmodels.vae.VAE` with the ``mixed`` likelihood (a Gaussian for
  each offset, a softmax for each one-hot group), TVAE's design (Xu et al. 2019): an MLP
  of two 128-unit layers each way, a 128-dimensional code, batches of 500, Adam at 1e-3
  with weight decay 1e-5, and the KL term weighted 1/2 (TVAE's loss factor of 2 on the
  reconstruction);
* ``"gmm"``: a :class:`~genmodels.mixture.GaussianMixture` over the encoded rows (full
  covariances, float32, at most 50 EM steps), sampled and decoded (the largest entry of a
  one-hot group wins);
* ``"auto"``: ``"gmm"`` when the encoded row has at most :data:`AUTO_GMM_FEATURES`
  features (its full covariances cost features squared per component), ``"vae"`` for
  wider tables. On UCI Adult (152 encoded features) the mixture had the better quality
  and efficacy of the two at the budget measured in docs/results.md.

* ``"gan"``: a :class:`~genmodels.gan.TabularGAN`, CTGAN's design (Xu et al. 2019): a
  conditional vector over the categorical columns with training by sampling, tanh and
  Gumbel-softmax outputs, a residual generator, a PacGAN WGAN-GP critic, and CTGAN's
  optimiser settings (Adam at 2e-4, betas (0.5, 0.9), weight decay 1e-6; ``epochs`` and
  ``batch_size`` shared with the VAE);

Samples come back as a DataFrame with the input's columns, order and dtypes; integers stay
integers, values stay within the observed range, missing values come back at the rate the
model learnt. Same ``random_state``, same fit and same samples. ``verbose=1`` (the default)
shows a progress bar with the losses, and a warning (logger ``"genmodels"``) says when a fit
will take long. Model files are safetensors with JSON metadata (format
``"genmodels-tabular"``); never a pickle.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator

from .._version import __version__
from ..exceptions import ModelFileError, NotFittedError
from ..persistence import instance_from_params, model_from_parts, model_parts, read_own_format
from ..progress import logger
from ..validation import DEVICE, NONE, SEED, Interval, OneOf, Satisfies, validate_params
from ._columns import KINDS
from .encoder import TableEncoder, as_frame

FORMAT = "genmodels-tabular"
FORMAT_VERSION = 1
MODELS: tuple[str, ...] = ("auto", "gmm", "vae", "gan")
#: ``model="auto"`` fits the mixture to encoded rows of at most this many features, else
#: the VAE.
AUTO_GMM_FEATURES = 256
#: The VAE's epochs when ``epochs`` is None (TVAE's default).
DEFAULT_EPOCHS = 300
#: A fit estimated to take longer than this many seconds is announced with a warning.
SLOW_SECONDS = 60.0


def _is_column_map(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and x in KINDS for k, x in v.items())


class Synthesizer(BaseEstimator):
    """Synthetic tables: a model of a table's rows that samples new ones (see the module
    docstring).

    Parameters
    ----------
    model : {"auto", "gmm", "vae", "gan"}, default "auto"
    columns : dict of column name -> kind, optional
        Kinds that override the inferred ones: ``"continuous"``, ``"integer"``,
        ``"categorical"``, ``"boolean"``, ``"datetime"``.
    epochs : int, optional
        The VAE's and the GAN's training epochs (default :data:`DEFAULT_EPOCHS`).
    batch_size, latent_dim, hidden_dims, lr, weight_decay, beta : the VAE's (TVAE's values);
        the GAN takes ``batch_size`` and keeps CTGAN's own settings for the rest.
    n_components : int, default 10
        The mixture's components (``"gmm"``; at most the number of rows).
    max_modes : int, default 10
        The most modes a numeric column's normalisation may have.
    random_state : int, default 0
        Seeds the encoder, the model and, when ``sample`` is given none, the samples.
    verbose : int, default 1
        1: progress bars with the losses, and a warning when a fit will be slow.
    device : "cpu", "cuda", "cuda:N" or "auto"

    Attributes
    ----------
    encoder_ : TableEncoder, the fitted table encoding.
    model_ : the fitted GaussianMixture, VAE or TabularGAN on the encoded rows.
    model_name_ : "gmm", "vae" or "gan" (what ``"auto"`` chose).
    column_kinds_ : dict, each column's kind.
    n_rows_ : int, training rows.
    fit_seconds_ : float, the wall time of the last fit.
    history_ : dict, the VAE's or GAN's per-epoch losses, or the mixture's ``lower_bounds_``.
    """

    _param_spec = {
        "model": [OneOf(MODELS)],
        "columns": [NONE, Satisfies(_is_column_map, f"a dict of column name -> one of {KINDS}")],
        "epochs": [NONE, Interval(int, 1, None)],
        "batch_size": [Interval(int, 1, None)],
        "latent_dim": [Interval(int, 1, None)],
        "hidden_dims": [
            Satisfies(
                lambda v: (
                    isinstance(v, tuple | list) and all(isinstance(h, int) and h > 0 for h in v)
                ),
                "a tuple of positive integers",
            )
        ],
        "lr": [Interval(float, 0, None, closed="neither")],
        "weight_decay": [Interval(float, 0, None)],
        "beta": [Interval(float, 0, None)],
        "n_components": [Interval(int, 1, None)],
        "max_modes": [Interval(int, 1, None)],
        "random_state": [SEED],
        "verbose": [Interval(int, 0, None)],
        "device": [DEVICE],
    }

    def __init__(
        self,
        model: str = "auto",
        *,
        columns: dict[str, str] | None = None,
        epochs: int | None = None,
        batch_size: int = 500,
        latent_dim: int = 128,
        hidden_dims: tuple[int, ...] = (128, 128),
        lr: float = 1e-3,
        weight_decay: float = 1e-5,
        beta: float = 0.5,
        n_components: int = 10,
        max_modes: int = 10,
        random_state: int = 0,
        verbose: int = 1,
        device: str = "cpu",
    ):
        self.model = model
        self.columns = columns
        self.epochs = epochs
        self.batch_size = batch_size
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.lr = lr
        self.weight_decay = weight_decay
        self.beta = beta
        self.n_components = n_components
        self.max_modes = max_modes
        self.random_state = random_state
        self.verbose = verbose
        self.device = device

    # -- fit -------------------------------------------------------------------------------

    def fit(self, data) -> Synthesizer:
        """Fit ``data`` (a pandas DataFrame, a dict of columns or a numpy structured
        array) and return ``self``."""
        validate_params(self, self._param_spec)
        t0 = time.perf_counter()
        frame = as_frame(data)
        seed = self._seed()
        encoder = TableEncoder(self.columns, int(self.max_modes), seed).fit(frame)
        X = encoder.transform(frame)
        if X.shape[1] == 0:
            raise ValueError("every column of the table is constant: there is nothing to model")
        name = self.model
        if name == "auto":
            name = "gmm" if X.shape[1] <= AUTO_GMM_FEATURES else "vae"
        if name == "gmm":
            inner = self._gmm(len(frame))
        elif name == "gan":
            inner = self._gan(encoder, len(frame))
        else:
            inner = self._vae(encoder, len(frame))
        if name in ("vae", "gan") and self.verbose:
            self._announce_if_slow(inner, X, name)
        inner.fit(X)
        self.encoder_, self.model_, self.model_name_ = encoder, inner, name
        self.column_kinds_ = dict(encoder.kinds_)
        self.n_rows_ = len(frame)
        self.history_ = (
            {"lower_bound": list(inner.lower_bounds_)} if name == "gmm" else dict(inner.history_)
        )
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _seed(self) -> int:
        rs = self.random_state
        return int(rs) if isinstance(rs, int | np.integer) else int(rs.randint(0, 2**31 - 1))

    def _gmm(self, n_rows: int):
        from ..mixture import GaussianMixture

        return GaussianMixture(
            min(int(self.n_components), n_rows),
            covariance_type="full",
            reg_covar=1e-3,
            max_iter=50,
            dtype="float32",
            random_state=self._seed(),
            verbose=int(self.verbose),
            device=self.device,
        )

    def _vae(self, encoder: TableEncoder, n_rows: int, epochs: int | None = None):
        from ..vae import VAE

        return VAE(
            latent_dim=int(self.latent_dim),
            hidden_dims=tuple(self.hidden_dims),
            likelihood="mixed",
            feature_groups=encoder.groups_,
            beta=float(self.beta),
            epochs=int(epochs or self.epochs or DEFAULT_EPOCHS),
            batch_size=min(int(self.batch_size), n_rows),
            lr=float(self.lr),
            weight_decay=float(self.weight_decay),
            device=self.device,
            mixed_precision="float32",
            random_state=self._seed(),
            verbose=int(self.verbose),
        )

    def _gan(self, encoder: TableEncoder, n_rows: int):
        from ..gan import TabularGAN

        return TabularGAN(
            feature_groups=encoder.groups_,
            conditional_groups=encoder.category_groups(),
            epochs=int(self.epochs or DEFAULT_EPOCHS),
            batch_size=min(int(self.batch_size), n_rows),
            device=self.device,
            random_state=self._seed(),
            verbose=int(self.verbose),
        )

    def _announce_if_slow(self, vae, X: np.ndarray, name: str) -> None:
        """Time two short epochs of a throwaway copy (the second, warm one counts) and
        warn when the whole fit will take more than :data:`SLOW_SECONDS` at that pace."""
        rows = min(len(X), 2 * vae.batch_size)
        trial = type(vae)(**{**vae.get_params(), "epochs": 2, "verbose": 0})
        with torch.random.fork_rng(devices=[]):
            trial.fit(X[:rows])
        per_step = trial.history_["epoch_time"][-1] / math.ceil(rows / vae.batch_size)
        estimate = per_step * vae.epochs * math.ceil(len(X) / vae.batch_size)
        if estimate > SLOW_SECONDS:
            logger.warning(
                "Synthesizer(model=%r): %d rows x %d encoded columns for %d epochs will "
                "take about %s here; fewer epochs= or model='gmm' fit faster",
                name,
                len(X),
                X.shape[1],
                vae.epochs,
                _duration(estimate),
            )

    # -- sample ----------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                "This Synthesizer is not fitted yet. Call 'fit' with a table, or load a "
                "saved one, before sampling."
            )

    def sample(self, n_samples: int, *, random_state=None):
        """``n_samples`` new rows: a DataFrame with the training table's columns, order
        and dtypes. Without ``random_state`` the synthesizer's own is used (the same
        rows each call)."""
        self._check_fitted()
        if (
            isinstance(n_samples, bool)
            or not isinstance(n_samples, int | np.integer)
            or (n_samples < 1)
        ):
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        rs = self.random_state if random_state is None else random_state
        X = self.model_.sample(int(n_samples), random_state=rs)
        return self.encoder_.inverse_transform(X)

    # -- files -----------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the synthesizer to one ``.safetensors`` file (atomically; never a pickle)."""
        self._check_fitted()
        from safetensors.numpy import save as st_save

        tensors, inner = model_parts(self.model_)
        params = self.get_params(deep=False)
        if not isinstance(params["random_state"], int | np.integer):
            params["random_state"] = self._seed()
        params["hidden_dims"] = list(params["hidden_dims"])
        metadata = {
            "format": FORMAT,
            "format_version": str(FORMAT_VERSION),
            "library_version": __version__,
            "class": type(self).__name__,
            "params": json.dumps(params),
            "encoder": json.dumps(self.encoder_.to_state()),
            "model": json.dumps(inner),
            "attributes": json.dumps(
                {
                    "model_name_": self.model_name_,
                    "n_rows_": self.n_rows_,
                    "fit_seconds_": self.fit_seconds_,
                    "history_": self.history_,
                }
            ),
        }
        data = st_save({f"model/{k}": v for k, v in tensors.items()}, metadata=metadata)
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Synthesizer:
        """A synthesizer saved with :meth:`save` (checked before use; never unpickles). A
        file that is not one is a :class:`~genmodels.exceptions.ModelFileError` saying why."""
        from safetensors.numpy import load as st_load

        path = Path(path)
        data, meta = read_own_format(
            path, FORMAT, FORMAT_VERSION, "synthesizer file", "Synthesizer.save"
        )
        try:
            params = json.loads(meta["params"])
            params["hidden_dims"] = tuple(params["hidden_dims"])
            encoder = TableEncoder.from_state(json.loads(meta["encoder"]))
            inner_meta = json.loads(meta["model"])
            attrs = json.loads(meta["attributes"])
            tensors = {k.removeprefix("model/"): v for k, v in st_load(data).items()}
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelFileError(f"{path}: corrupt synthesizer file ({exc})") from None
        synth = instance_from_params(cls, params, path)
        inner = model_from_parts(inner_meta, tensors, path)
        if inner.n_features_in_ != encoder.n_features_:
            raise ModelFileError(
                f"{path}: the model takes {inner.n_features_in_} features, the table "
                f"encoding has {encoder.n_features_}"
            )
        synth.encoder_, synth.model_ = encoder, inner
        synth.model_name_ = attrs["model_name_"]
        synth.column_kinds_ = dict(encoder.kinds_)
        synth.n_rows_ = int(attrs["n_rows_"])
        synth.fit_seconds_ = float(attrs["fit_seconds_"])
        synth.history_ = attrs["history_"]
        return synth


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
