"""Data parallelism: the same ``fit`` under ``torchrun --nproc_per_node=2`` (gloo, CPU)
equals single-process training on the same global batches.

One ``torchrun`` launch runs a script that fits the deterministic linear autoencoder of
``_neural_models`` (the VAE's noise differs between processes by design) in three
set-ups, chosen so that the awkward cases are exercised:

* ``uneven``: 197 rows in batches of 64, so the last batch of 5 rows splits 3 / 2 and the
  gradients must be weighted by each process's share; with validation data (metrics are
  means over both processes) and a checkpoint folder (rank 0 writes);
* ``empty``: 193 rows, so the last batch has one row and process 1 gets none;
* ``resumed``: 2 epochs with checkpoints, then ``resume=True`` up to 4.

Every process saves its weights and history; the test checks that both processes end
with identical weights and that they match a single-process fit with the same seed to
float rounding (the sums are taken in a different order).

A second launch fits the four Boltzmann machines (PCD with uneven chain shares, CD with
an empty share of the last batch, exact gradients, a resumed run) the same way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as tdist
from _neural_models import LinearAutoencoder, plane_data

pytestmark = pytest.mark.skipif(
    not (tdist.is_available() and tdist.is_gloo_available()),
    reason="torch.distributed with the gloo backend is not available in this torch build",
)

TESTS = Path(__file__).resolve().parent
PARAMS = {"code_dim": 2, "batch_size": 64, "lr": 0.02, "epochs": 4, "random_state": 3}


_SCRIPT = """
import json
import os
import sys

import numpy as np
import torch
import torch.distributed as tdist

torch.set_num_threads(1)
sys.path.insert(0, sys.argv[2])
from _neural_models import LinearAutoencoder, plane_data  # noqa: E402

out = sys.argv[3]
PARAMS = json.loads(sys.argv[1])
rank = int(os.environ["RANK"])


def dump(name, model):
    np.savez(f"{out}/{name}_rank{rank}.npz", **model.weights())
    history = {k: v for k, v in model.history_.items() if k != "epoch_time"}
    with open(f"{out}/{name}_rank{rank}.json", "w") as f:
        json.dump({"history": history, "world": tdist.get_world_size()}, f)


