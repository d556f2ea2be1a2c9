"""What each lesson demonstrates comes out the same on a machine whose cores are all busy.

Each lesson runs once normally and once while busy processes keep every core loaded; what
it printed is compared after blanking what is *meant* to vary (durations, addresses, big
ids).  Orders, counts and error messages must match exactly.  The lessons' own asserts run
in both runs too, so a demo whose margins are too thin fails here.
"""

import difflib
import os
import re
import subprocess
import sys

import pytest

from nbrun import ROOT, execute

LESSONS = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))]

_VARYING = [
    (re.compile(r"0x[0-9a-f]+"), "0x…"),
    (re.compile(r"\bTask-\d+"), "Task-…"),
    (re.compile(r"\d+(\.\d+)?\s?(ms|µs|us|s|sec|seconds|second)\b"), "… \\2"),   # durations
    (re.compile(r"\d+\.\d+"), "…"),                                      # other measurements
    (re.compile(r"\b\d{4,}\b"), "…"),                                    # pids, thread ids, ports
    (re.compile(r"/tmp/[^\s'\"]+"), "/tmp/…"),                           # temp files
    (re.compile(r"line \d+"), "line …"),
]


def normalise(text):
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    return [line.rstrip() for line in text.splitlines() if "WARNING | Kernel is running over TCP" not in line]


@pytest.fixture(scope="module")
def busy_cores():
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(os.cpu_count() or 2)]
    yield len(burners)
    for p in burners:
        p.kill()
        p.wait(timeout=10)


@pytest.mark.load
@pytest.mark.parametrize("relpath", LESSONS)
def test_a_lesson_shows_the_same_under_load(relpath, busy_cores):
    quiet = normalise(execute(relpath).text)          # the suite's normal run (cached)
    loaded = normalise(_execute_fresh(relpath).text)
    if quiet != loaded:
        diff = "\n".join(difflib.unified_diff(quiet, loaded, "quiet run", f"with {busy_cores} busy cores",
                                              lineterm="", n=1))
        pytest.fail(f"{relpath} printed something different under load:\n{diff}")


def _execute_fresh(relpath):
    """Run the notebook again in a new kernel (bypassing the per-session cache)."""
    return execute.__wrapped__(relpath)
