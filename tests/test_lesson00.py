"""Lesson 00 (start here): its claims, directly and as the executed lesson printed them."""

import asyncio
import re

import asynclab
from nbrun import execute

LESSON = "notebooks/00-start-here.ipynb"


def test_three_requests_started_together_overlap():
    async def main():
        async with asynclab.trace() as tl:
            results = await asyncio.gather(asynclab.fetch("A", 0.35), asynclab.fetch("B", 0.25),
                                           asynclab.fetch("C", 0.03))
        return tl, results

    tl, results = asyncio.run(main())
    assert results == ["<A>", "<B>", "<C>"]
    assert tl.order("finished") == ["fetch C", "fetch B", "fetch A"]
    assert tl.max_concurrency() == 3
    assert max(end for rec in tl.tasks for start, end, what in rec.waiting) < 0.35 + 0.25


def test_lesson_prints_and_reveals_what_happened():
    run = execute(LESSON)
    loop_cell = run.text_of("cell_task = asyncio.current_task()")
    assert "| running: True" in loop_cell
    assert "this cell runs inside a task: True" in loop_cell
    assert run.revealed("cell_task = asyncio.current_task()") == ["works"]
    demo = run.text_of('tl.plot(title="three requests started together")')
    assert "finish order: ['fetch C', 'fetch B', 'fetch A']" in demo
    block_ms = re.search(r"whole block: (\d+) ms", demo).group(1)
    assert run.revealed("asynclab.reveal(my_guess_order") == ["C B A", f"{block_ms} ms"]
    assert "finish order C, B, A; all three in progress at once" in run.text_of("for rec in tl.tasks:")
    five = run.text_of('await requests(5, 100, "together")')
    apart_ms, together_ms = re.search(r"one after the other (\d+) ms, together (\d+) ms", five).groups()
    assert run.revealed('await requests(5, 100, "together")') == [f"{apart_ms} ms", f"{together_ms} ms"]


def test_the_replay_walk_answers_who_runs_in_step_4():
    run = execute(LESSON)
    assert "An explorable timeline of 3 tasks" in run.text_of("tl.explore(step=3)")
    assert run.text_of("step4 = steps[3]") == "step 4: fetch C runs; ready queue: empty\n"
