# genmodels: `make demo` and `make test` are all a new machine needs (Python 3.11, pip, gcc).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
# torch is pinned here (a CPU build of it lies on this machine's disk); the package only
# asks for a range that this version satisfies, so installing the package downloads no torch.
TORCH  := torch==2.13.0

.PHONY: demo test test-slow bench bench-busy lint clean venv

$(VENV)/.torch:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install $(TORCH)
	touch $@

$(VENV)/.base: $(VENV)/.torch pyproject.toml
	$(PIP) install -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base pyproject.toml
	$(PIP) install -e '.[dev,text,image,chem,music,tabular]'
	touch $@

$(VENV)/.bench: $(VENV)/.base pyproject.toml
	$(PIP) install -e '.[bench]'
	touch $@

$(VENV)/.audio: $(VENV)/.dev pyproject.toml
	$(PIP) install -e '.[dev,text,image,chem,music,tabular,audio]'
	touch $@

venv: $(VENV)/.dev

demo: $(VENV)/.base
	$(VENV)/bin/genmodels demo

test: $(VENV)/.dev
	$(PY) -m pytest

test-slow: $(VENV)/.audio
	$(PY) -m pytest -m slow

# BENCH_ARGS passes options to every benchmark (e.g. BENCH_ARGS=--quick);
# bench-busy runs them beside three 2-thread torch jobs (benchmarks/_busy.py).
bench: $(VENV)/.bench
	$(PY) benchmarks/gmm.py $(BENCH_ARGS)
	$(PY) benchmarks/naive_bayes.py $(BENCH_ARGS)
	$(PY) benchmarks/hmm.py $(BENCH_ARGS)
	$(PY) benchmarks/rbm.py $(BENCH_ARGS)
	$(PY) benchmarks/trainer_overhead.py $(filter-out --busy,$(BENCH_ARGS))
	$(PY) benchmarks/autoregressive.py $(BENCH_ARGS)
	$(PY) benchmarks/autoregressive_training.py $(filter-out --busy,$(BENCH_ARGS))
	$(PY) benchmarks/gan_training.py $(filter-out --busy,$(BENCH_ARGS))
	$(PY) benchmarks/anomaly_odds.py $(filter-out --busy,$(BENCH_ARGS))
	$(PY) benchmarks/tabular_adult.py $(filter-out --busy,$(BENCH_ARGS))
	$(PY) benchmarks/recommend_movielens.py $(filter-out --busy,$(BENCH_ARGS))

bench-busy: $(VENV)/.bench
	$(MAKE) bench BENCH_ARGS="--busy $(BENCH_ARGS)"

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check genmodels tests benchmarks examples
	$(VENV)/bin/ruff format --check genmodels tests benchmarks examples

clean:
	rm -rf $(VENV) demo-report build *.egg-info
