"""Lesson 08 (debugging and introspection): every claim the lesson makes, and its exercise's check.

(a) the claims reproduced directly with asyncio.run() or a subprocess, independent of the notebook;
(b) what the lesson printed when executed in a fresh kernel;
(c) the check of find_stuck: the solution passes, and wrong answers fail with a sentence that
    names the problem.  That no answer (hanging, blocking, raising) can stall it is tested for all
    exercises at once in test_checks_robust.py.
"""

import asyncio
import re
import subprocess
import sys
import textwrap
import threading

import pytest

from nbrun import ROOT, execute, function_from

from asynclab import trace
from asynclab.checks import check

LESSON = "notebooks/08-debugging-and-introspection.ipynb"


# ---------------------------------------------------------------- (a) the claims, directly

def test_task_names():
    async def main():
        anonymous = asyncio.create_task(asyncio.sleep(0))
        named = asyncio.create_task(asyncio.sleep(0), name="download report")
        default = anonymous.get_name()
        anonymous.set_name("nap")
        text = repr(named)
        await asyncio.gather(anonymous, named)
        return default, anonymous.get_name(), named.get_name(), text

    default, renamed, named, text = asyncio.run(main())
    assert re.fullmatch(r"Task-\d+", default)
    assert renamed == "nap" and named == "download report"
    assert text.startswith("<Task pending name='download report' coro=<sleep() running at ")


def test_all_tasks_holds_only_unfinished_tasks_and_current_task_is_me():
    async def worker(delay):
        me = asyncio.current_task()
        await asyncio.sleep(delay)
        return me.get_name()

    async def main():
        workers = [asyncio.create_task(worker(d), name=f"worker-{i}")
                   for i, d in enumerate([0.03, 0.12, 0.20], 1)]
        await asyncio.sleep(0.06)
        mid = sorted(t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("worker-"))
        me_in = asyncio.current_task() in asyncio.all_tasks()
        names = await asyncio.gather(*workers)
        after = [t for t in asyncio.all_tasks() if t.get_name().startswith("worker-")]
        return mid, me_in, names, after

    mid, me_in, names, after = asyncio.run(main())
    assert mid == ["worker-2", "worker-3"]
    assert me_in
    assert names == ["worker-1", "worker-2", "worker-3"]
    assert after == []


async def _transfer(first, second):
    async with first:
        await asyncio.sleep(0.02)
        async with second:
            return "moved"


def test_deadlock_is_found_by_wait_get_stack_and_the_tracer():
    async def main():
        lock_a, lock_b = asyncio.Lock(), asyncio.Lock()
        async with trace() as tl:
            ab = asyncio.create_task(_transfer(lock_a, lock_b), name="A->B")
            ba = asyncio.create_task(_transfer(lock_b, lock_a), name="B->A")
            done, pending = await asyncio.wait({ab, ba}, timeout=0.2)
        lines = {t.get_name(): t.get_stack()[-1].f_lineno - _transfer.__code__.co_firstlineno + 1
                 for t in pending}
        for task in pending:
            task.cancel()
        results = await asyncio.gather(*pending, return_exceptions=True)
        return tl, done, pending, lines, results, lock_a.locked() or lock_b.locked()

    tl, done, pending, lines, results, locked = asyncio.run(main())
    assert done == set() and sorted(t.get_name() for t in pending) == ["A->B", "B->A"]
    for name in ("A->B", "B->A"):
        rec = tl.by_name(name)
        assert rec.outcome == "pending"
        assert rec.waiting[-1][2] == "Lock"
    assert lines == {"A->B": 4, "B->A": 4}            # `async with second:`
    assert [type(r).__name__ for r in results] == ["CancelledError", "CancelledError"]
    assert not locked


def test_one_lock_order_does_not_deadlock():
    async def main():
        lock_a, lock_b = asyncio.Lock(), asyncio.Lock()
        async with trace() as tl:
            ab = asyncio.create_task(_transfer(lock_a, lock_b), name="A->B")
            ba = asyncio.create_task(_transfer(lock_a, lock_b), name="B->A")
            done, pending = await asyncio.wait({ab, ba}, timeout=1.0)
        return tl, done, pending

    tl, done, pending = asyncio.run(main())
    assert len(done) == 2 and not pending
    assert tl.order("finished") == ["A->B", "B->A"]
    assert [w for _, _, w in tl.by_name("B->A").waiting if w != "start"][0] == "Lock"