X = plane_data(197)
model = LinearAutoencoder(**PARAMS, checkpoint_dir=f"{out}/uneven_ckpt")
dump("uneven", model.fit(X, validation_data=plane_data(61, seed=1)))
dump("empty", LinearAutoencoder(**PARAMS).fit(plane_data(193)))
folder = f"{out}/resumed_ckpt"
LinearAutoencoder(**{**PARAMS, "epochs": 2}, checkpoint_dir=folder).fit(X)
dump("resumed", LinearAutoencoder(**PARAMS, checkpoint_dir=folder).fit(X, resume=True))
tdist.destroy_process_group()
"""


def _launch(tmp_path_factory, name: str, source: str, *args: str, timeout: int = 180) -> Path:
    """Run the script ``source`` under torchrun with 2 processes, its output folder (the
    first argument after ``args``, made afresh) returned."""
    out = tmp_path_factory.mktemp(name)
    script = out / f"{name}_script.py"
    script.write_text(textwrap.dedent(source))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    run = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone"]
    done = subprocess.run(
        [*run, str(script), *args, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def torchrun(tmp_path_factory):
    """Run the script under torchrun with 2 processes once; its output folder."""
    return _launch(tmp_path_factory, "ddp", _SCRIPT, json.dumps(PARAMS), str(TESTS))


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _load(out: Path, name: str, rank: int):
    weights = dict(np.load(out / f"{name}_rank{rank}.npz"))
    log = json.loads((out / f"{name}_rank{rank}.json").read_text())
    return weights, log


@pytest.mark.parametrize("name", ["uneven", "empty", "resumed"])
def test_two_processes_match_single_process_training(torchrun, name, tmp_path):
    w0, log0 = _load(torchrun, name, 0)
    w1, log1 = _load(torchrun, name, 1)
    assert log0["world"] == log1["world"] == 2
    for k in w0:  # every process applied the same averaged gradients
        np.testing.assert_array_equal(w0[k], w1[k], err_msg=k)
    assert log0["history"] == log1["history"]

    X = plane_data(193 if name == "empty" else 197)
    if name == "uneven":
        single = LinearAutoencoder(**PARAMS).fit(X, validation_data=plane_data(61, seed=1))
    elif name == "empty":
        single = LinearAutoencoder(**PARAMS).fit(X)
    else:
        folder = str(tmp_path / "ckpt")
        LinearAutoencoder(**{**PARAMS, "epochs": 2}, checkpoint_dir=folder).fit(X)
        single = LinearAutoencoder(**PARAMS, checkpoint_dir=folder).fit(X, resume=True)
    for k, w in single.weights().items():
        np.testing.assert_allclose(w0[k], w, rtol=1e-5, atol=1e-6, err_msg=k)
    assert log0["history"].keys() == {k for k in single.history_ if k != "epoch_time"}
    for k, values in log0["history"].items():
        np.testing.assert_allclose(values, single.history_[k], rtol=1e-5, err_msg=k)


def test_only_rank_zero_wrote_the_checkpoint(torchrun):
    from genmodels.nn import _checkpoint as ckpt

    files = sorted(os.listdir(torchrun / "uneven_ckpt"))
    assert files == [ckpt.FILENAME]
    model = LinearAutoencoder(**PARAMS, checkpoint_dir=str(torchrun / "uneven_ckpt"))
    state = ckpt.load_checkpoint(torchrun / "uneven_ckpt", owner=model._checkpoint_owner())
    assert state["progress"]["epoch"] == PARAMS["epochs"]
    # Both processes' step generators are saved, so each resumes its own noise.
    assert {"global", "shuffle", "step0", "step1"} <= set(state["rng"])


# ----------------------------------------------------------------------------------------
# Boltzmann machines: each process takes its slice of the batch and of the persistent
# chains, draws every noise array whole (one random stream, the same on every process) and
# keeps its rows; the CD statistics are summed. So two processes fit what one does.


def _bm_cases():
    from genmodels import BernoulliRBM, BoltzmannMachine, CategoricalRBM, GaussianBernoulliRBM

    rng = np.random.RandomState(0)
    binary = (rng.rand(197, 12) < 0.3).astype(float)  # last batch of 5: 3 / 2
    cats = rng.randint(0, 3, size=(193, 5)).astype(float)  # last batch of 1: 1 / 0
    cats[rng.rand(193, 5) < 0.2] = np.nan
    gauss = rng.randn(197, 4)
    small = (rng.rand(197, 6) < 0.4).astype(float)
    common = {"batch_size": 64, "n_iter": 3, "random_state": 0}
    return {
        "rbm_pcd": (
            BernoulliRBM,
            {**common, "n_components": 5, "n_chains": 7, "momentum": 0.5},
            {"validation_fraction": 0.1},
            binary,
        ),
        "rbm_cd": (BernoulliRBM, {**common, "n_components": 5, "method": "cd"}, {}, binary),
        "categorical_cd": (CategoricalRBM, {**common, "n_components": 3}, {}, cats),
        "gaussian_pcd2": (
            GaussianBernoulliRBM,
            {**common, "n_components": 3, "n_gibbs_steps": 2},
            {},
            gauss,
        ),
        "bm_exact": (BoltzmannMachine, {**common, "n_components": 2}, {}, small),
        "bm_pcd": (
            BoltzmannMachine,
            {**common, "n_components": 2, "method": "pcd", "n_chains": 5},
            {},
            small,
        ),
    }


_BM_SCRIPT = """
import json
import os
import sys

import numpy as np
import torch
import torch.distributed as tdist

torch.set_num_threads(1)
sys.path.insert(0, sys.argv[1])
from test_distributed import _bm_cases  # noqa: E402

out = sys.argv[2]
rank = int(os.environ["RANK"])


def dump(name, model):
    arrays = {k: v for k, v in vars(model).items() if k.endswith("_") and isinstance(v, np.ndarray)}
    np.savez(f"{out}/{name}_rank{rank}.npz", **arrays)
    with open(f"{out}/{name}_rank{rank}.json", "w") as f:
        json.dump({"history": model.history_, "n_updates": model.n_updates_,
                   "world": tdist.get_world_size()}, f)


for name, (cls, params, extra, X) in _bm_cases().items():
    dump(name, cls(**params, **extra).fit(X))
