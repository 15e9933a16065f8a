"""The one trainer every neural model uses (``genmodels.nn``): properties, not just smoke.

Models here are tiny (a VAE 12-16-2 on 300 binary rows, and the unregistered deterministic
models of ``_neural_models``); the hand-written tasks drive :class:`Trainer` directly,
without a model around it, where a property is about the loop alone.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from _neural_models import GaussianDensity, LinearAutoencoder, plane_data
from safetensors import safe_open
from safetensors.torch import save as st_save
from torch import nn
from torch.utils.data import TensorDataset

from genmodels import VAE
from genmodels.exceptions import ModelFileError
from genmodels.nn import Trainer
from genmodels.nn import _checkpoint as ckpt


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: these models are tiny, and on a busy machine several threads
    spin against each other (a 10-millisecond fit takes a second)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


VAE_PARAMS = {"latent_dim": 2, "hidden_dims": (16,), "batch_size": 32, "random_state": 0}


def _binary(n: int = 300, d: int = 12, seed: int = 0) -> np.ndarray:
    """Rows of 0/1 from three groups with different pixel probabilities."""
    rng = np.random.RandomState(seed)
    probs = rng.uniform(0.1, 0.9, size=(3, d))
    return (rng.uniform(size=(n, d)) < probs[np.arange(n) % 3]).astype(float)


def _vae(**params) -> VAE:
    return VAE(**{**VAE_PARAMS, **params})


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.module_.state_dict().items()}


def _assert_same_weights(a, b) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), f"{k} differs"


def _without_times(history: dict) -> dict:
    return {k: v for k, v in history.items() if k != "epoch_time"}


def _checkpoint_epoch(directory) -> int:
    """The epoch a checkpoint was written after, read from its metadata alone."""
    with safe_open(str(Path(directory) / ckpt.FILENAME), "pt") as f:
        return json.loads(f.metadata()["state"])["epoch"]


class _Task:
    """A TrainingTask written out by hand: named parameter groups and a loss function
    ``loss(batch, ctx, params)``; every training step's group, step, epoch and parameter
    values before the step are recorded."""

    def __init__(self, params: dict[str, torch.Tensor], loss, groups=None, steps=None):
        self.module = nn.ParameterDict({k: nn.Parameter(v.clone()) for k, v in params.items()})
        self.groups = groups or {"model": list(params)}
        self.steps = steps or {}
        self.loss = loss
        self.calls: list[tuple[str, int, int]] = []
        self.before: list[dict[str, torch.Tensor]] = []

    def training_module(self) -> nn.Module:
        return self.module

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {g: [self.module[k] for k in keys] for g, keys in self.groups.items()}

    def group_steps(self) -> dict[str, int]:
        return dict(self.steps)

    def training_step(self, batch, ctx) -> dict:
        self.calls.append((ctx.group, ctx.step, ctx.epoch))
        self.before.append({k: p.detach().clone() for k, p in self.module.items()})
        return {"loss": self.loss(batch, ctx, self.module)}

    def validation_step(self, batch, ctx) -> dict:
        return {"loss": self.loss(batch, ctx, self.module)}


def _rows(n: int) -> TensorDataset:
    return TensorDataset(torch.zeros(n, 1))


# ----------------------------------------------------------------------------------------
# Randomness


def test_same_seed_same_weights_and_the_callers_rng_is_untouched():
    X = _binary()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = _vae(epochs=3).fit(X)
    assert torch.equal(torch.get_rng_state(), before), "fit moved the global torch RNG"
    torch.rand(7)  # the global generator's state is not where the model's noise comes from
    b = _vae(epochs=3).fit(X)
    _assert_same_weights(a, b)
    assert a.history_["loss"] == b.history_["loss"]
    c = _vae(epochs=3, random_state=1).fit(X)
    wa, wc = _weights(a), _weights(c)
    assert not any(torch.equal(wa[k], wc[k]) for k in wa)


def test_validation_does_not_change_training_and_scores_with_the_same_noise():
    """Scoring held-out data draws from a generator of its own: the weights are those of a
    run without validation data, and every epoch's validation uses the same noise (with a
    learning rate too small to move float32 weights, val_loss repeats exactly)."""
    X, Xv = _binary(), _binary(100, seed=1)
    plain = _vae(epochs=3).fit(X)
    watched = _vae(epochs=3).fit(X, validation_data=Xv)
    _assert_same_weights(plain, watched)
    assert watched.history_["loss"] == plain.history_["loss"]
    assert len(watched.history_["val_loss"]) == 3
    frozen = _vae(epochs=3, lr=1e-30).fit(X, validation_data=Xv)
    assert len(set(frozen.history_["val_loss"])) == 1


# ----------------------------------------------------------------------------------------
# Learning-rate schedules, clipping, optimisers, several parameter groups


@pytest.mark.parametrize(
    ("schedule", "closed_form"),
    [
        ("constant", lambda s, e: 0.1),
        ("cosine", lambda s, e: 0.1 * 0.5 * (1 + math.cos(math.pi * s / 40))),
        ("linear", lambda s, e: 0.1 * (1 - s / 40)),
        ("exponential", lambda s, e: 0.1 * 0.9**e),
    ],
)
def test_lr_schedules_follow_their_closed_forms(schedule, closed_form):
    trainer = Trainer(lr_schedule=schedule, lr_decay=0.9)
    for step in (0, 1, 7, 10, 20, 33, 39, 40):
        epoch = step // 10  # 10 steps an epoch, 40 in all
        assert trainer._lr(0.1, step, epoch, 40) == pytest.approx(closed_form(step, epoch))


def test_warmup_is_linear_then_the_schedule_spans_the_remaining_steps():
    trainer = Trainer(lr_schedule="cosine", warmup_steps=5)
    for step in range(5):
        assert trainer._lr(0.1, step, 0, 45) == pytest.approx(0.1 * (step + 1) / 5)
    for step in (5, 15, 25, 44, 45):
        expected = 0.1 * 0.5 * (1 + math.cos(math.pi * (step - 5) / 40))
        assert trainer._lr(0.1, step, step // 9, 45) == pytest.approx(expected)
    assert trainer._lr(0.1, 45, 5, 45) == pytest.approx(0.0, abs=1e-15)


def test_the_optimiser_takes_the_scheduled_learning_rates():
    """loss = p has gradient 1, so plain SGD ends at p = -(sum of the rates it used), and
    ``history_["lr"]`` is each epoch's last rate."""
    trainer = Trainer(
        epochs=3,
        batch_size=10,
        optimizer="sgd",
        momentum=0.0,
        lr=0.1,
        lr_schedule="cosine",
        warmup_steps=3,
    )
    task = _Task({"p": torch.zeros(())}, lambda batch, ctx, m: m["p"] * 1.0)
    result = trainer.fit(task, _rows(40))  # 4 batches an epoch, 12 steps
    rates = [trainer._lr(0.1, s, s // 4, 12) for s in range(12)]
    assert task.module["p"].item() == pytest.approx(-sum(rates), rel=1e-6)
    assert result.history["lr"] == pytest.approx([rates[3], rates[7], rates[11]])
    assert [c[1] for c in task.calls] == list(range(12))


def test_history_lr_of_a_model_follows_the_schedule():
    X = np.random.RandomState(0).randn(96, 2)  # 3 batches of 32: 12 steps in 4 epochs
    model = GaussianDensity(epochs=4, lr=0.1, lr_schedule="linear", warmup_steps=2).fit(X)
    # The last step of epoch e is 3e + 2; after 2 warm-up steps the rate falls linearly
    # to 0 over the remaining 10.
    expected = [0.1 * (1 - (3 * e + 2 - 2) / 10) for e in range(4)]
    assert model.history_["lr"] == pytest.approx(expected)
    assert set(model.history_) == {"loss", "mean_norm", "lr", "epoch_time"}
    assert model.n_epochs_ == 4 and model.best_epoch_ is None and not model.stopped_early_


def test_grad_clip_bounds_every_sgd_step():
    lr, clip = 0.1, 1e-2

    def run(grad_clip, n_rows=50):
        task = _Task(
            {"w": torch.zeros(5)}, lambda batch, ctx, m: 1e3 * (m["w"] - 3.0).square().sum()
        )
        Trainer(
            epochs=2,
            batch_size=10,
            optimizer="sgd",
            momentum=0.0,
            lr=lr,
            grad_clip=grad_clip,
        ).fit(task, _rows(n_rows))
        w = [b["w"] for b in task.before] + [task.module["w"].detach()]
        return [float((w1 - w0).norm()) for w0, w1 in zip(w, w[1:], strict=False)]

    clipped = run(clip)
    assert len(clipped) == 10
    assert max(clipped) <= lr * clip * (1 + 1e-5)
    # The gradient's norm is ~13,000, so every step is clipped to exactly lr * clip.
    assert min(clipped) == pytest.approx(lr * clip, rel=1e-4)
    assert run(None, n_rows=10)[0] > 100 * lr * clip  # one unclipped step, for contrast


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd", "rmsprop"])
def test_every_optimizer_lowers_the_loss(optimizer):
    X = np.random.RandomState(0).randn(128, 3) * 0.5 + 2.0
    model = GaussianDensity(epochs=6, optimizer=optimizer, lr=0.02).fit(X)
    assert model.history_["loss"][-1] < model.history_["loss"][0] - 0.5


def test_two_parameter_groups_step_two_to_one(tmp_path):
    """group_steps {"a": 2, "b": 1}: each batch takes a, a, b; each group's schedule spans
    its own steps (a takes twice as many); the optimisers' step counts are 2:1."""
    task = _Task(
        {"a": torch.zeros(3), "b": torch.zeros(2)},
        lambda batch, ctx, m: (
            (m["a"] - 1).square().sum() if ctx.group == "a" else (m["b"] + 1).square().sum()
        ),
        groups={"a": ["a"], "b": ["b"]},
        steps={"a": 2},
    )
    trainer = Trainer(
        epochs=2,
        batch_size=25,
        lr={"a": 0.1, "b": 0.01},
        lr_schedule="cosine",
        checkpoint_dir=tmp_path,
    )
    result = trainer.fit(task, _rows(100))  # 4 batches an epoch
    assert [c[0] for c in task.calls] == ["a", "a", "b"] * 8
    assert [c[1] for c in task.calls if c[0] == "a"] == list(range(16))
    assert [c[1] for c in task.calls if c[0] == "b"] == list(range(8))
    state = ckpt.load_checkpoint(tmp_path, owner={})
    assert state["optimizers"]["a"]["state"][0]["step"].item() == 16
    assert state["optimizers"]["b"]["state"][0]["step"].item() == 8
    assert state["progress"]["group_step"] == {"a": 16, "b": 8}
    h = result.history
    assert {"a_loss", "b_loss", "lr", "a_lr", "b_lr"} <= set(h)
    assert h["a_lr"][-1] == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 15 / 16)))
    assert h["b_lr"][-1] == pytest.approx(0.01 * 0.5 * (1 + math.cos(math.pi * 7 / 8)))
    assert h["a_lr"][0] == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 7 / 16)))
    assert h["lr"] == h["a_lr"]
    for bad in ({"c": 1}, {"a": 0}):
        task.steps = bad
        with pytest.raises(ValueError, match="group_steps"):
            Trainer(epochs=1).fit(task, _rows(10))


