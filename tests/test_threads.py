"""CPU threads (issue 12): genmodels never uses more threads than the user's limit
(torch.set_num_threads, threadpoolctl), and small work or an oversubscribed machine runs on
one thread. Speed itself is shown by ``make bench`` and ``make bench-busy``, not timed here."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from threadpoolctl import threadpool_limits

from genmodels import GaussianHMM, MultinomialNB, backend


@pytest.fixture
def two_threads():
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


def _spy(monkeypatch, obj, name):
    seen = []
    original = getattr(obj, name)

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(obj, name, spy)
    return seen


def test_threads_for_follows_the_limit_and_the_work(two_threads, monkeypatch):
    monkeypatch.setattr(backend, "free_cores", lambda: 2)
    assert backend.threads_for(10) == 1
    assert backend.threads_for(10**7) == 2
    with threadpool_limits(1):
        assert backend.threads_for(10**7) == 1
    torch.set_num_threads(1)
    assert backend.threads_for(10**7) == 1
    torch.set_num_threads(2)
    monkeypatch.setattr(backend, "free_cores", lambda: 1)  # another process holds a core
    assert backend.threads_for(10**7) == 1
    torch.set_num_threads(8)
    monkeypatch.setattr(backend, "free_cores", lambda: 5)
    assert backend.threads_for(10**7) == 5


def test_cpu_threads_restores_the_limit_and_never_raises_it(two_threads):
    with backend.cpu_threads(1):
        assert torch.get_num_threads() == 1
        with backend.cpu_threads(4):
            assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with pytest.raises(RuntimeError), backend.cpu_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2


def test_free_cores_reads_the_run_queue_less_this_process():
    backend._free_seen[0] = -1.0
    free = backend.free_cores()
    cores = backend._usable_cores()
    assert isinstance(free, int) and 1 <= free <= cores
    assert backend.free_cores() == free  # looked at once per half second
    # the arithmetic: what other processes run holds cores; this process's own running
    # threads (at least the reading one) do not; never below one
    assert backend._free_of(2, running=1, own=1) == 2
    assert backend._free_of(2, running=0, own=0) == 2  # the count raced this read
    assert backend._free_of(2, running=2, own=2) == 2  # both are this process's threads
    assert backend._free_of(2, running=2, own=1) == 1  # one other process runs
    assert backend._free_of(2, running=3, own=2) == 1
    assert backend._free_of(2, running=9, own=1) == 1
    assert backend._free_of(16, running=5, own=1) == 12
    # a big kernel under a limit of every core gets what the other processes leave free
    old = torch.get_num_threads()
    torch.set_num_threads(cores)
    try:
        assert backend.threads_for(10**9) == backend.free_cores()
    finally:
        torch.set_num_threads(old)


@pytest.mark.parametrize("busy", [False, True])
def test_hmm_runs_big_inputs_threaded_unless_the_machine_is_busy(two_threads, monkeypatch, busy):
    monkeypatch.setattr(backend, "free_cores", lambda: 1 if busy else 2)
    rng = np.random.RandomState(0)
    model = GaussianHMM(4, n_iter=2, random_state=0).fit(rng.randn(500, 3))
    emission = _spy(monkeypatch, type(model), "_log_emission")
    model.score(rng.randn(50_000, 3))  # 600k values x 4 states: earns both threads
    assert emission == [1 if busy else 2]
    emission.clear()
    model.score(rng.randn(20, 3))  # small: one thread
    assert emission == [1]
    assert torch.get_num_threads() == 2


def test_sparse_naive_bayes_products_are_single_threaded_when_busy(two_threads, monkeypatch):
    X = sp.random(400, 300, density=0.2, random_state=0, format="csr") * 5
    X.data = np.ceil(X.data)
    y = np.arange(400) % 3
    model = MultinomialNB().fit(X, y)
    for busy, expected in ((False, 2), (True, 1)):
        monkeypatch.setattr(backend, "free_cores", lambda busy=busy: 1 if busy else 2)
        seen = _spy(monkeypatch, type(model), "_joint_log_likelihood")
        model.predict_proba(sp.vstack([X] * 10).tocsr())  # 240k stored values
        assert seen == [expected]
        monkeypatch.undo()


def test_training_epochs_leave_the_cores_other_processes_hold(two_threads, monkeypatch):
    """The trainer runs its batches on the cores other processes leave free (one, here),
    and gives the user's limit back after the epoch."""
    from genmodels import BernoulliRBM

    monkeypatch.setattr(backend, "free_cores", lambda: 1)
    seen = []
    original = BernoulliRBM._gradient

    def spy(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BernoulliRBM, "_gradient", spy)
    X = (np.random.RandomState(0).uniform(size=(60, 20)) < 0.3).astype(float)
    BernoulliRBM(8, batch_size=20, n_iter=2, random_state=0).fit(X)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == 2
    seen.clear()
    monkeypatch.setattr(backend, "free_cores", lambda: 2)
    BernoulliRBM(8, batch_size=20, n_iter=1, random_state=0).fit(X)
    assert set(seen) == {2}


