"""Shared pytest set-up: the tests import their helpers (nbrun) from this folder."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


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