def test_a_group_that_steps_every_kth_batch_and_the_after_step_hook():
    """group_every {"g": 3} (WGAN-GP's critic steps, each on a fresh batch): over 2 epochs of
    4 batches "d" steps on all 8 and "g" on batches 3 and 6 (counted across epochs); the
    schedule of "g" spans its 2 steps; after_step sees every step; each group's history
    is the mean over the steps it took, not diluted by the batches it skipped."""
    seen_after: list[tuple[str, int]] = []

    class Task(_Task):
        def group_every(self):
            return {"g": 3}

        def after_step(self, group, ctx):
            seen_after.append((group, ctx.step))

    task = Task(
        {"d": torch.zeros(1), "g": torch.zeros(1)},
        lambda batch, ctx, m: m[ctx.group].sum() * 0 + (2.0 if ctx.group == "g" else 1.0),
        groups={"d": ["d"], "g": ["g"]},
    )
    result = Trainer(epochs=2, batch_size=25, lr=0.1, lr_schedule="linear").fit(task, _rows(100))
    assert [c[0] for c in task.calls] == ["d", "d", "d", "g", "d", "d", "d", "g", "d", "d"]
    assert seen_after == [(g, s) for g, s, _ in task.calls]
    assert result.group_steps == {"d": 8, "g": 2}
    h = result.history
    assert h["d_loss"] == [1.0, 1.0] and h["g_loss"] == [2.0, 2.0]
    assert h["g_lr"][-1] == pytest.approx(0.1 * (1 - 1 / 2))  # step 1 of 2
    for bad in ({"x": 2}, {"g": 0}):
        Task.group_every = lambda self, bad=bad: bad
        with pytest.raises(ValueError, match="group_every"):
            Trainer(epochs=1).fit(task, _rows(10))


