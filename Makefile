# phasecollapse: `make demo` and `make test` create .venv when missing and install the package.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# CIFAR-10 for the tests and examples: the shared copy beside the checkout, when present.
SHARED_CIFAR10 := $(abspath ../shared/datasets/cifar10)
ifneq ($(wildcard $(SHARED_CIFAR10)/cifar-10-batches-py),)
export PHASECOLLAPSE_CIFAR10_DIR ?= $(SHARED_CIFAR10)
endif

.PHONY: demo test install clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

test: $(VENV)/.installed
	$(PY) -m pytest -q

demo: $(VENV)/.installed
	$(VENV)/bin/phasecollapse demo

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
