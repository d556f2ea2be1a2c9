"""Lesson 07 (blocking the loop): every claim the lesson makes, and the checks of its exercise.

(a) the claims reproduced directly with asyncio.run(), independent of the notebook;
(b) what the lesson printed when executed in a fresh kernel;
(c) the check of run_blocking_all: the solution passes, and wrong answers fail with a sentence
    that names the problem.  That no answer (hanging, blocking, raising) can stall it is tested
    for all exercises at once in test_checks_robust.py.
"""

import asyncio
import concurrent.futures
import gc
import logging
import math
import multiprocessing
import re
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import pytest

from nbrun import ROOT, execute, function_from

from asynclab import trace
from asynclab.checks import check

LESSON = "notebooks/07-blocking-the-loop.ipynb"
BLOCK = 0.15


# ---------------------------------------------------------------- (a) the claims, directly

async def _heartbeat(ticks):
    while True:
        ticks.append(time.perf_counter())
        await asyncio.sleep(0.01)


async def _run_jobs(job, names="ABC"):
    ticks = []
    beat = asyncio.create_task(_heartbeat(ticks), name="heartbeat")
    await asyncio.sleep(0.03)
    start = time.perf_counter()
    await asyncio.gather(*(asyncio.create_task(job(n), name=n) for n in names))
    elapsed = time.perf_counter() - start
    await asyncio.sleep(0.03)
    beat.cancel()
    return elapsed, max(b - a for a, b in zip(ticks, ticks[1:]))


async def _rude(name):
    time.sleep(BLOCK)
    return name


async def _polite(name):
    await asyncio.sleep(BLOCK)
    return name


async def _in_thread(name):
    await asyncio.to_thread(time.sleep, BLOCK)
    return name


def test_time_sleep_stalls_every_task():
    async def main():
        async with trace() as tl:
            elapsed, gap = await _run_jobs(_rude)
        return tl, elapsed, gap

    tl, elapsed, gap = asyncio.run(main())
    assert elapsed >= 3 * BLOCK                      # one after another
    assert gap >= BLOCK                              # the heartbeat stood still
    assert [len(tl.by_name(n).running) for n in "ABC"] == [1, 1, 1]
    a0, a1 = tl.by_name("A").running[0]
    assert a1 - a0 >= BLOCK
    assert tl.by_name("B").started >= a1             # B's first turn came after A's step
    assert tl.by_name("B").waiting[0][2] == "start"
    assert tl.order("finished")[:3] == ["A", "B", "C"]


def test_asyncio_sleep_and_to_thread_keep_the_loop_free():
    async def main(job):
        async with trace() as tl:
            elapsed, gap = await _run_jobs(job)
        return tl, elapsed, gap

    for job in (_polite, _in_thread):
        tl, elapsed, gap = asyncio.run(main(job))
        assert elapsed < 2 * BLOCK, (job.__name__, elapsed)
        assert gap < BLOCK, (job.__name__, gap)
    # A task in to_thread runs two short steps on the loop: start the thread, collect the result.
    assert len(tl.by_name("A").running) == 2


def test_run_in_executor_work_runs_in_a_few_short_steps():
    async def crunch(name):
        return await asyncio.get_running_loop().run_in_executor(None, sum, range(10_000))

    async def main():
        async with trace() as tl:
            await _run_jobs(crunch, names="XY")
        return tl

    tl = asyncio.run(main())
    assert len(tl.by_name("X").running) == 2


def test_process_pool_with_an_importable_function_and_a_timeout():
    async def main():
        loop = asyncio.get_running_loop()
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=2, mp_context=multiprocessing.get_context("spawn"))
        try:
            async with asyncio.timeout(60):
                return await asyncio.gather(*(loop.run_in_executor(pool, math.factorial, n)
                                              for n in (5, 6)))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    assert asyncio.run(main()) == [120, 720]