# ----------------------------------------------------------------------------------------
# Validation and early stopping


def _shifted(seed: int = 0):
    """Training rows around +3, validation rows around +1: the mean starts at 0, so the
    validation loss falls while the mean passes 1, then rises."""
    rng = np.random.RandomState(seed)
    return rng.randn(100, 2) + 3.0, rng.randn(60, 2) + 1.0


def test_early_stopping_keeps_the_best_epochs_weights():
    X, Xv = _shifted()
    model = GaussianDensity(epochs=60, batch_size=25, early_stopping=3, lr=0.01)
    model.fit(X, validation_data=Xv)
    val = model.history_["val_loss"]
    best = int(np.argmin(val)) + 1
    assert model.stopped_early_
    assert 5 <= best < 40, val
    assert model.best_epoch_ == best
    assert model.n_epochs_ == best + 3 == len(val) == len(model.history_["loss"])
    assert all(v >= val[best - 1] for v in val[best:])
    # A run of exactly best_epoch epochs (no validation data: it does not change
    # training) ends with the very weights early stopping restored.
    reference = GaussianDensity(epochs=best, batch_size=25, lr=0.01).fit(X)
    for k, w in reference.weights().items():
        np.testing.assert_array_equal(model.weights()[k], w)


def test_early_stopping_without_validation_data_watches_the_training_loss():
    X, _ = _shifted()
    model = GaussianDensity(epochs=4, early_stopping=2).fit(X)  # the loss keeps falling
    assert model.best_epoch_ == 4 and not model.stopped_early_
    task = _Task({"p": torch.zeros(())}, lambda batch, ctx, m: m["p"] ** 2)
    with pytest.raises(ValueError, match="needs validation_data"):
        Trainer(epochs=1, monitor="val_loss", early_stopping=2).fit(task, _rows(10))
    with pytest.raises(KeyError, match="monitor='val_nope' is not among the metrics"):
        Trainer(epochs=1, monitor="val_nope").fit(task, _rows(10), _rows(5))


