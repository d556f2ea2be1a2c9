"""Shared pytest set-up: the tests import their helpers (nbrun) from this folder.

Tests marked `once` check something that does not depend on the Python version (files on disk,
the tools, the exercise checks' verdicts on bad answers, the reading copy): tools/run_tests.sh
runs them on the main interpreter only.  Executing the notebooks, the claim tests and the tracer
tests run on every version.
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Whole files whose tests do not depend on the Python version.
ONCE_FILES = {"test_checks_robust.py", "test_reading_copy.py", "test_tools.py", "test_plots.py",
              "test_links.py", "test_setup_guard.py", "test_public_links.py",
              "test_offline_install.py", "test_predict.py",
              "test_instructors.py", "test_rerun.py", "test_translations.py"}
# Single version-independent tests in files that otherwise run everywhere.
ONCE_TESTS = {"test_committed_without_outputs", "test_exercises_are_generated_from_solutions",
              "test_every_lesson_links_on", "test_every_assert_in_a_lesson_says_why"}


def pytest_configure(config):
    config.addinivalue_line("markers", "once: does not depend on the Python version; "
                                       "run_tests.sh runs it on the main interpreter only")


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in ONCE_FILES or item.originalname in ONCE_TESTS:
            item.add_marker(pytest.mark.once)


def pytest_sessionfinish(session):
    """Write what the notebooks' kernels ran to $ASYNCLAB_KERNEL_REPORT (run_tests.sh prints it)."""
    target = os.environ.get("ASYNCLAB_KERNEL_REPORT")
    if not target:
        return
    from nbrun import KERNELS, python_version
    ran = sorted(set(KERNELS.values()), key=str)
    line = (f"{python_version()}: {len(KERNELS)} notebook runs, kernels ran "
            f"{', '.join(map(str, ran)) or 'nothing'}")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(line + "\n", encoding="utf-8")


def pytest_terminal_summary(terminalreporter):
    """Print the bad-answer table (see test_checks_robust.py) when those tests ran."""
    try:
        from test_checks_robust import TABLE
    except ImportError:
        return
    if not TABLE:
        return
    write = terminalreporter.write_line
    write("")
    write("Exercise checks under bad answers (verdict, seconds, first line of the message):")
    write(f"{'exercise':20} {'bad answer':40} {'verdict':10} {'s':>4}  what the learner reads (first sentence)")
    for exercise, label, status, seconds, said in TABLE:
        write(f"{exercise:20} {label:40} {status:10} {seconds:4.1f}  {said[:110]}")
