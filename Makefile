# Thin targets: each calls dlab, docker or pytest. `make help` lists them.
FLAVOR ?= cpu
CLASS ?= class.toml
PYTHON ?= python3
DLAB = $(PYTHON) scripts/dlab

.PHONY: help lab image test lint bench check doctor down hub hub-down lock base-image venv

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

lab:  ## start JupyterLab (builds the image when missing)
	$(DLAB) up

image:  ## build the image: make image FLAVOR=cpu|cuda
	$(DLAB) build --flavor $(FLAVOR)

test: venv  ## build what the tests need, then run all tests
	scripts/test

lint:  ## ruff and mypy (Python), hadolint, shellcheck, compose config
	scripts/lint

bench:  ## size and speed figures (JSON + table) into build/bench.json
	$(PYTHON) scripts/bench.py

check:  ## smoke checks inside a fresh container
	$(DLAB) check --flavor $(FLAVOR)

doctor:  ## every prerequisite with a tick or a cross
	$(DLAB) doctor

down:  ## stop the lab
	$(DLAB) down

hub:  ## the classroom server from a class settings file: make hub CLASS=class.toml
	$(DLAB) hub up --settings $(CLASS)

hub-down:  ## stop the classroom server and every student's lab (all files stay)
	$(DLAB) hub down --settings $(CLASS)

lock:  ## re-pin docker/requirements/*.lock from the .in files
	scripts/lock

base-image:  ## make the Debian base image offline (debootstrap); ARCH=arm64 for the arm64 one
	scripts/make-base-image $(if $(ARCH),--arch $(ARCH))

venv:  ## the host test environment in .venv
	scripts/venv