# ----------------------------------------------------------------------------------------
# Checkpoints and resumption


def test_resume_in_process_gives_the_uninterrupted_run(tmp_path):
    X, Xv = _binary(), _binary(90, seed=1)
    params = {"kl_anneal_steps": 25}  # the KL weight depends on the step count restored
    full = _vae(epochs=6, **params).fit(X, validation_data=Xv)
    first = _vae(epochs=3, checkpoint_dir=str(tmp_path), **params).fit(X, validation_data=Xv)
    assert _checkpoint_epoch(tmp_path) == 3 and first.n_epochs_ == 3
    assert sorted(os.listdir(tmp_path)) == [ckpt.FILENAME]  # no temporary file left
    resumed = _vae(epochs=6, checkpoint_dir=str(tmp_path), **params)
    resumed.fit(X, validation_data=Xv, resume=True)
    _assert_same_weights(full, resumed)
    assert _without_times(resumed.history_) == _without_times(full.history_)
    assert resumed.n_epochs_ == 6 and _checkpoint_epoch(tmp_path) == 6
    # Resuming a finished run trains no further; an empty folder starts afresh.
    again = _vae(epochs=6, checkpoint_dir=str(tmp_path), **params)
    with pytest.warns(UserWarning, match="already at epoch 6 and epochs=6: nothing to train"):
        again.fit(X, validation_data=Xv, resume=True)
    _assert_same_weights(full, again)
    fresh = _vae(epochs=6, checkpoint_dir=str(tmp_path / "new"), **params)
    fresh.fit(X, validation_data=Xv, resume=True)
    _assert_same_weights(full, fresh)


def test_resume_keeps_the_early_stopping_state(tmp_path):
    X, Xv = _shifted()
    params = {"batch_size": 25, "early_stopping": 3, "lr": 0.01, "epochs": 60}
    full = GaussianDensity(**params).fit(X, validation_data=Xv)
    assert full.best_epoch_ > 3
    # Stop one epoch after the best (its weights and a stale count are in the checkpoint),
    # then carry on.
    part = GaussianDensity(
        **{**params, "epochs": full.best_epoch_ + 1, "checkpoint_dir": str(tmp_path)}
    ).fit(X, validation_data=Xv)
    assert not part.stopped_early_
    resumed = GaussianDensity(**{**params, "checkpoint_dir": str(tmp_path)})
    resumed.fit(X, validation_data=Xv, resume=True)
    assert resumed.stopped_early_ and resumed.best_epoch_ == full.best_epoch_
    assert resumed.n_epochs_ == full.n_epochs_
    for k, w in full.weights().items():
        np.testing.assert_array_equal(resumed.weights()[k], w)
    assert _without_times(resumed.history_) == _without_times(full.history_)


