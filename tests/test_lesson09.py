"""Lesson 09 (patterns): every claim the lesson makes, and the worker_pool check.

(a) the claims, reproduced directly with asyncio.run (independent of the notebook);
(b) what the executed lesson printed;
(c) the check: the solution passes, wrong answers fail with a message that names the problem,
    and the stub says "not solved".  Answers that misbehave (hang, block, raise anything, wrong
    kind or signature) are tested for all exercises at once in test_checks_robust.py.
"""

import asyncio
import sys
import time

import pytest

import asynclab
from asynclab.checks import check
from nbrun import ROOT, execute, function_from, scenario_from

LESSON = "notebooks/09-patterns.ipynb"
HAS_SHUTDOWN = sys.version_info >= (3, 13)


# ---------------------------------------------------------------- (a) the claims, directly

def test_waiting_consumers_are_served_first_come_first_served():
    """Section 1: item a -> consumer 1, b -> consumer 2 (consumer 1 lined up again behind it)."""
    async def main():
        queue, log = asyncio.Queue(), []

        async def consumer(name):
            while (item := await queue.get()) is not None:
                await asyncio.sleep(0.02)
                log.append(name)

        async with asynclab.trace() as tl:
            cs = [asyncio.create_task(consumer(f"consumer {i}"), name=f"consumer {i}") for i in (1, 2)]
            for item in "abcd":
                await asyncio.sleep(0.1)
                await queue.put(item)
            for _ in cs:
                await queue.put(None)
            await asyncio.gather(*cs)
        return log, {w for _, _, w in tl.by_name("consumer 1").waiting}

    log, waits = asyncio.run(main())
    assert log == ["consumer 1", "consumer 2", "consumer 1", "consumer 2"]
    assert "Queue.get" in waits


def test_worker_pool_join_then_cancel():
    """Section 2: 3 tasks do 9 jobs; after join() + cancel() + gather every worker is cancelled."""
    async def main():
        queue, done = asyncio.Queue(), []

        async def worker():
            while True:
                job = await queue.get()
                try:
                    await asyncio.sleep(0.06)
                    done.append(job)
                finally:
                    queue.task_done()

        for i in range(9):
            queue.put_nowait(i)
        t0 = time.perf_counter()
        async with asynclab.trace() as tl:
            ws = [asyncio.create_task(worker(), name=f"worker {i}") for i in (1, 2, 3)]
            await queue.join()
            for w in ws:
                w.cancel()
            ended = await asyncio.gather(*ws, return_exceptions=True)
        return done, tl, ws, ended, time.perf_counter() - t0

    done, tl, ws, ended, elapsed = asyncio.run(main())
    assert sorted(done) == list(range(9)) and len(tl.tasks) == 3
    assert all(w.cancelled() for w in ws)
    assert all(isinstance(e, asyncio.CancelledError) for e in ended)
    assert elapsed < 9 * 0.06 * 0.75
    assert all(r.outcome == "cancelled" for r in tl.tasks)


async def _backpressure(maxsize):
    queue, sizes = asyncio.Queue(maxsize=maxsize), []

    async def producer():
        for i in range(8):
            await asyncio.sleep(0)
            await queue.put(i)
            sizes.append(queue.qsize())
        await queue.put(None)

    async def consumer():
        while await queue.get() is not None:
            await asyncio.sleep(0.04)

    async with asynclab.trace() as tl:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(producer(), name="producer")
            tg.create_task(consumer(), name="consumer")
    return max(sizes), {w for _, _, w in tl.by_name("producer").waiting}


def test_unbounded_queue_piles_up_bounded_queue_makes_the_producer_wait():
    most, waits = asyncio.run(_backpressure(0))
    assert most == 7 and "Queue.put" not in waits
    most, waits = asyncio.run(_backpressure(2))
    assert most <= 2 and "Queue.put" in waits


def _playground_run(scenario, stalls=()):
    """The playground's scenario with 1 producer, 1 consumer, maxsize=1, item_ms=100 (the lesson's
    `pg.set`), while the loop is blocked `seconds` long at each `(at, seconds)` of `stalls`, as a
    busy machine or a garbage collection would; returns the producer's Queue.put waits and the
    scenario's own count of puts that found the queue full."""
    async def stall(at, seconds):
        await asyncio.sleep(at)
        time.sleep(seconds)

    async def main():
        async with asynclab.trace() as tl:
            stallers = [asyncio.create_task(stall(at, s)) for at, s in stalls]
            text = await scenario(producers=1, consumers=1, maxsize=1, item_ms=100)
            await asyncio.gather(*stallers)
        waits = [w for w in tl.by_name("producer 1").waiting if w[2] == "Queue.put"]
        return len(waits), int(text.split("found the queue full ")[1].split()[0])

    return asyncio.run(main())