def _blas_threads() -> int:
    from threadpoolctl import threadpool_info

    return min(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


def test_n_jobs_setting_caps_torch_and_blas_and_is_restored(two_threads, monkeypatch):
    """genmodels.config_context / set_config(n_jobs=...): joblib's conventions; torch's
    threads and numpy's BLAS pool follow it inside and come back after, also on errors."""
    import genmodels
    from genmodels.config import resolve_n_jobs

    monkeypatch.setattr(backend, "free_cores", lambda: 2)
    blas = _blas_threads()
    with genmodels.config_context(n_jobs=1):
        assert genmodels.get_config() == {"n_jobs": 1}
        assert torch.get_num_threads() == 1 and _blas_threads() == 1
        assert backend.threads_for(10**9) == 1  # a big kernel stays under the setting
        with genmodels.config_context(n_jobs=None):  # None: leave it as it is
            assert torch.get_num_threads() == 1
    assert genmodels.get_config() == {"n_jobs": None}
    assert torch.get_num_threads() == 2 and _blas_threads() == blas
    with pytest.raises(RuntimeError), genmodels.config_context(n_jobs=1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2

    cores = backend._usable_cores()
    assert resolve_n_jobs(-1) == cores and resolve_n_jobs(-2) == max(1, cores - 1)
    assert resolve_n_jobs(-1000) == 1 and resolve_n_jobs(np.int64(3)) == 3
    try:
        genmodels.set_config(n_jobs=1)
        assert torch.get_num_threads() == 1
        genmodels.set_config(n_jobs=3)  # a second change replaces the first
        assert torch.get_num_threads() == 3
    finally:
        genmodels.set_config(n_jobs=None)  # back to the limits from before the first
    assert torch.get_num_threads() == 2 and genmodels.get_config() == {"n_jobs": None}
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(ValueError, match="n_jobs must be"):
            genmodels.set_config(n_jobs=bad)
        with (
            pytest.raises(ValueError, match="n_jobs must be"),
            genmodels.config_context(n_jobs=bad),
        ):
            pass
    assert torch.get_num_threads() == 2


def test_a_fit_under_n_jobs_one_runs_on_one_thread_with_the_same_result(two_threads, monkeypatch):
    import genmodels

    monkeypatch.setattr(backend, "free_cores", lambda: 2)
    X = np.random.RandomState(0).randn(50_000, 3)
    ref = GaussianHMM(3, n_iter=3, random_state=0).fit(X)
    emission = _spy(monkeypatch, GaussianHMM, "_log_emission")
    with genmodels.config_context(n_jobs=1):
        one = GaussianHMM(3, n_iter=3, random_state=0).fit(X)
    assert emission and set(emission) == {1}
    np.testing.assert_allclose(one.means_, ref.means_, rtol=1e-10)


def test_cli_n_jobs(tmp_path, capsys):
    from genmodels.cli import main

    out = tmp_path / "m.safetensors"
    assert main(["fit", "gmm", "builtin:iris", "-o", str(out), "--n-jobs", "1"]) == 0
    assert out.exists()
    assert main(["fit", "gmm", "builtin:iris", "-o", str(out), "--n-jobs", "0"]) == 1
    assert "n_jobs must be" in capsys.readouterr().err