def test_checkpoints_every_n_epochs_and_at_the_end(tmp_path):
    on_disk = []

    def record(epoch, metrics):  # called before the epoch's checkpoint is written
        path = tmp_path / ckpt.FILENAME
        on_disk.append(_checkpoint_epoch(tmp_path) if path.exists() else None)

    task = _Task({"p": torch.ones(())}, lambda batch, ctx, m: m["p"] ** 2)
    Trainer(
        epochs=5, batch_size=5, checkpoint_dir=tmp_path, checkpoint_every=2, on_epoch_end=record
    ).fit(task, _rows(10))
    assert on_disk == [None, None, 2, 2, 4]
    assert _checkpoint_epoch(tmp_path) == 5


def test_checkpoints_are_read_without_unpickling(tmp_path, monkeypatch):
    X = _binary()
    _vae(epochs=2, checkpoint_dir=str(tmp_path)).fit(X)
    data = (tmp_path / ckpt.FILENAME).read_bytes()
    assert data[:1] != b"\x80" and data[:2] != b"PK"  # neither a pickle nor a torch.save zip

    def refuse(*args, **kwargs):
        raise AssertionError("a checkpoint was unpickled")

    for module, name in ((pickle, "load"), (pickle, "loads"), (torch, "load")):
        monkeypatch.setattr(module, name, refuse)
    resumed = _vae(epochs=3, checkpoint_dir=str(tmp_path)).fit(X, resume=True)
    assert resumed.n_epochs_ == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda good: good[: len(good) // 2], "truncated"),
        (lambda good: b"\x07" * 16, "truncated|corrupt"),
        (lambda good: np.random.RandomState(0).bytes(4096), "no valid safetensors header"),
        (
            lambda good: pickle.dumps({"module": 1}),
            "a pickle, not a genmodels training checkpoint; genmodels never unpickles",
        ),
        (lambda good: st_save({"w": torch.zeros(3)}), "not a genmodels training checkpoint"),
    ],
    ids=["truncated", "short", "random-bytes", "pickle", "plain-safetensors"],
)
def test_a_corrupt_checkpoint_is_refused_clearly(tmp_path, content, message):
    X = _binary(64)
    _vae(epochs=1, checkpoint_dir=str(tmp_path)).fit(X)
    path = tmp_path / ckpt.FILENAME
    path.write_bytes(content(path.read_bytes()))
    with pytest.raises(ModelFileError, match=message) as info:
        _vae(epochs=2, checkpoint_dir=str(tmp_path)).fit(X, resume=True)
    assert str(path) in str(info.value)


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    X = _binary(64)
    _vae(epochs=1, checkpoint_dir=str(tmp_path)).fit(X)
    other = _vae(epochs=2, latent_dim=3, lr=0.01, checkpoint_dir=str(tmp_path))
    with pytest.raises(ModelFileError, match="different model") as info:
        other.fit(X, resume=True)
    assert "latent_dim=2 in the checkpoint, 3 now" in str(info.value)
    assert "lr=0.001 in the checkpoint, 0.01 now" in str(info.value)
    assert "batch_size" not in str(info.value)  # only what differs is named
    gaussian = GaussianDensity(epochs=2, checkpoint_dir=str(tmp_path))
    with pytest.raises(ModelFileError, match="class 'VAE', not 'GaussianDensity'"):
        gaussian.fit(X, resume=True)
    # Run-only settings (epochs, verbose, mixed_precision, checkpoint_every...) may change.
    changed = _vae(
        epochs=2, mixed_precision="float32", checkpoint_every=3, checkpoint_dir=str(tmp_path)
    )
    assert changed.fit(X, resume=True).n_epochs_ == 2


def test_resume_needs_a_checkpoint_dir():
    with pytest.raises(ValueError, match="resume=True needs checkpoint_dir"):
        _vae(epochs=1).fit(_binary(64), resume=True)
    task = _Task({"p": torch.zeros(())}, lambda batch, ctx, m: m["p"] ** 2)
    with pytest.raises(ValueError, match="resume=True needs checkpoint_dir"):
        Trainer(epochs=1).fit(task, _rows(4), resume=True)