def test_playground_backpressure_holds_when_the_loop_stalls():
    """The playground (section 6): with one slow consumer and maxsize=1 the producer waits on put()
    (twice on a quiet machine), and the lesson's assert still holds when the loop stalls 150 ms
    once or twice anywhere in the run (a stall that overlaps the consumer's 100 ms lets it catch
    up, so the count may drop to 1). Each wait the tracer drew is a put that found the queue full."""
    scenario = scenario_from(LESSON, "queue_scenario")
    assert _playground_run(scenario) == (2, 2)
    for at in (0, 40, 120):
        for stalls in ([(at / 1000, 0.15)], [(at / 1000, 0.15), (at / 1000 + 0.1, 0.15)]):
            waits, full = _playground_run(scenario, stalls)
            assert waits >= 1 and waits == full, (stalls, waits, full)


def test_hard_stop_cancels_workers_inside_their_jobs():
    """Section 4: stop after 50 ms of 100 ms jobs: nothing done, 3 interrupted, 3 left queued."""
    async def main():
        queue, done, interrupted = asyncio.Queue(), [], []

        async def worker():
            while True:
                job = await queue.get()
                try:
                    await asyncio.sleep(0.2)
                    done.append(job)
                except asyncio.CancelledError:
                    interrupted.append(job)
                    raise
                finally:
                    queue.task_done()

        for i in range(6):
            queue.put_nowait(i)
        ws = [asyncio.create_task(worker()) for _ in range(3)]
        await asyncio.sleep(0.05)
        for w in ws:
            w.cancel()
        await asyncio.gather(*ws, return_exceptions=True)
        return done, interrupted, queue.qsize(), ws

    done, interrupted, left, ws = asyncio.run(main())
    assert done == [] and interrupted == [0, 1, 2] and left == 3
    assert all(w.done() for w in ws)


def test_queue_shutdown_exists_only_from_313():
    assert hasattr(asyncio.Queue, "shutdown") == HAS_SHUTDOWN
    assert hasattr(asyncio, "QueueShutDown") == HAS_SHUTDOWN


@pytest.mark.skipif(not HAS_SHUTDOWN, reason="Queue.shutdown() is new in 3.13")
def test_queue_shutdown_drains_then_get_and_put_raise():
    async def main():
        queue, done = asyncio.Queue(), []

        async def worker():
            while True:
                try:
                    job = await queue.get()
                except asyncio.QueueShutDown:
                    return "saw QueueShutDown"
                await asyncio.sleep(0.02)
                done.append(job)
                queue.task_done()

        for i in range(4):
            queue.put_nowait(i)
        ws = [asyncio.create_task(worker()) for _ in range(2)]
        queue.shutdown()
        returned = await asyncio.gather(*ws)
        try:
            await queue.put("late")
        except asyncio.QueueShutDown as e:
            late = f"{type(e).__name__}: {e!r}"
        return returned, done, late

    returned, done, late = asyncio.run(main())
    assert returned == ["saw QueueShutDown"] * 2 and sorted(done) == [0, 1, 2, 3]
    assert late == "QueueShutDown: QueueShutDown()"


def test_forgotten_task_done_join_never_returns():
    async def main():
        queue = asyncio.Queue()
        for i in range(3):
            queue.put_nowait(i)

        async def forgetful():
            while True:
                await queue.get()
                await asyncio.sleep(0.01)

        w = asyncio.create_task(forgetful())
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await queue.join()
        w.cancel()
        await asyncio.gather(w, return_exceptions=True)
        return queue.qsize(), repr(queue)

    size, text = asyncio.run(main())
    assert size == 0 and "tasks=3" in text


def test_task_done_too_many_times_message():
    queue = asyncio.Queue()
    queue.put_nowait(1)
    queue.get_nowait()
    queue.task_done()
    with pytest.raises(ValueError) as info:
        queue.task_done()
    assert str(info.value) == "task_done() called too many times"


