# The two commands of the README: `make demo` and `make test`. Both create .venv when it is
# missing and install the project into it; nothing else has to be installed by hand.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.pocnet-installed

.PHONY: demo test lint proto bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/pocnet-sim demo

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -n 3 --dist loadgroup

lint: $(STAMP)
	$(PY) -m ruff check .

# Regenerate the wire modules from proto/pocnet/wire/*.proto (a test fails when they are stale).
proto: $(STAMP)
	$(PY) proto/tools/generate.py

# Benchmarks are scripts, not part of `make test`; their figures go to docs/benchmarks.md.
bench: $(STAMP)
	for script in tests/bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