_KILLABLE = '''
import json
import sys
import time

import numpy as np
import torch

from genmodels import VAE

torch.set_num_threads(1)
EPOCHS = 10


class SlowVAE(VAE):
    """A VAE that sleeps before every training batch, so it can be killed mid-run."""

    delay = 0.0

    def _losses(self, batch, ctx):
        if ctx.group != "validation":
            time.sleep(self.delay)
        return super()._losses(batch, ctx)


def fit(checkpoint_dir, resume):
    rng = np.random.RandomState(0)
    probs = rng.uniform(0.1, 0.9, size=(3, 12))
    X = (rng.uniform(size=(300, 12)) < probs[np.arange(300) % 3]).astype(float)
    model = SlowVAE(
        latent_dim=2, hidden_dims=(16,), batch_size=32, random_state=0, kl_anneal_steps=25,
        epochs=EPOCHS, checkpoint_dir=checkpoint_dir, checkpoint_every=1,
    )
    return model.fit(X, resume=resume)


def dump(model, path):
    np.savez(path, **{k: v.numpy() for k, v in model.module_.state_dict().items()})
    history = {k: v for k, v in model.history_.items() if k != "epoch_time"}
    with open(path + ".json", "w") as f:
        json.dump({"history": history, "n_epochs": model.n_epochs_}, f)


mode, folder, out = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "killed":
    SlowVAE.delay = float(sys.argv[4])
    fit(folder, resume=False)
else:
    dump(fit(folder, resume=True), out + "/resumed.npz")
    dump(fit(None, resume=False), out + "/uninterrupted.npz")
'''


