"""Lesson 07 (blocking the loop): every claim the lesson makes, and the checks of its exercise.

(a) the claims reproduced directly with asyncio.run(), independent of the notebook;
(b) what the lesson printed when executed in a fresh kernel;
(c) the check of run_blocking_all: the solution passes, and wrong answers fail with a sentence
    that names the problem.  That no answer (hanging, blocking, raising) can stall it is tested
    for all exercises at once in test_checks_robust.py.
"""

import asyncio
import concurrent.futures
import contextvars
import gc
import logging
import math
import multiprocessing
import os
import re
import subprocess
import sys
import sysconfig
import textwrap
import threading
import time
import warnings

import pytest

from nbrun import ROOT, execute, execute_twice, function_from

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


def _count_primes_timed(limit):
    started = time.thread_time()
    count = sum(1 for n in range(2, limit) if all(n % d for d in range(2, int(n ** 0.5) + 1)))
    return count, time.thread_time() - started


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
    b = tl.by_name("B")
    assert b.ready[0] == (b.created, b.started) and not b.waiting    # ready all along, never waiting
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
    # Work that takes a while (as in the lesson).  A function so quick that it is done before
    # run_in_executor has chained its future gives an already-done future on 3.14+, and the task
    # then runs in one step (3.14 sets the result at once when called on the loop's thread).
    async def crunch(name):
        return await asyncio.get_running_loop().run_in_executor(None, _count_primes_timed, 20_000)

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


# What a spawned worker says when the function lives in __main__ (the wording changed in 3.14).
if sys.version_info >= (3, 14):
    WORKER_SAYS = "AttributeError: module '__main__' has no attribute 'square'"
elif sys.version_info >= (3, 12):
    WORKER_SAYS = ("AttributeError: Can't get attribute 'square' on "
                   "<module '__main__' (<class '_frozen_importlib.BuiltinImporter'>)>")
else:
    WORKER_SAYS = "AttributeError: Can't get attribute 'square' on <module '__main__' (built-in)>"


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
    assert [line for line in done.stderr.splitlines() if line.startswith("AttributeError")] == [WORKER_SAYS], \
        done.stderr


def _default_pool_size():
    if sys.version_info >= (3, 13):
        return min(32, (os.process_cpu_count() or 1) + 4)
    return min(32, (os.cpu_count() or 1) + 4)


def test_default_thread_pool_size():
    # What ThreadPoolExecutor() chooses, and what the loop's default pool (to_thread) really runs at once.
    assert concurrent.futures.ThreadPoolExecutor()._max_workers == _default_pool_size()
    assert hasattr(os, "process_cpu_count") == (sys.version_info >= (3, 13))
    holding, release = [], threading.Event()

    def hold():
        holding.append(1)
        release.wait(10)

    async def main():
        calls = [asyncio.create_task(asyncio.to_thread(hold)) for _ in range(40)]
        try:
            for _ in range(100):
                await asyncio.sleep(0.05)
                if len(holding) >= _default_pool_size():
                    break
            await asyncio.sleep(0.1)
            return len(holding)
        finally:
            release.set()
            await asyncio.gather(*calls)

    assert asyncio.run(main()) == _default_pool_size()


def test_contextvars_reach_to_thread_but_not_run_in_executor_or_a_thread():
    request_id = contextvars.ContextVar("request_id", default="(not set)")

    async def main():
        request_id.set("req-42")
        loop = asyncio.get_running_loop()
        seen = [await asyncio.to_thread(request_id.get), await loop.run_in_executor(None, request_id.get)]
        box = []
        t = threading.Thread(target=lambda: box.append(request_id.get()))
        t.start()
        t.join(10)
        context = contextvars.copy_context()
        fixed = await loop.run_in_executor(None, context.run, request_id.get)
        return seen + box, fixed

    inherits = bool(getattr(sys.flags, "thread_inherit_context", False))   # 3.14+ free-threaded: True
    assert asyncio.run(main()) == (["req-42", "(not set)", "req-42" if inherits else "(not set)"], "req-42")


def _gil_enabled():
    return sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True


def test_this_build_has_the_gil():
    assert hasattr(sys, "_is_gil_enabled") == (sys.version_info >= (3, 13))
    assert _gil_enabled() == (not sysconfig.get_config_var("Py_GIL_DISABLED"))