def test_process_pool_function_from_main_breaks_the_pool():
    # `python -c`: the function lives in __main__, which a spawned worker does not have.
    script = textwrap.dedent("""
        import asyncio, concurrent.futures, multiprocessing
        def square(x):
            return x * x
        async def main():
            pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            try:
                async with asyncio.timeout(30):
                    await asyncio.get_running_loop().run_in_executor(pool, square, 3)
            except Exception as e:
                print(f"{type(e).__name__}: {e}")
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
        asyncio.run(main())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert ("BrokenProcessPool: A process in the process pool was terminated abruptly "
            "while the future was running or pending.") in done.stdout
    assert "AttributeError: Can't get attribute 'square' on <module '__main__'" in done.stderr


def _debug_messages(main, slow=0.05):
    said = []

    class Keep(logging.Handler):
        def emit(self, record):
            said.append(record.getMessage())

    async def watched():
        asyncio.get_running_loop().slow_callback_duration = slow
        await main()

    keep, logger = Keep(), logging.getLogger("asyncio")
    logger.addHandler(keep)
    try:
        worker = threading.Thread(target=asyncio.run, args=(watched(),), kwargs={"debug": True})
        worker.start()
        worker.join(timeout=10)
    finally:
        logger.removeHandler(keep)
    return said


def test_debug_mode_names_the_task_that_blocked():
    async def two_jobs():
        await asyncio.gather(asyncio.create_task(_rude("A"), name="A"),
                             asyncio.create_task(_polite("B"), name="B"))

    said = _debug_messages(two_jobs)
    slow = [m for m in said if re.match(r"Executing <Task .*name='A'.* took \d+\.\d{3} seconds$", m, re.S)]
    assert slow, said
    assert not any("name='B'" in m for m in said), said
    assert asyncio.get_event_loop_policy() is not None  # nothing about the caller's state changed


def test_default_slow_callback_duration_is_a_tenth_of_a_second():
    async def main():
        return asyncio.get_running_loop().slow_callback_duration
    assert asyncio.run(main()) == 0.1


async def _download(name):
    await asyncio.sleep(0.01)
    return f"<{name}>"


def test_run_in_executor_with_a_coroutine_function_returns_a_coroutine():
    async def main():
        got = await asyncio.get_running_loop().run_in_executor(None, _download, "page")
        also = await asyncio.to_thread(_download, "page")
        await asyncio.sleep(0.05)
        return got, also

    got, also = asyncio.run(main())
    assert type(got).__name__ == "coroutine" and type(also).__name__ == "coroutine"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del got, also
        gc.collect()
    messages = [f"{w.category.__name__}: {w.message}" for w in caught]
    assert "RuntimeWarning: coroutine '_download' was never awaited" in messages


def test_run_in_executor_in_debug_mode_refuses_a_coroutine_function():
    out = {}

    def worker():
        async def main():
            try:
                await asyncio.get_running_loop().run_in_executor(None, _download, "page")
            except TypeError as e:
                out["error"] = f"{type(e).__name__}: {e}"
        asyncio.run(main(), debug=True)

    t = threading.Thread(target=worker)
    t.start()
    t.join(10)
    assert out["error"] == "TypeError: coroutines cannot be used with run_in_executor()"


def test_run_in_executor_with_a_coroutine_object():
    async def main():
        coro = _download("page")
        try:
            await asyncio.get_running_loop().run_in_executor(None, coro)
        except TypeError as e:
            return f"{type(e).__name__}: {e}"
        finally:
            coro.close()

    assert asyncio.run(main()) == "TypeError: 'coroutine' object is not callable"


# ---------------------------------------------------------------- (b) what the lesson printed

@pytest.fixture(scope="module")
def run():
    return execute(LESSON)


def test_lesson_evidence(run):
    text = run.text
    assert run.images() >= 6
    for line in [
        "the jobs waited at the same time: True",
        "the heartbeat kept ticking (no gap as long as one job): True",
        "the jobs ran one after another: True",
        "the heartbeat stopped while they ran: True",
        "each job ran as ONE unbroken step: [1, 1, 1]",
        "A's step lasted at least 150 ms: True",
        "B waited for its first turn until A's step ended: True",
        "primes below 60000: 6057",
        "the heartbeat stopped for at least X's whole step: True",
        "each job ran as ONE unbroken step: [1, 1]",
        "A's task ran 2 short steps on the loop (start the thread, collect its result): 2",
        "results: ['result', 'result']",
        "reported A: True",
        "reported B: False",
    ]:
        assert line in text, line
    assert "the heartbeat kept ticking (no gap as long as one job): False" not in text
    assert text.count("X's task ran 2 short steps on the loop (start, collect the result): 2") == 2


def test_lesson_debug_message_is_real(run):
    text = run.text_of("said = run_in_debug_mode(two_jobs)")
    assert re.search(r"Executing <Task finished name='A' coro=<rude\(\) done, defined at .*> "
                     r"took \d\.\d{3} seconds", text), text


def test_lesson_playground(run):
    text = run.text_of('pg.set(mode="time.sleep", tasks=4, block_ms=40)')
    assert "time.sleep: most tasks in progress at once (jobs + heartbeat): 2" in text
    assert "to_thread:  most tasks in progress at once (jobs + heartbeat): 5" in text


def test_lesson_common_mistakes(run):
    first = run.text_of('got = await loop.run_in_executor(None, download, "page")')
    assert "run_in_executor returned: coroutine <coroutine object download at" in first
    assert "RuntimeWarning: coroutine 'download' was never awaited" in first
    assert run.text_of("def debug_mode_run_in_executor").strip() == \
        "TypeError: coroutines cannot be used with run_in_executor()"
    assert run.text_of("await loop.run_in_executor(None, coro)").strip() == \
        "TypeError: 'coroutine' object is not callable"
    fixed = run.text_of('print("awaited directly:"')
    assert "awaited directly: <page>" in fixed and "a blocking function in a thread: 25" in fixed
    broken = run.text_of("run_in_executor(pool, square, 3)")
    assert broken.startswith("BrokenProcessPool: A process in the process pool was terminated abruptly "
                             "while the future was running or pending.\n"
                             "the worker process died with: AttributeError: Can't get attribute 'square' on "
                             "<module '__main__' "), broken      # (built-in) on 3.11, a class repr on 3.13
    assert broken.count("\n") == 2, broken


def test_lesson_links(run):
    text = (ROOT / LESSON).read_text(encoding="utf-8")
    for target in ("06-waiting-and-racing.ipynb", "08-debugging-and-introspection.ipynb",
                   "../exercises/07-blocking-the-loop.ipynb"):
        assert target in text


# ---------------------------------------------------------------- (c) the exercise's check




def test_solution_passes():
    result = check(function_from("solutions/07-blocking-the-loop.ipynb", "run_blocking_all"))
    assert result.passed, result.message
    assert result.seconds < 2.5, result.seconds


async def _blocks_the_loop(fns, limit):
    return [fn() for fn in fns]


async def _ignores_the_limit(fns, limit):
    return await asyncio.gather(*(asyncio.to_thread(fn) for fn in fns))


async def _completion_order(fns, limit):
    gate = asyncio.Semaphore(limit)

    async def one(fn):
        async with gate:
            return await asyncio.to_thread(fn)
    return [await f for f in asyncio.as_completed([one(fn) for fn in fns])]


async def _one_thread_at_a_time(fns, limit):
    return [await asyncio.to_thread(fn) for fn in fns]


async def _waits_in_a_blocking_way(fns, limit):
    with concurrent.futures.ThreadPoolExecutor(limit) as pool:
        futures = [pool.submit(fn) for fn in fns]
        return [f.result() for f in futures]          # .result() blocks the loop


async def _returns_a_tuple(fns, limit):
    gate = asyncio.Semaphore(limit)

    async def one(fn):
        async with gate:
            return await asyncio.to_thread(fn)
    return tuple(await asyncio.gather(*(one(fn) for fn in fns)))


@pytest.mark.parametrize("wrong, words", [
    (_blocks_the_loop, "ran on the event loop's own thread"),
    (_ignores_the_limit, "6 functions ran at once; the limit was 2"),
    (_completion_order, "not in the order they finished"),
    (_one_thread_at_a_time, "at most 1 function(s) ran at once; with limit=2"),
    (_waits_in_a_blocking_way, "the event loop stood still for"),
    (_returns_a_tuple, "expected a list of the results"),
])
def test_wrong_answers_fail_with_a_sentence(wrong, words):
    wrong.__name__ = "run_blocking_all"
    result = check(wrong)
    assert result.status == "failed", result.message
    assert words in result.message, result.message
    assert "Traceback" not in result.message
