#!/usr/bin/env bash
# Run the test suite on .venv's Python, then on every other CPython >= 3.11 this machine has
# (pyenv's, or python3.X on PATH), each in its own venv .venv-py3.X.  Says which it tested.
set -u
cd "$(dirname "$0")/.."

main_version=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
tested=()
failed=()

run_suite() {   # $1 = venv dir, $2 = label, rest = pytest args
    local venv=$1 label=$2; shift 2
    echo
    echo "=== tests on Python $label ($venv) ==="
    if "$venv/bin/python" -m pytest -rs "$@"; then
        tested+=("$label")
    else
        failed+=("$label")
    fi
}

main=$(.venv/bin/python -c 'import platform; print(platform.python_version())')
run_suite .venv "$main" -q -m "not browser"
# The browser tests in a process of their own: Playwright keeps an event loop in the main thread.
run_suite .venv "$main (JupyterLab in Chromium)" -q -m browser tests/browser

# Other interpreters: the newest patch release of each minor version >= 3.11.
declare -A seen=([$main_version]=1)
candidates=()
if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.[0-9]+\.[0-9]+$' | sort -V -r); do
        candidates+=("$(pyenv root)/versions/$v/bin/python")
    done
fi
for minor in 11 12 13 14 15; do
    command -v "python3.$minor" >/dev/null 2>&1 && candidates+=("$(command -v python3.$minor)")
done
for py in "${candidates[@]}"; do
    [ -x "$py" ] || continue
    minor=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2]) if sys.version_info >= (3, 11) else None' 2>/dev/null)
    [ -n "$minor" ] && [ "$minor" != "None" ] || continue
    [ -z "${seen[$minor]:-}" ] || continue
    seen[$minor]=1
    venv=".venv-py$minor"
    stamp="$venv/.installed-dev"
    if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ requirements-dev.txt -nt "$stamp" ] \
        || [ pyproject.toml -nt "$stamp" ]; then
        echo "=== setting up $venv ==="
        { [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"; } &&
        "$venv/bin/python" -m pip install --quiet --upgrade pip &&
        "$venv/bin/python" -m pip install --quiet -r requirements-dev.txt &&
        touch "$stamp" || { failed+=("$minor (install)"); continue; }
    fi
    # The browser tests (JupyterLab in Chromium) and the run under load take long and do not
    # depend on the kernel's Python version: they run once, on .venv's Python.
    run_suite "$venv" "$("$venv/bin/python" -c 'import platform; print(platform.python_version())')" -q -m "not browser and not load"
done

echo
echo "Tested on Python: ${tested[*]:-none}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED on Python: ${failed[*]}"
    exit 1
fi