cls, params, extra, X = _bm_cases()["rbm_pcd"]
folder = f"{out}/rbm_ckpt"
cls(**{**params, "n_iter": 2}, checkpoint_dir=folder).fit(X)
dump("rbm_resumed", cls(**params, checkpoint_dir=folder).fit(X, resume=True))
tdist.destroy_process_group()
"""


@pytest.fixture(scope="module")
def torchrun_bm(tmp_path_factory):
    return _launch(tmp_path_factory, "ddp_bm", _BM_SCRIPT, str(TESTS))


@pytest.mark.parametrize("name", [*_bm_cases(), "rbm_resumed"])
def test_two_processes_fit_the_boltzmann_machine_one_process_fits(torchrun_bm, name, tmp_path):
    w0, log0 = _load(torchrun_bm, name, 0)
    w1, log1 = _load(torchrun_bm, name, 1)
    assert log0["world"] == log1["world"] == 2
    for k in w0:  # every process applied the same summed statistics
        np.testing.assert_array_equal(w0[k], w1[k], err_msg=k)
    assert log0["history"] == log1["history"]

    cls, params, extra, X = _bm_cases()["rbm_pcd" if name == "rbm_resumed" else name]
    if name == "rbm_resumed":
        folder = str(tmp_path / "ckpt")
        cls(**{**params, "n_iter": 2}, checkpoint_dir=folder).fit(X)
        single = cls(**params, checkpoint_dir=folder).fit(X, resume=True)
    else:
        single = cls(**params, **extra).fit(X)
    arrays = {
        k: v for k, v in vars(single).items() if k.endswith("_") and isinstance(v, np.ndarray)
    }
    assert arrays.keys() == w0.keys()
    for k, w in arrays.items():
        if k in ("h_samples_", "v_samples_"):  # the chains are states: equal, not close
            np.testing.assert_array_equal(w0[k], w, err_msg=k)
        else:
            np.testing.assert_allclose(w0[k], w, rtol=1e-10, atol=1e-12, err_msg=k)
    assert log0["n_updates"] == single.n_updates_
    assert log0["history"].keys() == single.history_.keys()
    for k, values in log0["history"].items():
        np.testing.assert_allclose(values, single.history_[k], rtol=1e-10, err_msg=k)


# ----------------------------------------------------------------------------------------
# GANs: two optimiser groups (the critic stepping n_critic times per generator step), an
# EMA generator updated after each step, and batch norm, whose running statistics each
# process gathers on its own slice of the batches; the trainer averages them at the end of
# every epoch, so both processes hold, sample and save one model.

_GAN_SCRIPT = """
import json
import os
import sys

import numpy as np
import torch
import torch.distributed as tdist

torch.set_num_threads(1)
from genmodels import GAN  # noqa: E402

out = sys.argv[1]
rank = int(os.environ["RANK"])
X = np.random.default_rng(0).normal(size=(197, 3)) * [1.0, 2.0, 0.5] + [0.0, 1.0, -1.0]
common = {"epochs": 2, "batch_size": 32, "random_state": 0}
cases = {
    "wgan_gp": {"loss": "wgan-gp", "n_critic": 3, "hidden_dims": (16, 16), **common},
    "ns_ema": {"hidden_dims": (16,), "ema": 0.9, **common},
}
for name, params in cases.items():
    model = GAN(2, **params).fit(X)
    state = {k: v.detach().numpy() for k, v in model.module_.state_dict().items()}
    np.savez(f"{out}/{name}_rank{rank}.npz", **state)
    history = {k: v for k, v in model.history_.items() if k != "epoch_time"}
    with open(f"{out}/{name}_rank{rank}.json", "w") as f:
        json.dump({"history": history, "sample": model.sample(4, random_state=0).tolist(),
                   "world": tdist.get_world_size()}, f)
tdist.destroy_process_group()
"""


@pytest.fixture(scope="module")
def torchrun_gan(tmp_path_factory):
    return _launch(tmp_path_factory, "ddp_gan", _GAN_SCRIPT)


@pytest.mark.parametrize("name", ["wgan_gp", "ns_ema"])
def test_two_processes_train_one_gan(torchrun_gan, name):
    w0, log0 = _load(torchrun_gan, name, 0)
    w1, log1 = _load(torchrun_gan, name, 1)
    assert log0["world"] == log1["world"] == 2
    for k in w0:  # weights by the averaged gradients, batch norm statistics averaged
        np.testing.assert_array_equal(w0[k], w1[k], err_msg=k)
    moved = [k for k in w0 if k.endswith("running_mean") and np.abs(w0[k]).max() > 0]
    assert moved, "batch norm saw no data"
    assert log0["history"] == log1["history"]
    assert log0["sample"] == log1["sample"]  # the same generator on both processes
