"""The wrong-answer bank (tests/answer_bank.py): every wrong answer is rejected by its check with a
verdict that names its actual cause; every right answer passes; no check output (verdicts, hints)
gives the solution's code away.  Prints, per exercise, wrong rejected / total and right passed / total.
"""

import asyncio
import collections
import re
import threading
import time
from pathlib import Path

import pytest

from answer_bank import ANSWERS
from asynclab.checks import check, core
from asynclab.simsite import PageNotFound

ROOT = Path(__file__).resolve().parent.parent
RESULTS = {}          # (exercise, label) -> (expected to pass, it did what it should)


def load(exercise, source):
    """The answer's object, from its source, in a namespace like an exercise notebook's."""
    namespace = {"asyncio": asyncio, "collections": collections, "time": time,
                 "threading": threading, "PageNotFound": PageNotFound,
                 "RETRYABLE": (ConnectionError, TimeoutError), "__name__": "answer_bank"}
    exec(compile(source, f"<{exercise} answer>", "exec"), namespace)
    return namespace[exercise]


def _id(entry):
    return f"{entry[0]}: {entry[1]}"


@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    """Print the bank's totals at the end of the run (a plugin registered for this module)."""
    class Summary:
        def pytest_terminal_summary(self, terminalreporter):
            write = terminalreporter.write_line
            write("")
            write("Wrong-answer bank (tests/answer_bank.py): per exercise, as the checks judged them")
            write(f"{'exercise':22} {'wrong rejected':>16} {'right passed':>14}")
            for name in sorted({e for e, _ in RESULTS}):
                rows = [v for (e, _), v in RESULTS.items() if e == name]
                wrong = [ok for right, ok in rows if not right]
                good = [ok for right, ok in rows if right]
                write(f"{name:22} {sum(wrong):>9} / {len(wrong):<4} {sum(good):>7} / {len(good):<4}")
    plugin = Summary()
    request.config.pluginmanager.register(plugin, "answer-bank-summary")
    yield


def test_every_exercise_has_its_bank():
    for name in core._REGISTRY:
        wrong = [a for a in ANSWERS if a[0] == name and a[2] is not None]
        right = [a for a in ANSWERS if a[0] == name and a[2] is None]
        assert len(wrong) >= 4 and right, f"{name}: {len(wrong)} wrong, {len(right)} right answers"


@pytest.mark.parametrize("entry", ANSWERS, ids=_id)
def test_the_check_judges_the_answer(entry):
    exercise, label, cause, source = entry
    result = check(load(exercise, source), exercise)
    if cause is None:
        RESULTS[exercise, label] = (True, result.passed)
        assert result.passed, f"a right answer was rejected:\n{result.message}"
    else:
        named = re.search(cause, result.message, re.I | re.S) is not None
        RESULTS[exercise, label] = (False, not result.passed and named)
        assert not result.passed, f"a wrong answer passed:\n{result.message}"
        assert named, f"the verdict does not name the cause ({cause!r}):\n{result.message}"
    assert_no_solution_code(exercise, result.message)


# -- no check output gives the solution away ------------------------------------------------
def _solution_lines():
    """Every code line of every reference solution region, stripped, long enough to mean something."""
    import nbformat
    lines = set()
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if "### BEGIN SOLUTION" in line:
                    inside = True
                elif "### END SOLUTION" in line:
                    inside = False
                elif inside:
                    code = line.split("#")[0].strip()
                    if len(code) >= 14 and code not in ("return results", "return found"):
                        lines.add(code)
    return lines


SOLUTION_LINES = _solution_lines()
CODE_CALL = re.compile(r"\basyncio\.\w+\([^)\s]")     # asyncio.something(with arguments)


def assert_no_solution_code(exercise, text):
    for line in SOLUTION_LINES:
        assert line not in text, f"{exercise}: the check's output contains solution code {line!r}:\n{text}"
    call = CODE_CALL.search(text)
    assert call is None, f"{exercise}: the check's output spells out a call, {call.group()!r}...:\n{text}"


@pytest.mark.parametrize("exercise", sorted(core._REGISTRY))
def test_hints_go_from_a_nudge_to_the_idea_without_code(exercise):
    hints = core._REGISTRY[exercise]["hints"]
    assert 1 <= len(hints) <= 3
    core._hints_given.pop(exercise, None)
    try:
        shown = [core.hint(exercise).message for _ in range(len(hints) + 1)]
    finally:
        core._hints_given.pop(exercise, None)
    for n, text in enumerate(shown[:len(hints)], 1):
        assert text.startswith(f"Hint {n} of {len(hints)} for {exercise}:"), text
        assert_no_solution_code(exercise, text)
    assert shown[-1] == shown[-2], "after the last hint, the last one again"


def _reference_solutions():
    """(exercise, source) for each solution cell: the cell as written in solutions/."""
    import nbformat
    found = []
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
                name = re.search(r"^(?:async def|def|class) (\w+)", cell.source, re.M).group(1)
                found.append((name, cell.source))
    return found


@pytest.mark.parametrize("exercise, source", _reference_solutions(), ids=lambda v: v if len(v) < 40 else "")
def test_the_reference_solution_passes(exercise, source):
    """Includes the reported cases: a cancelled racer, a TypeError not retried, no fetch left
    running after an error, workers=0 refused (each a case of its check)."""
    result = check(load(exercise, source), exercise)
    assert result.passed, result.message


def test_no_two_exercises_share_a_hint():
    owner = {}
    for name, spec in core._REGISTRY.items():
        for text in spec["hints"]:
            assert owner.setdefault(text, name) == name, \
                f"{name} and {owner[text]} give the same hint: {text!r}"
