"""asynclab.playground: what a learner who builds or drives a playground meets.

The lessons' own playgrounds are tested in each lesson's tests and, with a real slider, in the
browser tests; here: the messages for bad input, a scenario that raises or runs too long, and the
garbage collection before each run.
"""

import asyncio
import gc
import sys

import pytest

import asynclab


async def jobs(n):
    await asyncio.gather(*(asyncio.sleep(0.01) for _ in range(n)))
    return f"{n} jobs"


def test_a_playground_runs_its_scenario_and_redraws_on_set():
    pg = asynclab.playground(jobs, n=(1, 5, 1, 2))
    assert pg.runs == 1 and pg.caption.value == "2 jobs" and pg.image.value[:4] == b"\x89PNG"
    pg.set(n=4)
    assert pg.runs == 2 and pg.caption.value == "4 jobs" and len(pg.timeline.tasks) == 4


@pytest.mark.parametrize("make, says", [
    (lambda: asynclab.playground(lambda n: None, n=(1, 5, 1)), "needs an `async def` scenario function"),
    (lambda: asynclab.playground(jobs), "needs at least one control"),
    (lambda: asynclab.playground(jobs, limit="k", n=(1, 5, 1)), "names the control whose value is drawn"),
])
def test_bad_arguments_get_a_sentence(make, says):
    with pytest.raises(TypeError, match=says.replace("`", ".").replace("(", ".")):
        make()


def test_set_with_an_unknown_name_lists_the_controls():
    pg = asynclab.playground(jobs, n=(1, 5, 1, 2))
    with pytest.raises(KeyError, match=r"no control named 'tasks'; the controls are \['n'\]"):
        pg.set(tasks=3)
    assert pg.runs == 1


def test_a_scenario_that_raises_is_shown_in_the_caption():
    async def broken(n):
        raise ValueError(f"no such page: {n}")

    pg = asynclab.playground(broken, n=(1, 5, 1, 2))
    assert pg.caption.value == "<b>The scenario raised ValueError:</b> no such page: 2"
    assert pg.timeline is None


def test_a_scenario_that_runs_too_long_is_abandoned(monkeypatch):
    # the module: the name asynclab.playground is the function that makes a playground
    monkeypatch.setattr(sys.modules["asynclab.playground"], "RUN_LIMIT", 1.0)

    async def slow(n):
        await asyncio.sleep(n)

    pg = asynclab.playground(slow, n=(1, 5, 1, 2))
    assert "took longer than 1 s and was abandoned" in pg.caption.value
    assert pg.runs == 0


def test_garbage_is_collected_before_each_run_not_during_it():
    """A full collection in a notebook that drew many figures pauses for 100-200 ms; the playground
    collects before the run, so the scenario starts with the garbage made before it already freed."""
    freed = []

    class Garbage:
        def __init__(self):
            self.me = self                   # a cycle: only the garbage collector frees it

        def __del__(self):
            freed.append(True)

    seen = []

    async def scenario(n):
        seen.append(len(freed))
        await asyncio.sleep(0)

    gc.disable()                             # no collection but the playground's own
    try:
        pg = asynclab.playground(scenario, n=(1, 5, 1, 2))
        for _ in range(3):
            Garbage()
        pg.set(n=3)
    finally:
        gc.enable()
    assert seen == [0, 3]