@pytest.mark.skipif(not _gil_enabled(), reason="without the GIL two threads can compute at once")
def test_two_computing_threads_keep_at_most_one_core_busy():
    # CPU seconds of both threads / clock seconds: under the GIL never much above 1, whatever the load.
    async def main():
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        done = await asyncio.gather(*(loop.run_in_executor(None, _count_primes_timed, 20_000) for _ in range(2)))
        return sum(cpu for _, cpu in done) / (time.perf_counter() - start)

    assert asyncio.run(main()) < 1.3


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

    handlers = list(logging.getLogger("asyncio").handlers)
    said = _debug_messages(two_jobs)
    slow = [m for m in said if re.match(r"Executing <Task .*name='A'.* took \d+\.\d{3} seconds$", m, re.S)]
    assert slow, said
    assert not any("name='B'" in m for m in said), said
    assert logging.getLogger("asyncio").handlers == handlers   # the logger is left as it was


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
                             f"the worker process died with: {WORKER_SAYS}\n"
                             "(3.14+: module '__main__' has no attribute 'square'; 3.12-3.13: "), broken
    assert broken.count("\n") == 3, broken


def test_lesson_threads_and_processes(run):
    threads = run.text_of("async def crunch_in_thread(name):")
    assert re.search(r"the jobs used \d+ ms of CPU in \d+ ms: \d\.\d cores busy on average\n", threads), threads
    # Under the GIL the two threads never keep more than about one core busy, however loaded the machine.
    assert f"at most one core computed at a time: {_gil_enabled()}\n" in threads, threads
    gil = run.text_of("free_threaded_build = ")
    assert gil.startswith(f"this interpreter: Python 3.{sys.version_info.minor}, standard build, GIL enabled\n"
                          "so threads here take turns computing Python code: True\n"), gil
    processes = run.text_of("async def crunch_in_process(name):")
    assert re.search(r"the jobs used \d+ ms of CPU in \d+ ms: \d\.\d cores busy on average\n", processes), processes
    # What the processes achieved depends on free cores: the lesson says which case it saw.
    assert re.search(r"what this machine did: (the two processes computed at the same time, on two cores|"
                     r"the processes got about one core between them \(\d+ CPU\(s\) for this process"
                     r"(, load average \d+\.\d)?\): with fewer than two idle cores they take turns, like threads)\n",
                     processes), processes


def test_lesson_default_pool_size(run):
    text = run.text_of("def default_pool_size():")
    size = _default_pool_size()
    formula = "os.process_cpu_count()" if sys.version_info >= (3, 13) else "os.cpu_count()"
    assert f"blocking calls holding a thread at once: {size} of 40 (the others waited in the queue)\n" in text, text
    assert f"Python 3.{sys.version_info.minor}: min(32, {formula} + 4) = {size}\n" in text, text
    assert "the default pool has exactly that many threads: True\n" in text, text
    assert text.endswith(f"You made no prediction. What happened: {size}.\n"), text


def test_lesson_contextvars(run):
    text = run.text_of('request_id = contextvars.ContextVar("request_id", default="(not set)")')
    assert text.startswith("to_thread        sees request_id = req-42\n"
                           "run_in_executor  sees request_id = (not set)\n"
                           "Thread           sees request_id = (not set)\n"
                           "a new Thread starts with a copy of its creator's context on this Python: False\n"), text
    assert text.endswith("You made no prediction. What happened: to_thread.\n"), text
    assert run.text_of("async def handle_request():") == (
        "run_in_executor(None, context.run, fn) sees: req-43\n"
        "Thread(target=context.run, ...) sees:        req-43\n")


def test_lesson_predictions_are_answered(run):
    text = run.text
    for line in ["You made no prediction. What happened: no.",        # the heartbeat, CPU work on the loop
                 "You made no prediction. What happened: 2.",         # steps of a to_thread task
                 "You made no prediction. What happened: A.",         # debug mode reports A only
                 "You made no prediction. What happened: 2 5."]:      # tasks in progress, playground
        assert line in text, line
    assert len(re.findall(r"You made no prediction\. What happened: \d+ ms\.", text)) == 2, text


def test_every_cell_can_run_twice():
    """The second run of the pool-size cell says the same (test_rerun.py checks every cell raises nothing)."""
    pool_cells = [second for _, source, _, second in execute_twice(LESSON).pairs() if "def default_pool_size" in source]
    assert pool_cells, "no cell defines default_pool_size"
    for outputs in pool_cells:
        out = "".join(o.text for o in outputs if o.output_type == "stream")
        assert "the default pool has exactly that many threads: True" in out, out


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


def test_the_replay_walk_answers_who_runs_after_the_stall(run):
    assert "An explorable timeline of 4 tasks" in run.text_of("tl_rude.explore(step=a_step)")
    lines = run.text_of("after_a = stall_steps").splitlines()
    assert [re.match(r"A's step \+ \d: (\S+) runs", line).group(1) for line in lines] == ["B", "C", "heartbeat"], lines
    assert "'C'" in lines[0].split("ready queue")[1], lines[0]
