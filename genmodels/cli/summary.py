"""What ``genmodels fit`` prints about a just-fitted model: its data and features, its
iterations or epochs (with a neural model's loss terms and active latent dimensions), its
training log-likelihood named for how it was made, and its BIC."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from .common import ACTIVE_VARIANCE, LIKELIHOOD_LABEL, feature_names, likelihood_method, num

if TYPE_CHECKING:
    from ..base import GenerativeModel


def fit_summary(
    model: GenerativeModel,
    X: np.ndarray,
    source: str,
    y: np.ndarray | None = None,
    *,
    lengths: np.ndarray | None = None,
) -> list[tuple[str, str]]:
    """Rows describing a just-fitted model on its training data ``X`` (labels ``y``; for a
    sequence model, ``X`` holds the frames of sequences of ``lengths``)."""
    caps = model.capabilities
    if isinstance(X, list) and X and isinstance(X[0], str):
        return _text_fit_summary(model, X, source)
    if caps.sequential:
        return _sequence_fit_summary(model, X, lengths, source)
    rows = [
        ("model", type(model).__name__),
        ("data", f"{X.shape[0]} samples x {X.shape[1]} features ({source})"),
        *feature_rows(model, X),
        *iteration_rows(model),
    ]
    if caps.neural:
        rows.extend(training_summary(model))
    if caps.prediction == "embedding":
        rows.extend(active_dimension_rows(model, X, y))
    kind = caps.likelihood
    conditioned = not caps.supervised and getattr(model, "classes_", None) is not None
    if kind != "none":
        rows.extend(likelihood_rows(model, X, y if conditioned else None))
    if (caps.supervised or conditioned) and y is not None:
        rows.append(("classes", ", ".join(str(c) for c in model.classes_)))
        if caps.prediction == "class":
            rows.append(("train accuracy", f"{np.mean(model.predict(X) == y):.4f}"))
    if kind == "exact" and caps.information_criteria:
        rows.append(("BIC", num(model.bic(X))))
    return rows


def active_dimension_rows(model: GenerativeModel, X, y) -> list[tuple[str, str]]:
    """How many latent dimensions the encoder uses on the training data (the variance of
    E[z | x] over the rows above ``ACTIVE_VARIANCE``), with a warning when none is: the
    posterior has collapsed onto the prior and every decoded code looks the same."""
    codes = model.transform(X, y) if model.capabilities.supervised else model.transform(X)
    codes = np.asarray(codes, dtype=np.float64)
    active = int(np.sum(codes.var(0) > ACTIVE_VARIANCE))
    dims = codes.shape[1]
    if active == 0:
        kl = model.fitted_attributes().get("history_", {}).get("kl", [])
        at = f" (KL {num(kl[-1])} nats in the last epoch)" if kl else ""
        warnings.warn(
            f"no latent dimension of {type(model).__name__} is active{at}: the posterior has "
            "collapsed onto the prior, so samples and interpolations ignore the data's "
            "variety; train longer (--set epochs=...), or anneal the KL term "
            "(--set kl_anneal_steps=...)",
            UserWarning,
            stacklevel=2,
        )
    note = f"variance of E[z | x] over the rows > {ACTIVE_VARIANCE:g}"
    return [("active latent dimensions", f"{active} of {dims} ({note})")]


def likelihood_rows(model: GenerativeModel, X, y=None) -> list[tuple[str, str]]:
    """The mean training log-likelihood, named for how it was made (see
    :func:`~genmodels.cli.common.likelihood_method`); for AIS models the log Z too. ``y``:
    the labels of a model conditioned on them (log p(x | y))."""
    # first: scoring computes (and caches) what the method reports
    mean = num(model.score(X) if y is None else float(np.mean(model.score_samples(X, y))))
    label, _, note = likelihood_method(model)
    if y is not None:
        label += " given the class"
    if model.capabilities.estimator == "ais":
        return [(f"train {label}", f"{mean} nats/sample (mean)"), ("log Z", note)]
    inline = f"; {note}" if note else ""
    return [(f"train {label}", f"{mean} nats/sample (mean{inline})")]


def feature_rows(model: GenerativeModel, X) -> list[tuple[str, str]]:
    """Which columns were the features, and how many of their cells were missing."""
    rows = []
    names = feature_names(model)
    if names is not None:
        shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
        rows.append(("features", shown))
    if isinstance(X, np.ndarray) and X.size:
        missing = int(np.isnan(X).sum())
        rows.append(("missing cells", f"{missing} of {X.size} ({missing / X.size:.1%})"))
    return rows


def iteration_rows(model: GenerativeModel) -> list[tuple[str, str]]:
    """``iterations  N (converged)`` for an iterative model (``capabilities.iterative``)."""
    if not model.capabilities.iterative:
        return []
    state = model.fitted_attributes()
    converged = state.get("converged_")  # the models with a convergence test have it
    note = "" if converged is None else (" (converged)" if converged else " (NOT converged)")
    return [("iterations", f"{state['n_iter_']}{note}")]


def training_summary(model: GenerativeModel) -> list[tuple[str, str]]:
    """Rows on a neural model's training: epochs, the last epoch's losses, the checkpoint."""
    state = model.fitted_attributes()
    history = state.get("history_", {})
    epochs = f"{state.get('n_epochs_', 0)}"
    if state.get("stopped_early_"):
        epochs += f" (stopped early; weights of epoch {state.get('best_epoch_')})"
    rows = [("epochs", epochs)]
    n = len(history.get("epoch_time", []))
    terms = (
        ("loss", "training loss"),
        ("recon", "reconstruction -log p(x|z)"),
        ("kl", "KL to the prior"),
        ("val_loss", "validation loss"),
    )
    for key, label in terms:
        values = history.get(key, [])
        if values and len(values) == n:  # scored every epoch, the last one included
            rows.append((f"{label} (last epoch)", num(values[-1])))
        elif values:  # e.g. validation data in an earlier run of a resumed fit only
            rows.append((f"{label} (last scored epoch)", num(values[-1])))
    folder = model.checkpoint_dir  # a neural model is resumable: it has checkpoint_dir
    if folder is not None:
        from ..nn import checkpoint_path

        rows.append(("checkpoint", str(checkpoint_path(folder))))
    return rows


def _sequence_fit_summary(
    model: GenerativeModel, frames: np.ndarray, lengths: np.ndarray, source: str
) -> list[tuple[str, str]]:
    n_seq, n_frames = len(lengths), int(np.sum(lengths))
    rows = [
        ("model", type(model).__name__),
        (
            "data",
            f"{n_seq} sequences, {n_frames} frames x {frames.shape[1]} features "
            f"(frames per sequence {int(np.min(lengths))}..{int(np.max(lengths))}; {source})",
        ),
        *feature_rows(model, frames),
        *iteration_rows(model),
    ]
    kind = model.capabilities.likelihood
    if kind != "none":
        ll = np.asarray(model.score_samples(frames, lengths), dtype=np.float64)
        label = LIKELIHOOD_LABEL.get(kind, kind)
        rows.append(
            (
                f"train {label}",
                f"{num(ll.mean())} nats/sequence (mean); {num(ll.sum() / n_frames)} nats/frame",
            )
        )
    if kind == "exact" and model.capabilities.information_criteria:
        rows.append(("BIC", num(model.bic(frames, lengths))))
    return rows


def audio_fit_summary(model: GenerativeModel, levels, wavs, source: str) -> list[tuple[str, str]]:
    """A model of audio's rows: the recordings, their rate and classes, training, and the
    exact training log-likelihood of the mu-law levels (given the labels, if any)."""
    n = sum(len(x) for x in levels)
    rate = wavs.sample_rate
    rows = [
        ("model", type(model).__name__),
        (
            "data",
            f"{len(levels)} recording(s), {n} samples at {rate} Hz ({n / rate:.1f} s; {source})",
        ),
        ("levels", f"{model.vocab_size_} (mu-law)"),
    ]
    if wavs.labels is not None:
        rows.append(("classes", ", ".join(str(c) for c in model.classes_)))
    rows.extend(training_summary(model))
    ll = float(np.sum(model.score_samples(levels, y=wavs.labels)))
    given = " given the class" if wavs.labels is not None else ""
    rows.append(
        (
            f"train log-likelihood{given}",
            f"{num(ll / n)} nats/sample ({num(-ll / n / np.log(2))} bits/sample)",
        )
    )
    return rows


def _text_fit_summary(
    model: GenerativeModel, texts: list[str], source: str
) -> list[tuple[str, str]]:
    """A text model's rows: the documents, the vocabulary, training, and the exact
    training log-likelihood per character (nats and bits)."""
    n_chars = sum(len(t) for t in texts)
    ended = getattr(model, "end_id_", None) is not None
    vocabulary = f"{model.vocab_size_} characters"
    per, note = "character", ""
    if ended:  # each text's end is one more token, scored with it
        vocabulary = f"{model.vocab_size_ - 1} characters and an end token"
        per, note = "token", "; a token is a character or a text's end"
        n_chars += len(texts)
    rows = [
        ("model", type(model).__name__),
        ("data", f"{len(texts)} text(s), {n_chars - ended * len(texts)} characters ({source})"),
        ("vocabulary", vocabulary),
    ]
    rows.extend(training_summary(model))
    ll = float(np.sum(model.score_samples(texts)))
    rows.append(
        (
            "train log-likelihood",
            f"{num(ll / n_chars)} nats/{per} ({num(-ll / n_chars / np.log(2))} bits/{per}{note})",
        )
    )
    return rows
