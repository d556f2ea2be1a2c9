#!/usr/bin/env bash
# Run the test suite on .venv's Python, then on every other CPython >= 3.11 this machine has
# (pyenv's, python3.X on the PATH, and 3.14/3.15 from the chroot of tools/sid_pythons.sh once
# `bash tools/sid_pythons.sh setup` has made it), each in its own venv .venv-py3.X.
#
# The main interpreter runs everything.  The others run what depends on the Python version:
# every notebook executed in a kernel of that Python, the claim tests, the tracer tests; tests
# marked `once` (files on disk, tools, the bad-answer table, the reading copy), the browser
# tests and the run under load are the same on every version and run once.
# At the end it says which versions it tested and what each run's notebook kernels ran.
set -u
cd "$(dirname "$0")/.."

REPORTS=test-artifacts/kernels
rm -rf "$REPORTS"
tested=()
failed=()

pyversion() {   # $1... = how to run a python; prints its version, e.g. 3.14.10
    "$@" -c 'import platform; print(platform.python_version())'
}

run_suite() {   # $1 = label, rest = the command that runs pytest
    local label=$1; shift
    echo
    echo "=== tests on Python $label ==="
    local started=$SECONDS
    if "$@"; then
        tested+=("$label")
    else
        failed+=("$label")
    fi
    echo "=== Python $label: $((SECONDS - started)) s ==="
}

pytest_in() {   # $1 = venv, $2 = name of the kernel report ("" for none), rest = pytest args
    local venv=$1 report=$2; shift 2
    ASYNCLAB_KERNEL_REPORT=${report:+$REPORTS/$report.txt} "$venv/bin/python" -m pytest -rs "$@"
}

joined() {      # the arguments, separated by ", "
    local out="" item
    for item in "$@"; do out="${out:+$out, }$item"; done
    echo "${out:-none}"
}

stale() {       # $1 = venv: true if it must be (re)installed
    local stamp="$1/.installed-dev"
    [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ requirements-dev.txt -nt "$stamp" ] \
        || [ pyproject.toml -nt "$stamp" ]
}

# After the main suite, every run is queued, and runs as soon as one of two slots is free
# (ASYNCLAB_SIDE_BY_SIDE=1 for one at a time): the browser tests start at once, and the other
# interpreters' venvs are made while they run.  Most of a suite's time is kernels starting and
# demos sleeping, not computing, so two side by side take little longer than one; the lessons'
# demos are built to show the same on a busy machine (tests/test_under_load.py checks that, alone
# at the end).  Each run's output is printed whole when it ends, so runs never interleave.
OTHERS=(-q -p no:cacheprovider -m "not browser and not load and not once and not zh")
queued_labels=()
queued_commands=()
next=0
declare -A job_of=()
width=${ASYNCLAB_SIDE_BY_SIDE:-2}
# bash 5.1's `wait -n -p` tells which run ended; an older bash runs them one at a time.
if (( BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] < 501 )); then width=1; fi
mkdir -p test-artifacts/runs

queue() {       # $1 = label, rest = the command that runs pytest; starts it if a slot is free
    queued_labels+=("$1"); shift
    queued_commands+=("$(printf '%q ' "$@")")
    reap_ended
    fill_slots
}

