# phasecollapse: `make demo` and `make test` create .venv when missing and install the package.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# CIFAR-10 for the tests and examples: the shared copy beside the checkout, when present.
SHARED_CIFAR10 := $(abspath ../shared/datasets/cifar10)
ifneq ($(wildcard $(SHARED_CIFAR10)/cifar-10-batches-py),)
export PHASECOLLAPSE_CIFAR10_DIR ?= $(SHARED_CIFAR10)
endif

.PHONY: demo test smoke docs install clean

# The exact versions of constraints.txt (pyproject.toml holds the ranges).
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed

test: $(VENV)/.installed
	$(PY) -m pytest -q

# The built wheel, installed in a fresh environment outside the checkout and run from there.
smoke: $(VENV)/.installed
	VENV=$(VENV) .ci/wheel_smoke

# The documentation site: warnings are errors, the gallery is executed, the links inside the site checked.
docs: $(VENV)/.installed
	cd docs && MPLBACKEND=Agg ../$(PY) -m sphinx -b html -W --keep-going -q . _build/html
	cd docs && ../$(PY) -m sphinx -b linkcheck -W --keep-going -q . _build/linkcheck

demo: $(VENV)/.installed
	$(VENV)/bin/phasecollapse demo

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache docs/_build docs/_generated docs/auto_examples docs/generated
