# asyncio-lab: the two commands a learner needs are `make lab` and `make test`.
# Each venv is (re)installed only when the requirements changed, so re-running is quick.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FIRST_LESSON := notebooks/00-start-here.ipynb

.PHONY: lab test test-here bench exercises clean-notebooks reset-exercise figures html

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

## lab: open JupyterLab on the first lesson (localhost only, with Jupyter's token)
# (Jupyter refuses to run as root unless told; containers and some hubs run everything as root.)
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)
lab: $(VENV)/.installed
	$(BIN)/jupyter lab --ip=127.0.0.1 $(ROOT_FLAG) $(FIRST_LESSON)

## test: the whole suite on this Python and on every other CPython >= 3.11 found
test: $(VENV)/.installed-dev
	bash tools/run_tests.sh

## test-here: the suite on .venv's Python only (quicker while working on a lesson)
test-here: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

## bench: tracer overhead and drawing speed, printed as ratios
bench: $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet viztracer==1.1.1
	$(BIN)/python benchmarks/trace_overhead.py

## exercises: regenerate exercises/ from solutions/ (edited exercises are kept aside)
exercises: $(VENV)/.installed-dev
	$(BIN)/python tools/make_exercises.py

## clean-notebooks: strip outputs from notebooks/ and solutions/ before committing
clean-notebooks: $(VENV)/.installed-dev
	$(BIN)/python tools/clean.py --write

## reset-exercise N=03: a fresh copy of exercise 03; your edited one is kept beside it
reset-exercise: $(VENV)/.installed
	@test -n "$(N)" || { echo "usage: make reset-exercise N=03"; exit 2; }
	$(BIN)/python tools/reset_exercise.py $(N)

## figures: redraw the README's timeline pictures (docs/figures/)
figures: $(VENV)/.installed-dev
	$(BIN)/python tools/make_figures.py

## html: the reading copy: run every lesson and write a static site to build/html/ (index.html)
.PHONY: html
html: $(VENV)/.installed-dev
	$(BIN)/python tools/build_html.py --out build/html