fill_slots() {  # start queued runs while a slot is free
    while (( ${#job_of[@]} < width && next < ${#queued_labels[@]} )); do
        ( started=$SECONDS
          eval "${queued_commands[$next]}"
          status=$?
          echo "=== Python ${queued_labels[$next]}: $((SECONDS - started)) s ==="
          exit $status ) > "test-artifacts/runs/$next.log" 2>&1 &
        job_of[$!]=$next
        echo "(started: Python ${queued_labels[$next]}; its output is printed when it ends," \
             "meanwhile in test-artifacts/runs/$next.log)"
        next=$((next + 1))
    done
}

report() {      # $1 = pid of a run that ended, $2 = its exit status
    local j=${job_of[$1]}
    unset "job_of[$1]"
    echo
    echo "=== tests on Python ${queued_labels[$j]} (up to $width runs side by side) ==="
    if [ "$2" = 0 ]; then
        tested+=("${queued_labels[$j]}")
    else
        failed+=("${queued_labels[$j]}")
    fi
    cat "test-artifacts/runs/$j.log"
}

reap_ended() {  # report the runs that have ended, without waiting for the others
    local pid status
    for pid in "${!job_of[@]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            status=0
            wait "$pid" || status=$?
            report "$pid" "$status"
        fi
    done
}

run_queued() {  # wait for every queued run, starting the rest as slots free up
    local pid status
    fill_slots
    while (( ${#job_of[@]} > 0 )); do
        status=0
        wait -n -p pid "${!job_of[@]}" || status=$?
        report "$pid" "$status"
        fill_slots
    done
}

main=$(pyversion .venv/bin/python)
main_minor=${main%.*}
# The main interpreter's suite first, alone: it has the most timing checks (every exercise
# check's verdict on every bad answer), and beside the browser tests a few of them met a loaded
# machine's stalls.  Then every other run is queued: the browser tests (a process of their own:
# Playwright keeps an event loop in the main thread) first.  The runs under load come last,
# alone; every cell run twice (tests/test_rerun.py) is queued below.
run_suite "$main" pytest_in .venv "$main" -q -p no:cacheprovider \
    -m "not browser and not zh and not load" --ignore=tests/test_rerun.py
queue "$main (JupyterLab in Chromium)" pytest_in .venv "" -q -p no:cacheprovider -m browser \
    tests/browser -k "not zh"

# Google Colab's kernel stack (ipykernel 6, ipywidgets 7; requirements-colab.txt), once: made
# here, its tests queued with the other runs below.
colab=0
bash tools/colab_env.sh || colab=$?
case $colab in
    0) ;;       # queued last, below: it is the shortest run
    3) echo "note: no Python 3.12 on this machine, so Colab's stack was not tested" ;;
    *) failed+=("Colab's stack (install)") ;;
esac

# The zh-CN lessons in JupyterLab, and the zh-CN edition on the main interpreter: its notebooks
# executed (test_zh_notebooks.py), and every claim test of the lessons run on the zh-CN notebooks (nbrun.execute reads them back in
# English; see tests/nbrun.py).  The one test that loads both cores on purpose reads no notebook
# and runs in every other run: not here, where another run already loads the machine.
queue "$main (zh-CN lessons in JupyterLab)" pytest_in .venv "" -q -p no:cacheprovider -m browser \
    tests/browser -k zh
queue "$main (zh-CN edition)" ASYNCLAB_EDITION=zh-CN pytest_in .venv "$main zh-CN" -q -p no:cacheprovider \
    -m "not browser and not load and not once" tests/test_zh_notebooks.py tests/test_notebooks.py \
    tests/test_lesson0*.py tests/test_lesson1*.py \
    --deselect tests/test_lesson02.py::test_the_orders_the_lesson_shows_hold_while_both_cores_are_busy
# Other interpreters on this machine: the newest patch release of each minor version >= 3.11.
declare -A seen=([$main_minor]=1)
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
    if stale "$venv"; then
        echo "=== setting up $venv ==="
        { [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"; } &&
        "$venv/bin/python" -m pip install --quiet --upgrade pip &&
        "$venv/bin/python" -m pip install --quiet -r requirements-dev.txt &&
        touch "$venv/.installed-dev" || { failed+=("$minor (install)"); continue; }
    fi
    version=$(pyversion "$venv/bin/python")
    queue "$version" pytest_in "$venv" "$version" "${OTHERS[@]}"
done

# 3.14 and 3.15 from the Debian sid chroot.  Venvs made there run only through `sid_pythons.sh run`.
sid() { bash tools/sid_pythons.sh "$@"; }
sid_versions=$(sid versions 2>/dev/null || true)
if [ -n "$sid_versions" ] && [ "$(id -u)" != 0 ]; then
    echo "note: the chroot has Python $sid_versions, but running it needs root; skipped them"
    sid_versions=""
fi
for minor in $sid_versions; do
    [ -z "${seen[$minor]:-}" ] || continue
    seen[$minor]=1
    venv=".venv-py$minor"
    if stale "$venv"; then
        echo "=== setting up $venv (in the chroot) ==="
        { [ -x "$venv/bin/python" ] || sid run "python$minor" -m venv "$venv"; } &&
        sid run "$venv/bin/python" -m pip install --quiet -r requirements-dev.txt &&
        touch "$venv/.installed-dev" || { failed+=("$minor (install)"); continue; }
    fi
    version=$(sid run "$venv/bin/python" -c 'import platform; print(platform.python_version())') \
        && [ -n "$version" ] || { failed+=("$minor (chroot)"); continue; }
    queue "$version" sid run env ASYNCLAB_KERNEL_REPORT="$REPORTS/$version.txt" \
        "$venv/bin/python" -m pytest -rs "${OTHERS[@]}"
done
# A room without internet (README): on CI, make the wheel folder `make wheels` would make (from
# the package index, which CI reaches) in test-artifacts/, then install from it into a fresh
# venv with the network shut off (tests/test_offline_install.py).  Queued with the others.
offline_room() {
    local wheels=test-artifacts/wheels
    mkdir -p "$wheels"
    .venv/bin/python -m pip download --quiet --dest "$wheels" setuptools \
        $(grep -v -e '^-e' -e '^#' requirements.txt) > "$wheels/download.log" 2>&1 ||
        { tail -n 30 "$wheels/download.log"; echo "could not download the wheels (see above)"; return 1; }
    echo "downloaded $(ls "$wheels"/*.whl | wc -l) wheels into $wheels"
    ASYNCLAB_WHEELS="$PWD/$wheels" ASYNCLAB_OFFLINE_INSTALL=1 \
        .venv/bin/python -m pytest -q -rs -p no:cacheprovider tests/test_offline_install.py
}
# It runs beside the queued suites (it mostly waits for pip and the disk), not in a slot of its own.
offline_pid=""
if [ "${CI:-}" = true ]; then
    mkdir -p test-artifacts/runs
    ( started=$SECONDS; offline_room; status=$?
      echo "=== offline install: $((SECONDS - started)) s ==="; exit $status ) > test-artifacts/runs/offline.log 2>&1 &
    offline_pid=$!
fi
queue "$main (every cell run twice, and out of order)" pytest_in .venv "" -q -p no:cacheprovider tests/test_rerun.py
if [ "$colab" = 0 ]; then
    queue "3.12 on Colab's stack" pytest_in .venv-colab "" -q -p no:cacheprovider \
        tests/test_colab_stack.py tests/test_interrupts.py
fi
run_queued
if [ -n "$offline_pid" ]; then
    echo
    echo "=== an offline install from a wheel folder (with Python $main, beside the suites above) ==="
    if wait "$offline_pid"; then tested+=("$main (an offline install)"); else failed+=("the offline install"); fi
    cat test-artifacts/runs/offline.log
fi
# Each lesson again while busy processes load every core: alone, so that the load is only theirs.
run_suite "$main (lessons under load)" pytest_in .venv "" -q -p no:cacheprovider -m load

echo
echo "What each run's notebook kernels ran:"
cat "$REPORTS"/*.txt 2>/dev/null | sed 's/^/  /' || echo "  (no report: no notebook ran)"
echo "Tested on Python: $(joined "${tested[@]}")"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED on Python: $(joined "${failed[@]}")"
    exit 1
fi