def test_worker_dying_on_an_error_leaves_join_waiting():
    async def main():
        queue = asyncio.Queue()
        for i in range(4):
            queue.put_nowait(i)

        async def fragile():
            while True:
                job = await queue.get()
                if job == 1:
                    raise ValueError(f"cannot handle job {job}")
                await asyncio.sleep(0.01)
                queue.task_done()

        w = asyncio.create_task(fragile())
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await queue.join()
        return w.done(), w.exception(), queue.qsize()

    done, err, size = asyncio.run(main())
    assert done and isinstance(err, ValueError) and str(err) == "cannot handle job 1" and size == 2


def test_idle_workers_stay_pending_after_join_until_cancelled():
    async def main():
        queue = asyncio.Queue()
        for i in range(3):
            queue.put_nowait(i)

        async def worker():
            while True:
                await queue.get()
                await asyncio.sleep(0.01)
                queue.task_done()

        ws = [asyncio.create_task(worker()) for _ in range(2)]
        await queue.join()
        pending = [w for w in ws if not w.done()]
        for w in ws:
            w.cancel()
        await asyncio.gather(*ws, return_exceptions=True)
        return len(pending), [w for w in ws if not w.done()]

    pending, after = asyncio.run(main())
    assert pending == 2 and after == []


def test_taskgroup_cancels_siblings_and_raises_a_group():
    async def send(seconds, fail):
        await asyncio.sleep(seconds)
        if fail:
            raise ConnectionError("mail server refused bob")

    async def main():
        async with asynclab.trace() as tl:
            try:
                async with asyncio.TaskGroup() as tg:
                    for name, s, f in [("ann", 0.3, False), ("bob", 0.02, True), ("cy", 0.3, False)]:
                        tg.create_task(send(s, f), name=f"mail {name}")
            except* ConnectionError as group:
                text = f"{type(group).__name__}: {group}"
        return text, {r.name: r.outcome for r in tl.tasks}

    text, outcomes = asyncio.run(main())
    assert text == "ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)"
    assert outcomes == {"mail ann": "cancelled", "mail bob": "error", "mail cy": "cancelled"}


# ---------------------------------------------------------------- (b) the lesson, executed

@pytest.fixture(scope="module")
def run():
    return execute(LESSON)


def test_lesson_links(run):
    text = (ROOT / LESSON).read_text(encoding="utf-8")
    for link in ("08-debugging-and-introspection.ipynb", "10-capstone-crawler.ipynb",
                 "../exercises/09-patterns.ipynb"):
        assert link in text


def test_lesson_printed_what_it_claims(run):
    assert run.text_of("async def producer(queue, items, gap)").startswith(
        "item a handled by consumer 1\nitem b handled by consumer 2\n"
        "item c handled by consumer 1\nitem d handled by consumer 2\n")
    pool = run.text_of("async def worker(queue, done)")
    assert "9 jobs done by 3 worker tasks" in pool
    assert "how the workers ended: ['CancelledError', 'CancelledError', 'CancelledError']" in pool
    bp = run.text_of("async def fast_producer")
    assert "no limit:  up to 7 items waiting in the queue; producer waited on Queue.put: False" in bp
    assert "maxsize=2: up to 2 items waiting in the queue; producer waited on Queue.put: True" in bp
    stop = run.text_of("async def careful_worker")
    assert "jobs done: []" in stop and "jobs never started: 3" in stop
    assert "worker tasks not finished: []" in stop
    shut = run.text_of('hasattr(asyncio.Queue, "shutdown")')
    if HAS_SHUTDOWN:
        assert "workers returned: ['saw QueueShutDown', 'saw QueueShutDown']" in shut
        assert "put() after shutdown: QueueShutDown: QueueShutDown()" in shut
    else:
        assert "has no shutdown() (it is new in 3.13)" in shut
    bg = run.text_of("jobs = BackgroundJobs()")
    assert "handler returned 'welcome!' with 3 jobs still running" in bg
    assert "errors recorded: ['ConnectionError: mail server refused bob']" in bg
    tg = run.text_of("except* ConnectionError as group")
    assert "ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)" in tg
    assert "'mail ann': 'cancelled', 'mail bob': 'error', 'mail cy': 'cancelled'" in tg
    assert "producer 1 waited on Queue.put" in run.text_of("pg.set(")
    # every Predict is answered: no guess was made, so the reveal says what happened
    for needle, happened in [("async def producer(queue, items, gap)", "1 2 1 2"),
                             ("async def worker(queue, done)", "3"), ("async def fast_producer", "7 2"),
                             ("async def careful_worker", "0"), ("jobs = BackgroundJobs()", "3"),
                             ("except* ConnectionError as group", "cancelled")]:
        assert f"You made no prediction. What happened: {happened}.\n" in run.text_of(needle), needle


