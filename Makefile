# Sequence Models Lab. `make demo` and `make test` are all a newcomer needs (Python 3.11 on PATH).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)
PYTEST_JOBS ?= 2
# Every assignment that has a master notebook solutions/<id>/<id>.ipynb (nothing to edit when one is added)
ASSIGNMENTS := $(sort $(foreach nb,$(wildcard solutions/*/*.ipynb),$(if $(filter $(notdir $(nb)),$(notdir $(patsubst %/,%,$(dir $(nb)))).ipynb),$(notdir $(patsubst %/,%,$(dir $(nb)))))))

.PHONY: help venv demo test notebooks check-notebooks solutions checkpoints heldout bench lock clean

help:
	@echo "make demo        set up .venv and grade the sample class in examples/"
	@echo "make test        run the kit's tests (pytest)"
	@echo "make notebooks   regenerate assignments/ from solutions/ with nbgrader"
	@echo "make solutions   executed copies of the master notebooks in build/solutions/"
	@echo "make checkpoints retrain the instructor checkpoint of 04_translation (minutes; committed)"
	@echo "make heldout    rewrite the held-out questions of 02's and 03's training runs (seconds; committed)"
	@echo "make bench       nbgrader autograde vs the standalone runner, seconds per submission"

venv: $(STAMP)

# Idempotent: the venv is created once and reinstalled only when the pins or the package change.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=...)")'
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

demo: venv
	$(BIN)/python -m examples.build_class
	@for a in $(ASSIGNMENTS); do \
	  $(BIN)/python -m autograder grade --assignment $$a --out examples/reports/$$a --setup-timeout 60 examples/submitted || exit $$?; \
	done

test: venv
	$(BIN)/python -m pytest -q -n $(PYTEST_JOBS) --dist loadfile --durations=25

notebooks: venv
	@for a in $(ASSIGNMENTS); do $(BIN)/python -m nbgrader generate_assignment $$a --force --no-db || exit $$?; done

solutions: venv
	$(BIN)/python -m seqlab.build_solutions --out build/solutions

checkpoints: venv
	$(BIN)/python -m autograder.assignments.04_translation.checkpoint

heldout: venv
	$(BIN)/python -m autograder.checks.heldout

bench: venv
	$(BIN)/python benchmarks/grading.py --n 4

lock: venv
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^sequence-models-lab' | \
	  sed '1i # Pinned dependencies of Sequence Models Lab (python 3.11). Regenerate with: make lock' > requirements.lock

clean:
	rm -rf build examples/reports .pytest_cache
