# asyncio-lab: the two commands a learner needs are `make lab` and `make test`.
# Each venv is (re)installed only when the requirements changed, so re-running is quick.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The Simplified Chinese edition (zh-CN/) opens when LANG says Chinese: `make lab LANG=zh-CN`, or a
# system whose language is zh_CN.UTF-8 and the like (zh_TW and zh_HK too: there is no Traditional
# edition, and the Simplified one is closer to them than the English).
FIRST_LESSON := $(if $(filter zh%,$(LANG)),zh-CN/notebooks/00-start-here.ipynb,notebooks/00-start-here.ipynb)

.PHONY: lab test test-here test-offline bench bench-instructions exercises translations clean-notebooks reset-exercise figures html \
	python-ok venv dev-venv installed installed-dev wheels public-links

## python-ok: is $(PYTHON) 3.11 or newer, and was .venv made by it? (says how to fix it if not)
# Checked before make looks at .venv, so that an old Python gets a sentence, not a pip error, and a
# .venv made by another Python is deleted (and so rebuilt) before the rules below see it.
PYTHON_GIVEN := $(if $(filter command line environment,$(origin PYTHON)),--given,)
python-ok:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "asyncio-lab needs Python 3.11 or newer, and \
	\`$(PYTHON)\` was not found. Install one (with pyenv: \`pyenv install 3.12\`; or from \
	https://www.python.org/downloads/), then name it: \`make PYTHON=python3.12 $(or $(firstword $(MAKECMDGOALS)),lab)\`."; exit 1; }
	@$(PYTHON) tools/check_python.py --name "$(PYTHON)" --venv $(VENV) $(PYTHON_GIVEN) \
		--goal "$(firstword $(MAKECMDGOALS))"

# The venv is made in a second make, started after python-ok has run (and perhaps deleted it).
venv: python-ok
	@$(MAKE) --no-print-directory installed

dev-venv: python-ok
	@$(MAKE) --no-print-directory installed-dev

# (targets with a silent recipe, so that an up-to-date venv prints nothing)
installed: $(VENV)/.installed
	@:
installed-dev: $(VENV)/.installed-dev
	@:

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# In a room without internet, a wheels/ folder made beforehand by `make wheels` is the only source.
OFFLINE := $(if $(wildcard wheels/*.whl),--no-index --find-links wheels/,)

$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	$(if $(OFFLINE),@echo "Installing from wheels/ only (no network needed).",$(BIN)/python -m pip install --quiet --upgrade pip)
	$(BIN)/python -m pip install --quiet $(OFFLINE) -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

## wheels: download every package `make lab` installs into wheels/, for a room without internet
# requirements.txt but its `-e .` (this folder: pip would zip it whole), and setuptools, from which
# pip builds this folder's package. Run it on a machine with the learners' operating system and
# Python version; pip takes the files that fit from the folder.
wheels: venv
	$(BIN)/python -m pip download --dest wheels/ setuptools $$(grep -v -e '^-e' -e '^#' requirements.txt)

## test-offline: wheels/ (made by `make wheels`) installs into a fresh venv with the network off
test-offline: dev-venv
	@test -n "$(OFFLINE)" || $(MAKE) --no-print-directory wheels
	ASYNCLAB_WHEELS=$(CURDIR)/wheels ASYNCLAB_OFFLINE_INSTALL=1 $(BIN)/python -m pytest -q -s tests/test_offline_install.py

## public-links: rewrite the Colab, Binder and JupyterHub links from README's [repository] URL
public-links:
	@$(PYTHON) tools/public_links.py --write

## lab: open JupyterLab on the first lesson (localhost only, with Jupyter's token)
# (Jupyter refuses to run as root unless told; containers and some hubs run everything as root.)
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)
# The root is the repository, so that the lessons' links to ../exercises/ and ../solutions/ open.
lab: venv
	$(BIN)/jupyter lab --ip=127.0.0.1 $(ROOT_FLAG) --ServerApp.root_dir=. $(FIRST_LESSON)

## test: the whole suite on this Python and on every other CPython >= 3.11 found
test: dev-venv
	bash tools/run_tests.sh

## test-here: the suite on .venv's Python only (quicker while working on a lesson)
test-here: dev-venv
	$(BIN)/python -m pytest -q

## bench: tracer overhead and drawing speed, printed as ratios
bench: dev-venv
	$(BIN)/python -m pip install --quiet viztracer==1.1.1
	$(BIN)/python benchmarks/trace_overhead.py

## bench-instructions: the tracer's cost counted in instructions (valgrind), which load moves far less
bench-instructions: dev-venv
	$(BIN)/python benchmarks/trace_instructions.py

## exercises: regenerate exercises/ from solutions/ (edited exercises are kept aside)
exercises: dev-venv
	$(BIN)/python tools/make_exercises.py

## translations: write the zh-CN edition (zh-CN/) from the English notebooks and translations/zh-CN/
# (edited zh-CN notebooks are kept aside; `python tools/translations.py --status` lists what is
# stale or missing)
translations: dev-venv
	$(BIN)/python tools/translations.py

## clean-notebooks: strip outputs from notebooks/ and solutions/ before committing
clean-notebooks: dev-venv
	$(BIN)/python tools/clean.py --write

## reset-exercise N=03: a fresh copy of exercise 03; your edited one is kept beside it
# (LANG=zh-CN, or a Chinese system: the zh-CN edition's exercise 03)
reset-exercise: venv
	@test -n "$(N)" || { echo "usage: make reset-exercise N=03"; exit 2; }
	$(BIN)/python tools/reset_exercise.py $(N) $(if $(filter zh%,$(LANG)),--edition zh-CN,)

## figures: redraw the README's timeline pictures (docs/figures/)
figures: dev-venv
	$(BIN)/python tools/make_figures.py
	$(BIN)/python tools/explore_figure.py

## html: the reading copy: run every lesson and write a static site to build/html/ (index.html),
# and the zh-CN edition's to build/html/zh-CN/
html: dev-venv
	$(BIN)/python tools/build_html.py --edition zh-CN --out build/html/zh-CN
	$(BIN)/python tools/build_html.py --out build/html