def test_lesson_mistakes_print_real_errors(run):
    forgetful = run.text_of("async def forgetful_worker")
    assert forgetful.startswith("TimeoutError: \n") and "tasks=3" in forgetful
    assert run.text_of("queue.task_done()                        # a second time").strip() == \
        "ValueError: task_done() called too many times"
    assert "holds ValueError: cannot handle job 1" in run.text_of("async def fragile_worker")
    behind = run.text_of('name=f"left-behind {i}"')
    assert "after join(), still pending: ['left-behind 1', 'left-behind 2']" in behind
    assert "after cancel() + gather(): []" in behind


def test_lesson_draws_its_timelines(run):
    assert run.images() >= 7


# ---------------------------------------------------------------- (c) the check




def test_solution_passes():
    fn = function_from("solutions/09-patterns.ipynb", "worker_pool")
    result = check(fn)
    assert result.passed, result.message
    assert result.seconds < 2.5, result.seconds


def test_stub_is_not_solved():
    fn = function_from("exercises/09-patterns.ipynb", "worker_pool")
    result = check(fn)
    assert result.status == "not solved" and "not solved yet" in result.message


async def sequential(jobs, handler, workers):
    return [await handler(job) for job in jobs]


async def task_per_job(jobs, handler, workers):
    return list(await asyncio.gather(*(handler(job) for job in jobs)))


async def completion_order(jobs, handler, workers):
    queue, results = asyncio.Queue(), []
    for job in jobs:
        queue.put_nowait(job)

    async def worker():
        while not queue.empty():
            results.append(await handler(queue.get_nowait()))

    await asyncio.gather(*(worker() for _ in range(workers)))
    return results


async def leaks_idle_workers(jobs, handler, workers):
    queue, results = asyncio.Queue(), [None] * len(jobs)
    for item in enumerate(jobs):
        queue.put_nowait(item)

    async def worker():
        while True:
            i, job = await queue.get()
            try:
                results[i] = await handler(job)
            finally:
                queue.task_done()

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    await queue.join()                      # ... and the workers are never cancelled
    return results


async def taskgroup_wraps_errors(jobs, handler, workers):
    queue, results = asyncio.Queue(), [None] * len(jobs)
    for item in enumerate(jobs):
        queue.put_nowait(item)

    async def worker():
        while not queue.empty():
            i, job = queue.get_nowait()
            results[i] = await handler(job)

    async with asyncio.TaskGroup() as tg:
        for _ in range(workers):
            tg.create_task(worker())
    return results


async def cancels_without_awaiting(jobs, handler, workers):
    queue, results = asyncio.Queue(), [None] * len(jobs)
    for item in enumerate(jobs):
        queue.put_nowait(item)

    async def worker():
        while not queue.empty():
            i, job = queue.get_nowait()
            results[i] = await handler(job)

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    try:
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()                      # ... but never awaited
    return results


async def ignores_errors_keeps_going(jobs, handler, workers):
    queue, results = asyncio.Queue(), [None] * len(jobs)
    for item in enumerate(jobs):
        queue.put_nowait(item)
    errors = []

    async def worker():
        while not queue.empty():
            i, job = queue.get_nowait()
            try:
                results[i] = await handler(job)
            except Exception as e:
                errors.append(e)

    await asyncio.gather(*(worker() for _ in range(workers)))
    if errors:
        raise errors[0]
    return results


WRONG = [
    (sequential, "in the caller's own task"),
    (task_per_job, "8 handler call(s) ran at the same time"),
    (completion_order, "not in the order they finished"),
    (leaks_idle_workers, "still pending"),
    (taskgroup_wraps_errors, "not wrapped in a group"),
    (cancels_without_awaiting, "still pending"),
    (ignores_errors_keeps_going, "after job 3 had failed"),
]


@pytest.mark.parametrize("wrong, says", WRONG, ids=[w.__name__ for w, _ in WRONG])
def test_wrong_answers_fail_and_say_why(wrong, says):
    result = check(wrong, "worker_pool")
    assert result.status == "failed", result.message
    assert says in result.message, result.message
    assert "Traceback" not in result.message and 'File "' not in result.message
