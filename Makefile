# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch is a test dependency (the PyTorch estimator test). Unpinned, pip resolves it to a build that pulls several
# GB of CUDA packages; this pin is the CPU build here (found in pip's find-links). Installed before the test extra,
# whose torch>=2.0 it then satisfies.
TORCH_REQUIREMENT ?= torch==2.13.0

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet '$(TORCH_REQUIREMENT)'
	$(BIN)/pip install --quiet -e '.[test,ray]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m sageforge demo

test: $(STAMP)
	$(BIN)/ruff check sageforge tests bench
	$(BIN)/lint-imports
	# One worker per core: most of a test's time is spent waiting on the processes it starts (jobs, replicas).
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check sageforge tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .demo-data bench/.data