def test_a_run_killed_with_sigkill_resumes_to_the_same_weights(tmp_path):
    """The killed process checkpoints every epoch (about 0.3 s each); it is SIGKILLed in
    the middle of its third epoch or later, and a new process resumes it with
    ``resume=True``: the weights and history equal an uninterrupted run's."""
    script = tmp_path / "killable.py"
    script.write_text(textwrap.dedent(_KILLABLE))
    folder = tmp_path / "ckpt"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, str(script), "killed", str(folder), str(tmp_path), "0.03"]
    log = tmp_path / "killed.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline, epoch = time.monotonic() + 120, 0
        while epoch < 2:
            assert proc.poll() is None, f"the run ended before it was killed: {log.read_text()}"
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            if (folder / ckpt.FILENAME).exists():
                epoch = _checkpoint_epoch(folder)
            time.sleep(0.02)
        time.sleep(0.15)  # into the next epoch's batches
        assert proc.poll() is None, "the run ended before it was killed"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    killed_at = _checkpoint_epoch(folder)
    assert 2 <= killed_at < 10, killed_at

    cmd = [sys.executable, str(script), "resume", str(folder), str(tmp_path)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    resumed, reference = np.load(tmp_path / "resumed.npz"), np.load(tmp_path / "uninterrupted.npz")
    assert sorted(resumed.files) == sorted(reference.files)
    for k in reference.files:
        np.testing.assert_array_equal(resumed[k], reference[k], err_msg=k)
    resumed_log = json.loads((tmp_path / "resumed.npz.json").read_text())
    reference_log = json.loads((tmp_path / "uninterrupted.npz.json").read_text())
    assert resumed_log == reference_log and reference_log["n_epochs"] == 10


# ----------------------------------------------------------------------------------------
# Precision, devices, failures


def test_bfloat16_autocast_on_the_cpu_trains_like_float32():
    X = _binary()
    f32 = _vae(epochs=6, mixed_precision="float32").fit(X)
    bf16 = _vae(epochs=6, mixed_precision="bfloat16").fit(X)
    assert bf16.history_["loss"][-1] == pytest.approx(f32.history_["loss"][-1], rel=0.03)
    assert bf16.history_["loss"][-1] < bf16.history_["loss"][0]
    Xc = np.random.RandomState(0).randn(128, 6)
    ae = LinearAutoencoder(epochs=4, mixed_precision="bfloat16").fit(Xc)
    assert ae.last_output_dtype == torch.bfloat16  # autocast was on inside the step
    ref = LinearAutoencoder(epochs=4, mixed_precision="float32").fit(Xc)
    assert ref.last_output_dtype == torch.float32
    assert ae.history_["loss"][-1] == pytest.approx(ref.history_["loss"][-1], rel=0.05)
    assert ae.module_[0].weight.dtype == torch.float32  # weights stay in float32


def test_float16_on_the_cpu_is_refused():
    with pytest.raises(ValueError, match="mixed_precision='float16' needs a CUDA device"):
        _vae(epochs=1, mixed_precision="float16").fit(_binary(64))


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_gpu_is_refused_by_fit():
    with pytest.raises(ValueError, match="device='cuda' was requested but no CUDA device"):
        _vae(epochs=1, device="cuda").fit(_binary(64))


def test_a_nan_loss_stops_training_and_names_the_epoch():
    def loss(batch, ctx, m):
        bad = ctx.epoch == 1 and ctx.step == 6  # epoch 2, its third batch
        return (m["w"] - 1).square().sum() + (torch.tensor(float("nan")) if bad else 0.0)

    task = _Task({"w": torch.zeros(3)}, loss)
    with pytest.raises(FloatingPointError, match="nan at epoch 2, batch 3"):
        Trainer(epochs=3, batch_size=10, lr=0.1).fit(task, _rows(40))
    # The step that met the NaN was not taken: the weights are those it started from.
    assert torch.equal(task.module["w"].detach(), task.before[-1]["w"])
    assert torch.isfinite(task.module["w"]).all()
    # Through a model: values so large that the loss overflows float32.
    with pytest.raises(FloatingPointError, match="GaussianDensity: the loss became inf at epoch 1"):
        GaussianDensity(epochs=2).fit(np.full((40, 2), 1e30))


# ----------------------------------------------------------------------------------------
# Numbers kept from the loop as it was before it was split into pieces


def test_same_seed_gives_the_numbers_of_the_loop_before_its_split():
    """Weights written down from the single-function loop (commit 4f65b8d): warm-up, a
    cosine schedule, clipping, Adam, validation and early stopping restoring the best
    epoch; and a randomly initialised network under SGD with momentum. On the machine they
    were recorded on the weights are bit-identical; the tolerance only allows another
    CPU's vector width to reorder float32 sums."""
    rng = np.random.RandomState(0)
    X, Xv = rng.randn(100, 2) + 3.0, rng.randn(60, 2) + 1.0
    model = GaussianDensity(
        epochs=40,
        batch_size=25,
        early_stopping=3,
        lr=0.05,
        lr_schedule="cosine",
        warmup_steps=5,
        grad_clip=2.0,
        random_state=7,
    ).fit(X, validation_data=Xv)
    assert (model.best_epoch_, model.n_epochs_, model.stopped_early_) == (2, 5, True)
    w = model.weights()
    np.testing.assert_allclose(w["mean"], [0.3010140657424927, 0.30168697237968445], rtol=1e-6)
    np.testing.assert_allclose(w["log_scale"], [0.29783350229263306, 0.3003750443458557], rtol=1e-6)
    np.testing.assert_allclose(
        model.history_["val_loss"], [3.286832, 3.116372, 3.211317, 3.440575, 3.697994], rtol=1e-5
    )
    ae = LinearAutoencoder(epochs=3, batch_size=16, lr=0.01, optimizer="sgd", random_state=2)
    w = ae.fit(plane_data(50)).weights()
    np.testing.assert_allclose(
        w["0.bias"], [-0.23842817544937134, 0.4109131097793579], rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        w["1.bias"],
        [-0.03167222812771797, 0.03112509660422802, -0.3651920258998871]
        + [-0.06851045787334442, -0.3403639793395996, -0.0646829679608345],
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        w["1.weight"].ravel()[:4],
        [-0.6351190805435181, -0.7092683911323547, 0.4394163191318512, 0.3487967848777771],
        rtol=1e-5,
        atol=1e-6,
    )


# ----------------------------------------------------------------------------------------
# Manual tasks (optimizer="manual") and the optional task hooks


class _ManualMean:
    """A task that updates itself: p moves towards the batch mean, p += lr (mean(x) - p),
    with momentum v kept as its own checkpointed state, a counter in JSON, the epoch's row
    order from its own numpy generator, and an epoch metric on all the data."""

    def __init__(self, x: torch.Tensor, seed: int = 0, momentum: float = 0.5):
        self.module = nn.Module()
        self.module.register_buffer("p", torch.zeros(x.shape[1], dtype=torch.float64))
        self.x, self.momentum = x, momentum
        self.velocity = torch.zeros(x.shape[1], dtype=torch.float64)
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.updates = 0
        self.orders: list[list[int]] = []
        self.rates: list[tuple[int, float]] = []

    def training_module(self):
        return self.module

    def parameter_groups(self):
        return {"model": [self.module.p]}

    def group_steps(self):
        return {}

    def update_statistics(self, batch, ctx):
        return {"p": batch[0].sum(0) / ctx.rows - self.module.p * (batch[0].shape[0] / ctx.rows)}

    def apply_update(self, stats, ctx):
        self.rates.append((ctx.epoch, ctx.lr))
        self.velocity.mul_(self.momentum).add_(stats["p"], alpha=ctx.lr)
        self.module.p.add_(self.velocity)
        self.updates += 1
        return {"step_norm": self.velocity.norm()}

    def batch_order(self, epoch):
        order = torch.from_numpy(self.rng.permutation(self.x.shape[0]))
        self.orders.append(order.tolist())
        return order

    def epoch_metrics(self, epoch):
        return {"distance": float((self.x.mean(0) - self.module.p).norm())}

    def extra_state(self):
        return {"velocity": self.velocity, "rng": self.rng.bit_generator.state, "n": self.updates}

    def load_extra_state(self, state):
        self.velocity = state["velocity"].clone()
        self.rng.bit_generator.state = state["rng"]
        self.updates = state["n"]


def test_a_manual_task_applies_its_own_updates_with_the_scheduled_rates():
    x = torch.as_tensor(np.random.RandomState(0).randn(40, 3) + 2.0)
    task = _ManualMean(x)
    trainer = Trainer(
        epochs=4,
        batch_size=10,
        optimizer="manual",
        lr=0.2,
        lr_schedule="linear",
        schedule_by="epoch",
        monitor="distance",
    )
    result = trainer.fit(task, TensorDataset(x))
    # The rate is constant within an epoch and falls linearly over the epochs.
    assert task.rates == [(e, pytest.approx(0.2 * (1 - e / 4))) for e in range(4) for _ in range(4)]
    assert result.history["lr"] == pytest.approx([0.2, 0.15, 0.1, 0.05])
    assert result.group_steps == {"model": 16} and task.updates == 16
    # The epochs' row orders are the task's own, and the batches followed them.
    rng = np.random.Generator(np.random.PCG64(0))
    assert task.orders == [rng.permutation(40).tolist() for _ in range(4)]
    # Epoch metrics are in the history (the monitor watches one), next to batch means.
    assert len(result.history["distance"]) == len(result.history["step_norm"]) == 4
    assert result.history["distance"][-1] < result.history["distance"][0]
    with pytest.raises(ValueError, match="grad_clip"):
        Trainer(epochs=1, optimizer="manual", grad_clip=1.0).fit(_ManualMean(x), TensorDataset(x))


def test_a_manual_tasks_own_state_is_checkpointed_and_resumed(tmp_path):
    x = torch.as_tensor(np.random.RandomState(1).randn(30, 2))
    params = {"batch_size": 8, "optimizer": "manual", "lr": 0.3, "seed": 3}
    full_task = _ManualMean(x)
    full = Trainer(epochs=5, **params).fit(full_task, TensorDataset(x))
    Trainer(epochs=2, checkpoint_dir=tmp_path, **params).fit(_ManualMean(x), TensorDataset(x))
    state = ckpt.load_checkpoint(tmp_path, owner={})
    assert state["extra"]["n"] == 8 and state["extra"]["velocity"].shape == (2,)
    assert state["optimizers"] == {}
    resumed_task = _ManualMean(x)
    resumed = Trainer(epochs=5, checkpoint_dir=tmp_path, **params).fit(
        resumed_task, TensorDataset(x), resume=True
    )
    assert resumed.resumed_from == 2 and resumed_task.updates == 20
    assert torch.equal(resumed_task.module.p, full_task.module.p)
    assert torch.equal(resumed_task.velocity, full_task.velocity)
    assert _without_times(resumed.history) == _without_times(full.history)
    assert resumed_task.orders == full_task.orders[2:]  # the task's generator was restored


def test_min_delta_decides_what_counts_as_better():
    """Improvements of 1e-13 an epoch: below the default min_delta they do not count; with
    min_delta=0 (a Boltzmann machine's strict "greater") every one does."""

    class Task(_ManualMean):
        def epoch_metrics(self, epoch):
            return {"score": next(values)}

    x = torch.zeros(4, 1, dtype=torch.float64)
    for delta, best in ((1e-12, 1), (0.0, 4)):
        values = iter([1.0, 1.0 - 1e-13, 1.0 - 2e-13, 1.0 - 3e-13])
        result = Trainer(
            epochs=4, optimizer="manual", monitor="score", early_stopping=5, min_delta=delta
        ).fit(Task(x), TensorDataset(x))
        assert result.best_epoch == best