def _run_script(source, *options):
    done = subprocess.run([sys.executable, *options, "-c", textwrap.dedent(source)],
                          capture_output=True, text=True, timeout=30)
    return done.stdout + done.stderr


DESTROYED = """
    import asyncio, gc

    async def wait_for_ever(future):
        await future

    async def main():
        loop = asyncio.get_running_loop()
        asyncio.create_task(wait_for_ever(loop.create_future()), name="orphan")
        await asyncio.sleep(0.01)
        gc.collect()

    asyncio.run(main())
"""


def test_task_destroyed_but_pending_message():
    out = _run_script(DESTROYED)
    assert out.startswith("Task was destroyed but it is pending!\ntask: <Task pending name='orphan' "
                          "coro=<wait_for_ever() ")
    assert "wait_for=<Future pending cb=[Task.task_wakeup()]>" in out


def test_debug_mode_says_where_the_task_was_created():
    out = _run_script(DESTROYED, "-X", "dev")
    assert out.startswith("Task was destroyed but it is pending!\n"
                          "source_traceback: Object created at (most recent call last):")
    assert 'File "<string>", line 9, in main\n' in out, out     # the create_task line


def test_task_exception_never_retrieved_message():
    out = _run_script("""
        import asyncio, gc

        async def fail():
            raise ValueError("nobody looked at me")

        async def main():
            task = asyncio.create_task(fail(), name="fails")
            await asyncio.sleep(0.01)
            del task
            gc.collect()
            print("main() finished normally")

        asyncio.run(main())
    """)
    assert "main() finished normally" in out
    assert ("Task exception was never retrieved\nfuture: <Task finished name='fails' coro=<fail() done, "
            "defined at") in out
    assert "exception=ValueError('nobody looked at me')>" in out
    assert out.rstrip().endswith("ValueError: nobody looked at me")


def test_all_tasks_and_current_task_need_a_running_loop():
    said = []

    def outside():
        for call in (asyncio.all_tasks, asyncio.current_task):
            try:
                call()
            except RuntimeError as e:
                said.append(f"{call.__name__}(): {type(e).__name__}: {e}")

    t = threading.Thread(target=outside)
    t.start()
    t.join(10)
    assert said == ["all_tasks(): RuntimeError: no running event loop",
                    "current_task(): RuntimeError: no running event loop"]


def test_call_graph_exists_only_from_3_14():
    assert hasattr(asyncio, "capture_call_graph") == (sys.version_info >= (3, 14))
    assert hasattr(asyncio, "format_call_graph") == (sys.version_info >= (3, 14))


def test_shielded_timeout_leaves_the_inspected_task_alone():
    async def main():
        stuck = asyncio.create_task(asyncio.Event().wait(), name="waits for ever")
        try:
            async with asyncio.timeout(0.05):
                await asyncio.shield(stuck)
        except TimeoutError as e:
            kind = type(e).__name__
        alive = not stuck.done()
        stuck.cancel()
        return kind, alive

    assert asyncio.run(main()) == ("TimeoutError", True)


def test_a_timeout_around_await_task_cancels_the_task():
    async def main():
        stuck = asyncio.create_task(asyncio.Event().wait(), name="waits for ever")
        try:
            async with asyncio.timeout(0.05):
                await stuck
        except TimeoutError as e:
            kind = type(e).__name__
        return kind, stuck.cancelled()

    assert asyncio.run(main()) == ("TimeoutError", True)


# ---------------------------------------------------------------- (b) what the lesson printed

@pytest.fixture(scope="module")
def run():
    return execute(LESSON)


