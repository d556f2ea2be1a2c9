#!/usr/bin/env bash
# Make .venv-colab: Python 3.12 with Google Colab's published kernel stack (requirements-colab.txt)
# and asynclab, for tests/test_colab_stack.py and tests/test_interrupts.py.  Reinstalls only when
# its requirements change.
#     bash tools/colab_env.sh && .venv-colab/bin/python -m pytest -q tests/test_colab_stack.py
set -eu
cd "$(dirname "$0")/.."
VENV=.venv-colab
STAMP=$VENV/.installed-colab
if [ -f "$STAMP" ] && [ ! requirements-colab.txt -nt "$STAMP" ] && [ ! pyproject.toml -nt "$STAMP" ]; then
    exit 0
fi
PY=${COLAB_PYTHON:-}
if [ -z "$PY" ]; then
    for candidate in "$(pyenv root 2>/dev/null)"/versions/3.12.*/bin/python python3.12; do
        if command -v "$candidate" >/dev/null 2>&1; then PY=$candidate; break; fi
    done
fi
# No 3.12 here: nothing to test on Colab's stack, which is not a failure of the project (exit 3).
[ -n "$PY" ] || { echo "no Python 3.12 found (Colab runs 3.12): Colab's stack not tested; set COLAB_PYTHON=/path/to/python3.12" >&2; exit 3; }
echo "=== setting up $VENV from requirements-colab.txt with $PY ==="
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet -r requirements-colab.txt
# asynclab itself, as a lesson's first cell installs it on Colab: with what it needs that Colab lacks
# (anywidget), and no upgrade of Colab's own packages (checked after).
"$VENV/bin/python" -m pip install --quiet --upgrade-strategy only-if-needed -e .
"$VENV/bin/python" -m pip freeze | grep -i -E '^(ipykernel|ipython|ipywidgets|matplotlib)==' \
    | sort > "$VENV/colab-pins.txt"
grep -i -E '^(ipykernel|ipython|ipywidgets|matplotlib)==' requirements-colab.txt | sort \
    | diff -i - "$VENV/colab-pins.txt" >/dev/null \
    || { echo "installing asynclab changed Colab's own packages:"; cat "$VENV/colab-pins.txt"; exit 1; }
"$VENV/bin/python" -m pip check
touch "$STAMP"