def test_lesson_evidence(run):
    text = run.text
    assert run.images() >= 2
    for line in [
        "with a name:    download report",
        "<Task pending name='download report' coro=<fetch() running at",
        "renamed:        nap",
        "default names look like Task-<number>: True",
        "[None, '<report>']",
        "still in all_tasks() after 60 ms: ['worker-2', 'worker-3']",
        "the cell itself runs in a task: True",
        "each worker's current_task() was itself: ['worker-1', 'worker-2', 'worker-3']",
        "after they finished: []",
        "done: []  pending: ['A->B', 'B->A']",
        "A->B: outcome 'pending', waiting for 'Lock'",
        "B->A: outcome 'pending', waiting for 'Lock'",
        "A->B is suspended in transfer(), line 4 of it",
        "B->A is suspended in transfer(), line 4 of it",
        "['CancelledError', 'CancelledError']",
        "locks free again: True",
        "done: 2  pending: 0  finished in order: ['A->B', 'B->A (now takes A first)']",
        "B->A first waited for: Lock",
        "all_tasks(): RuntimeError: no running event loop",
        "current_task(): RuntimeError: no running event loop",
        "TimeoutError after 50 ms",
        "the task we only wanted to look at was cancelled: True",
        "the task is still there, not cancelled: True",
    ]:
        assert line in text, line


def test_lesson_print_stack(run):
    text = run.text_of("ab.print_stack(file=sys.stdout)")
    assert re.search(r"Stack for <Task pending name='A->B' coro=<transfer\(\) running at .*> "
                     r"\(most recent call last\):\n  File .*, line \d+, in transfer\n"
                     r"    async with second:", text), text


def test_lesson_playground(run):
    text = run.text_of('pg.set(order=order, tasks=4, hold_ms=20)')
    assert ("ring (deadlock)  -> finished: 0; stuck and cancelled after 300 ms: "
            "transfer 0, transfer 1, transfer 2, transfer 3") in text
    assert "lowest first     -> finished: 4; stuck and cancelled after 300 ms: none" in text


def test_lesson_messages_from_subprocesses(run):
    destroyed = run.text_of('print(run_script("destroyed.py", DESTROYED))')
    assert destroyed.startswith("Task was destroyed but it is pending!\ntask: <Task pending name='orphan'")
    never = run.text_of('print(run_script("never_retrieved.py", NEVER_RETRIEVED))')
    assert "Task exception was never retrieved\nfuture: <Task finished name='fails'" in never
    assert "exception=ValueError('nobody looked at me')>" in never
    debug = run.text_of('DESTROYED, "-X", "dev"')
    assert "source_traceback: Object created at (most recent call last):" in debug
    assert re.search(r"destroyed.py\", line 9, in main\n\s+asyncio.create_task", debug), debug


def test_lesson_call_graph_cell(run):
    text = run.text_of('if hasattr(asyncio, "capture_call_graph"):')
    if sys.version_info >= (3, 14):
        assert "inner" in text and "outer" in text
    else:
        assert "asyncio.capture_call_graph() is not available (it is new in 3.14)" in text


def test_lesson_links(run):
    text = (ROOT / LESSON).read_text(encoding="utf-8")
    for target in ("07-blocking-the-loop.ipynb", "09-patterns.ipynb",
                   "../exercises/08-debugging-and-introspection.ipynb"):
        assert target in text


# ---------------------------------------------------------------- (c) the exercise's check




def test_solution_passes():
    result = check(function_from("solutions/08-debugging-and-introspection.ipynb", "find_stuck"))
    assert result.passed, result.message
    assert result.seconds < 2.0


async def _includes_itself():
    return {t.get_name(): f"{t.get_stack()[-1].f_code.co_name}:{t.get_stack()[-1].f_lineno}"
            for t in asyncio.all_tasks()}


async def _first_line_of_the_function():
    me = asyncio.current_task()
    return {t.get_name(): f"{t.get_coro().__name__}:{t.get_coro().cr_code.co_firstlineno}"
            for t in asyncio.all_tasks() if t is not me}


async def _returns_a_list():
    me = asyncio.current_task()
    return [t.get_name() for t in asyncio.all_tasks() if t is not me]


async def _names_only():
    me = asyncio.current_task()
    return {t.get_name(): t.get_coro().__name__ for t in asyncio.all_tasks() if t is not me}


@pytest.mark.parametrize("wrong, words", [
    (_includes_itself, "which is running, not stuck"),
    (_first_line_of_the_function, "expected '_waits_on_event:"),
    (_returns_a_list, "expected a dict {task name: where}"),
    (_names_only, "it said '_waits_on_event'; expected '_waits_on_event:"),
])
def test_wrong_answers_fail_with_a_sentence(wrong, words):
    wrong.__name__ = "find_stuck"
    result = check(wrong)
    assert result.status == "failed", result.message
    assert words in result.message, result.message
    assert "Traceback" not in result.message
