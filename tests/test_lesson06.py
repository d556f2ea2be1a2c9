"""Lesson 06 (waiting, racing, timeouts): every claim the lesson makes, and its two checks.

(a) the claims, reproduced directly with asyncio.run (independent of the notebook);
(b) what the executed lesson printed;
(c) the checks: the solutions pass, wrong answers fail with a message that names the problem,
    and the stubs say "not solved".  Answers that misbehave (hang, block, raise anything, wrong
    kind or signature) are tested for all exercises at once in test_checks_robust.py.
"""

import asyncio
import re
import sys
import time

import pytest

import asynclab
from asynclab.checks import check
from asynclab.checks.core import CHECK_LIMIT
from nbrun import ROOT, execute, function_from

LESSON = "notebooks/06-waiting-and-racing.ipynb"
SOLUTION = "solutions/06-waiting-and-racing.ipynb"
EXERCISE = "exercises/06-waiting-and-racing.ipynb"


def names(tasks):
    return sorted(t.get_name() for t in tasks)


# ---------------------------------------------------------------- (a) the claims, directly

async def _wait(**how):
    tasks = [asyncio.create_task(asynclab.fetch("A", 0.03), name="A"),
             asyncio.create_task(asynclab.fetch("B", 0.10, fail=True), name="B"),
             asyncio.create_task(asynclab.fetch("C", 0.25), name="C")]
    done, pending = await asyncio.wait(tasks, **how)
    errors = names(t for t in done if t.exception())
    still_running = sorted(t.get_name() for t in pending if not t.done())
    for t in pending:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return names(done), names(pending), errors, still_running


@pytest.mark.parametrize("how, done, pending", [
    (dict(return_when=asyncio.FIRST_COMPLETED), ["A"], ["B", "C"]),
    (dict(return_when=asyncio.FIRST_EXCEPTION), ["A", "B"], ["C"]),
    (dict(return_when=asyncio.ALL_COMPLETED), ["A", "B", "C"], []),
    (dict(timeout=0.17), ["A", "B"], ["C"]),
], ids=["FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED", "timeout"])
def test_wait_returns_done_and_pending_raises_nothing_cancels_nothing(how, done, pending):
    got_done, got_pending, errors, still_running = asyncio.run(_wait(**how))
    assert (got_done, got_pending) == (done, pending)
    assert errors == (["B"] if "B" in done else [])
    assert still_running == pending          # wait() cancelled none of them


def test_wait_timeout_leaves_the_pending_task_to_finish():
    async def main():
        async with asynclab.trace() as tl:
            tasks = [asyncio.create_task(asynclab.fetch("A", 0.03), name="A"),
                     asyncio.create_task(asynclab.fetch("C", 0.20), name="C")]
            done, pending = await asyncio.wait(tasks, timeout=0.10)
            running = not tasks[1].done()
            result = await tasks[1]
        return names(done), names(pending), running, result, tl

    done, pending, running, result, tl = asyncio.run(main())
    assert (done, pending, running, result) == (["A"], ["C"], True, "<C>")
    assert {r.name: r.outcome for r in tl.tasks} == {"A": "result", "C": "result"}


def test_wait_refuses_bare_coroutines():
    async def main():
        coros = [asynclab.fetch("A", 0.01), asynclab.fetch("B", 0.02)]
        try:
            await asyncio.wait(coros)
        except TypeError as e:
            return f"{type(e).__name__}: {e}"
        finally:
            for c in coros:
                c.close()

    assert asyncio.run(main()) == "TypeError: Passing coroutines is forbidden, use tasks explicitly."


def test_wait_timeout_does_not_raise_timeout_error():
    async def main():
        slow = asyncio.create_task(asynclab.fetch("slow", 0.2))
        done, pending = await asyncio.wait([slow], timeout=0.03)     # no exception
        running = not slow.done()
        slow.cancel()
        await asyncio.gather(slow, return_exceptions=True)
        return len(done), len(pending), running, slow.cancelled()

    assert asyncio.run(main()) == (0, 1, True, True)


def test_as_completed_gives_finishing_order_and_raises_timeout_error_without_cancelling():
    async def main():
        got = []
        tasks = [asyncio.create_task(asynclab.fetch(n, d), name=n)
                 for n, d in [("slow", 0.35), ("fast", 0.03), ("medium", 0.09)]]
        try:
            for next_done in asyncio.as_completed(tasks, timeout=0.2):
                got.append(await next_done)
        except TimeoutError as e:
            err = e
        states = {t.get_name(): t.done() for t in tasks}
        tasks[0].cancel()
        return got, err, states

    got, err, states = asyncio.run(main())
    assert got == ["<fast>", "<medium>"]
    assert type(err) is TimeoutError and repr(err) == "TimeoutError()"
    assert states == {"slow": False, "fast": True, "medium": True}


def test_as_completed_plain_for_yields_coroutines_not_tasks():
    async def main():
        tasks = [asyncio.create_task(asynclab.fetch("A", 0.01), name="A")]
        for next_done in asyncio.as_completed(tasks):
            try:
                next_done.get_name()
            except AttributeError as e:
                message = f"{type(e).__name__}: {e}"
            result = await next_done
        return message, result

    assert asyncio.run(main()) == ("AttributeError: 'coroutine' object has no attribute 'get_name'", "<A>")


def test_async_for_over_as_completed_only_from_313_and_yields_the_tasks():
    async def main():
        tasks = [asyncio.create_task(asynclab.fetch(n, d), name=n)
                 for n, d in [("slow", 0.15), ("fast", 0.03), ("medium", 0.09)]]
        order = []
        async for task in asyncio.as_completed(tasks):
            assert any(task is t for t in tasks)
            order.append(task.get_name())
        return order

    if sys.version_info >= (3, 13):
        assert asyncio.run(main()) == ["fast", "medium", "slow"]
    else:
        with pytest.raises(TypeError):
            asyncio.run(main())


def test_race_with_wait_first_completed_and_cancelled_losers():
    async def main():
        async with asynclab.trace() as tl:
            mirrors = [asyncio.create_task(asynclab.fetch(f"mirror {n}", d), name=f"mirror {n}")
                       for n, d in [("A", 0.40), ("B", 0.03), ("C", 0.25)]]
            done, pending = await asyncio.wait(mirrors, return_when=asyncio.FIRST_COMPLETED)
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        return names(done), tl

    done, tl = asyncio.run(main())
    assert done == ["mirror B"]
    assert {r.name: r.outcome for r in tl.tasks} == \
        {"mirror A": "cancelled", "mirror B": "result", "mirror C": "cancelled"}


MIRRORS = [("mirror A", 0.40), ("mirror B", 0.03), ("mirror C", 0.25)]
NO_CANCEL = "'TaskGroup' object has no attribute 'cancel'"


async def _race_in_group(mirrors):
    answers = []
    async with asyncio.TaskGroup() as tg:
        async def ask(name, seconds):
            answers.append(await asynclab.fetch(name, seconds, result=f"file from {name[-1]}"))
            tg.cancel()
        for name, seconds in mirrors:
            tg.create_task(ask(name, seconds), name=name)
    return answers[0]


@pytest.mark.skipif(sys.version_info < (3, 15), reason="TaskGroup.cancel() is new in 3.15")
def test_taskgroup_cancel_stops_a_race_quietly_on_315():
    async def main():
        async with asynclab.trace() as tl:
            winner = await _race_in_group(MIRRORS)
        return winner, {r.name: r.outcome for r in tl.tasks}, asyncio.current_task().cancelling()

    winner, outcomes, cancelling = asyncio.run(main())
    assert winner == "file from B"
    # tg.cancel() cancels every task of the group, the one calling it included: B's answer was kept,
    # but its task ended cancelled (checked without the tracer too, below)
    assert outcomes == {"mirror A": "cancelled", "mirror B": "cancelled", "mirror C": "cancelled"}
    assert cancelling == 0          # the group took back the cancellation of its body: nothing leaks


@pytest.mark.skipif(sys.version_info < (3, 15), reason="TaskGroup.cancel() is new in 3.15")
def test_taskgroup_cancel_cancels_the_winner_too_untraced_on_315():
    async def main():
        tasks = []
        async with asyncio.TaskGroup() as tg:
            async def ask(name, seconds):
                await asyncio.sleep(seconds)
                tg.cancel()
            for name, seconds in MIRRORS:
                tasks.append(tg.create_task(ask(name, seconds), name=name))
        return {t.get_name(): t.cancelled() for t in tasks}

    assert asyncio.run(main()) == {"mirror A": True, "mirror B": True, "mirror C": True}


@pytest.mark.skipif(sys.version_info >= (3, 15), reason="3.15 has TaskGroup.cancel()")
def test_before_315_the_first_tg_cancel_fails_with_attributeerror():
    async def main():
        try:
            await _race_in_group(MIRRORS)
        except* AttributeError as eg:
            errors = eg.exceptions
        return [f"{type(e).__name__}: {e}" for e in errors]

    assert asyncio.run(main()) == [f"AttributeError: {NO_CANCEL}"]


def test_the_private_exception_race_works_on_every_version():
    class Won(Exception):
        pass

    async def race(mirrors):
        async def ask(name, seconds):
            raise Won(await asynclab.fetch(name, seconds, result=f"file from {name[-1]}"))
        try:
            async with asyncio.TaskGroup() as tg:
                for name, seconds in mirrors:
                    tg.create_task(ask(name, seconds), name=name)
        except* Won as eg:
            won = eg.exceptions
        return [w.args[0] for w in won]

    async def main():
        async with asynclab.trace() as tl:
            winners = await race(MIRRORS)
        return winners, {r.name: r.outcome for r in tl.tasks}

    winners, outcomes = asyncio.run(main())
    assert winners == ["file from B"]
    assert outcomes == {"mirror A": "cancelled", "mirror B": "error", "mirror C": "cancelled"}


async def _handle_as_they_finish(tasks):
    handled, pending = [], set(tasks)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        handled += sorted(t.result() for t in done)
    return handled


def test_a_wait_loop_that_passes_pending_back_handles_each_task_once_and_ends():
    async def main():
        tasks = [asyncio.create_task(asynclab.fetch(n, d)) for n, d in [("slow", 0.15), ("fast", 0.03), ("medium", 0.09)]]
        return await _handle_as_they_finish(tasks)

    assert asyncio.run(main()) == ["<fast>", "<medium>", "<slow>"]


def test_wait_on_an_empty_set_raises_valueerror_instead_of_hanging():
    async def main():
        messages = []
        for empty in (set(), []):
            try:
                await asyncio.wait(empty, return_when=asyncio.FIRST_COMPLETED)
            except ValueError as e:
                messages.append(str(e))
        return messages

    assert asyncio.run(main()) == ["Set of Tasks/Futures is empty."] * 2


def test_a_wait_loop_hangs_only_on_a_task_that_never_finishes_and_a_timeout_ends_it():
    async def no_reply():
        await asyncio.get_running_loop().create_future()

    async def main():
        tasks = [asyncio.create_task(asynclab.fetch("A", 0.02), name="A"),
                 asyncio.create_task(no_reply(), name="no reply")]
        try:
            async with asyncio.timeout(0.2):
                await _handle_as_they_finish(tasks)
            hung = False
        except TimeoutError:
            hung = True
        still = names(t for t in tasks if not t.done())
        # the fix: wait(timeout=...) returns with nothing done; the loop gives up on the rest
        done, pending = await asyncio.wait(tasks[1:], timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return hung, still, len(done), tasks[1].cancelled()

    assert asyncio.run(main()) == (True, ["no reply"], 0, True)


def test_a_wait_loop_that_passes_the_same_tasks_again_repeats_a_done_result():
    async def main():
        tasks = [asyncio.create_task(asynclab.fetch(n, d)) for n, d in [("A", 0.02), ("B", 0.5)]]
        handled = []
        for _ in range(5):
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            handled += sorted(t.result() for t in done)
        b_running = not tasks[1].done()
        tasks[1].cancel()
        return handled, b_running

    assert asyncio.run(main()) == (["<A>"] * 5, True)


def test_retry_demo_timeout_then_error_then_success():
    async def flaky(attempt):
        if attempt == 1:
            await asyncio.sleep(10)
        await asyncio.sleep(0.02)
        if attempt == 2:
            raise ConnectionError("connection reset")
        return "data"

    async def main():
        log = []
        async with asynclab.trace() as tl:
            pause = 0.03
            for attempt in (1, 2, 3):
                task = asyncio.create_task(flaky(attempt), name=f"attempt {attempt}")
                try:
                    log.append(await asyncio.wait_for(task, timeout=0.1))
                    break
                except (TimeoutError, ConnectionError) as e:
                    log.append(repr(e))
                    await asyncio.sleep(pause)
                    pause *= 2
        return log, tl

    log, tl = asyncio.run(main())
    assert log == ["TimeoutError()", "ConnectionError('connection reset')", "data"]
    assert {r.name: r.outcome for r in tl.tasks} == \
        {"attempt 1": "cancelled", "attempt 2": "error", "attempt 3": "result"}
    a1, a2, a3 = tl.tasks
    assert a2.created - a1.finished >= 0.029 and a3.created - a2.finished >= 0.059   # the pauses


async def _job(seconds):
    await asyncio.sleep(seconds)


async def _in_batches(durations, limit):
    for first in range(0, len(durations), limit):
        await asyncio.gather(*(asyncio.create_task(_job(d)) for d in durations[first:first + limit]))


async def _sliding_window(durations, limit):
    todo, in_flight = list(durations), set()
    while todo or in_flight:
        while todo and len(in_flight) < limit:
            in_flight.add(asyncio.create_task(_job(todo.pop(0))))
        _, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)


def test_sliding_window_beats_batches_with_the_same_limit():
    durations = [0.15 if i % 3 == 0 else 0.03 for i in range(9)]

    async def main(how):
        started = time.perf_counter()
        async with asynclab.trace() as tl:
            await how(durations, 3)
        return time.perf_counter() - started, tl.max_concurrency(), len(tl.tasks)

    batches, most_b, n_b = asyncio.run(main(_in_batches))
    window, most_w, n_w = asyncio.run(main(_sliding_window))
    assert (most_b, most_w, n_b, n_w) == (3, 3, 9, 9)
    assert batches >= 0.45                   # 3 batches of 150 ms at the least
    assert window <= 0.75 * batches          # about 240 ms vs 450 ms: a wide margin


# ---------------------------------------------------------------- (b) the lesson, executed

@pytest.fixture(scope="module")
def run():
    return execute(LESSON)


def test_lesson_links():
    text = (ROOT / LESSON).read_text(encoding="utf-8")
    for link in ("05-errors-and-cancellation.ipynb", "07-blocking-the-loop.ipynb",
                 "../exercises/06-waiting-and-racing.ipynb"):
        assert link in text


def test_lesson_printed_what_it_claims(run):
    w = run.text_of("async def wait_demo")
    assert "{'return_when': 'FIRST_COMPLETED'}            done=['A'] pending=['B', 'C'] errors=[]" in w
    assert "{'return_when': 'FIRST_EXCEPTION'}            done=['A', 'B'] pending=['C'] errors=['B: ConnectionError']" in w
    assert "{'return_when': 'ALL_COMPLETED'}              done=['A', 'B', 'C'] pending=[] errors=['B: ConnectionError']" in w
    assert "{'timeout': 0.17}                             done=['A', 'B'] pending=['C'] errors=['B: ConnectionError']" in w
    assert run.text_of("tl_wait").startswith(
        "wait returned: done = ['A']  pending = ['C']\nC still running right after: True\n"
        "C's result, awaited later: <C>\noutcomes: {'A': 'result', 'C': 'result'}\n")
    assert run.text_of("asyncio.as_completed(tasks, timeout=0.2)") == (
        "got <fast>\ngot <medium>\nas_completed raised TimeoutError()\n"
        "states: {'slow': 'still running', 'fast': 'done', 'medium': 'done'}\n"
        "You made no prediction. What happened: fast medium.\n")
    af = run.text_of("async for task in asyncio.as_completed(tasks)")
    if sys.version_info >= (3, 13):
        assert af == "fast finished: <fast>\nmedium finished: <medium>\nslow finished: <slow>\n"
    else:
        assert "no `async for` over as_completed (new in 3.13)" in af
        assert af.endswith("got <fast>\ngot <medium>\ngot <slow>\n")
    assert run.text_of("tl_race").startswith(
        "winner: mirror B -> file from B\n"
        "outcomes: {'mirror A': 'cancelled', 'mirror B': 'result', 'mirror C': 'cancelled'}\n")
    assert run.text_of("async def flaky(attempt)").startswith(
        "attempt 1: TimeoutError(); pausing 30 ms\n"
        "attempt 2: ConnectionError('connection reset'); pausing 60 ms\n"
        "attempt 3: got 'data'\n"
        "outcomes: {'attempt 1': 'cancelled', 'attempt 2': 'error', 'attempt 3': 'result'}\n")
    bw = run.text_of("async def sliding_window")
    assert "most jobs in progress at once: {'in_batches': 3, 'sliding_window': 3}" in bw
    assert re.search(r"^batches took \d+ ms, the sliding window \d+ ms$", bw, re.M), bw
    assert "sliding window finished first: True" in bw
    assert "and took at most 3/4 of the batches' time: True" in bw
    assert run.text_of("pg.set(") == ("batches: 9 jobs, most in progress at once: 3\n"
                                      "sliding window: 9 jobs, most in progress at once: 3\n")


def test_lesson_predictions_are_answered_by_reveal(run):
    names_ = [line.split("=")[0].strip() for c in run.nb.cells if c.cell_type == "code"
              for line in c.source.splitlines() if line.startswith("guess_")]
    assert len(names_) == 6, names_
    for name in names_:
        assert len(run.cells_with(f"asynclab.reveal({name},")) == 1, name
    assert run.text.count("You made no prediction. What happened:") == len(names_)
    assert run.text_of("async def wait_demo").endswith("You made no prediction. What happened: 1 2 3 2.\n")
    assert "You made no prediction. What happened: B." in run.text_of("tl_race")
    assert "You made no prediction. What happened: 3." in run.text_of("async def flaky(attempt)")
    assert "You made no prediction. What happened: window." in run.text_of("async def sliding_window")


def test_lesson_taskgroup_cancel_race_per_version(run):
    text = run.text_of("async def race_in_group(mirrors)")
    if sys.version_info >= (3, 15):
        assert text.startswith(
            "winner: file from B\n"
            "outcomes: {'mirror A': 'cancelled', 'mirror B': 'cancelled', 'mirror C': 'cancelled'}\n"
            f"On 3.11-3.14 the first tg.cancel() fails instead: AttributeError: {NO_CANCEL}.\n")
    else:
        minor = sys.version_info.minor
        assert text == (f"Python 3.{minor}: AttributeError: {NO_CANCEL}\n"
                        "TaskGroup.cancel() is new in Python 3.15; there this cell prints 'winner: file from B' "
                        "and a timeline where every racer ends cancelled, B too, after its answer was kept.\n")
    assert run.text_of("class Won(Exception)").startswith(
        "winner: file from B\n"
        "outcomes: {'mirror A': 'cancelled', 'mirror B': 'error', 'mirror C': 'cancelled'}\n")


def test_lesson_wait_loops(run):
    assert run.text_of("async def handle_as_they_finish(tasks)") == \
        "handled, each once, in finishing order: ['<fast>', '<medium>', '<slow>']\n"
    assert run.text_of("async def handle_while_true(tasks)") == \
        "after the last task: ValueError: Set of Tasks/Futures is empty.\n"
    assert run.text_of("async def no_reply()") == "after 300 ms the loop is still waiting for ['no reply']\n"
    assert run.text_of("async def handle_with_patience(") == \
        "handled: ['<A>'] | gave up on (cancelled): ['no reply']\n"
    assert run.text_of("async def handle_forgetting_pending(") == \
        "handled: ['<A>', '<A>', '<A>', '<A>', '<A>']\n"


def test_lesson_mistakes_print_real_errors(run):
    assert run.text_of("await asyncio.wait(coros)").strip() == \
        "TypeError: Passing coroutines is forbidden, use tasks explicitly."
    assert run.text_of("done, pending = await asyncio.wait(tasks)\nprint").strip() == "2 done, 0 pending"
    assert run.text_of("timeout=0.03)") == \
        "no exception: wait returned done = [] pending = ['slow']\nslow still running: True\n"
    assert run.text_of('print("slow cancelled:"').strip() == "slow cancelled: True"
    assert run.text_of('print("finished:", next_done.get_name())') == (
        "AttributeError: 'coroutine' object has no attribute 'get_name'\nits result: <A>\n")
    assert run.text_of("async def request(name, seconds)") == (
        "winner: fast\nrequests that ran to the end anyway: ['fast', 'slow 1', 'slow 2']\n")
    assert run.text_of('print("requests that ran to the end:"').strip() == \
        "requests that ran to the end: ['fast']"


def test_lesson_draws_its_timelines(run):
    assert run.images() >= 5


# ---------------------------------------------------------------- (c) the checks




@pytest.mark.parametrize("name", ["race", "retry"])
def test_solution_passes(name):
    result = check(function_from(SOLUTION, name))
    assert result.passed, result.message
    assert result.seconds < 2.5, result.seconds


@pytest.mark.parametrize("name", ["race", "retry"])
def test_stub_is_not_solved(name):
    result = check(function_from(EXERCISE, name))
    assert result.status == "not solved" and "not solved yet" in result.message, result.message


# -- wrong answers to race

async def race_sequential(*coro_fns):
    errors = []
    for fn in coro_fns:
        try:
            return await fn()
        except Exception as e:
            errors.append(e)
    raise ExceptionGroup("all failed", errors)


async def race_first_completed_even_if_failed(*coro_fns):
    tasks = [asyncio.create_task(fn()) for fn in coro_fns]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for t in pending:
        t.cancel()
    return done.pop().result()


async def race_no_cancel(*coro_fns):
    tasks = [asyncio.create_task(fn()) for fn in coro_fns]
    errors = []
    for next_done in asyncio.as_completed(tasks):
        try:
            return await next_done
        except Exception as e:
            errors.append(e)
    raise ExceptionGroup("all failed", errors)


async def race_raises_last_error(*coro_fns):
    tasks = [asyncio.create_task(fn()) for fn in coro_fns]
    try:
        for next_done in asyncio.as_completed(tasks):
            try:
                return await next_done
            except Exception as e:
                last = e
        raise last
    finally:
        for t in tasks:
            t.cancel()


async def race_waits_for_all(*coro_fns):
    results = await asyncio.gather(*(fn() for fn in coro_fns), return_exceptions=True)
    for r in results:
        if not isinstance(r, BaseException):
            return r
    raise ExceptionGroup("all failed", list(results))


# -- wrong answers to retry

async def retry_no_timeout(coro_fn, attempts=3, timeout=1.0, backoff=0.1):
    if attempts < 1:
        raise ValueError("attempts")
    pause = backoff
    for attempt in range(attempts):
        try:
            return await coro_fn()
        except Exception as e:
            last = e
        if attempt < attempts - 1:
            await asyncio.sleep(pause)
            pause *= 2
    raise last


async def retry_no_doubling(coro_fn, attempts=3, timeout=1.0, backoff=0.1):
    if attempts < 1:
        raise ValueError("attempts")
    for attempt in range(attempts):
        try:
            return await asyncio.wait_for(coro_fn(), timeout)
        except Exception as e:
            last = e
        if attempt < attempts - 1:
            await asyncio.sleep(backoff)
    raise last


async def retry_pauses_after_last(coro_fn, attempts=3, timeout=1.0, backoff=0.1):
    if attempts < 1:
        raise ValueError("attempts")
    pause = backoff
    for _ in range(attempts):
        try:
            return await asyncio.wait_for(coro_fn(), timeout)
        except Exception as e:
            last = e
        await asyncio.sleep(pause)
        pause *= 2
    raise last


async def retry_raises_first_error(coro_fn, attempts=3, timeout=1.0, backoff=0.1):
    if attempts < 1:
        raise ValueError("attempts")
    errors, pause = [], backoff
    for attempt in range(attempts):
        try:
            return await asyncio.wait_for(coro_fn(), timeout)
        except Exception as e:
            errors.append(e)
        if attempt < attempts - 1:
            await asyncio.sleep(pause)
            pause *= 2
    raise errors[0]


async def retry_no_validation(coro_fn, attempts=3, timeout=1.0, backoff=0.1):
    pause, last = backoff, None
    for attempt in range(attempts):
        try:
            return await asyncio.wait_for(coro_fn(), timeout)
        except Exception as e:
            last = e
        if attempt < attempts - 1:
            await asyncio.sleep(pause)
            pause *= 2
    if last is not None:
        raise last


async def retry_timeout_not_retried(coro_fn, attempts=3, timeout=1.0, backoff=0.1):
    if attempts < 1:
        raise ValueError("attempts")
    pause = backoff
    for attempt in range(attempts):
        try:
            return await asyncio.wait_for(coro_fn(), timeout)
        except TimeoutError:
            raise
        except Exception as e:
            last = e
        if attempt < attempts - 1:
            await asyncio.sleep(pause)
            pause *= 2
    raise last


async def retry_wrong_defaults(coro_fn, attempts=5, timeout=1.0, backoff=0.1):
    if attempts < 1:
        raise ValueError("attempts")
    pause = backoff
    for attempt in range(attempts):
        try:
            return await asyncio.wait_for(coro_fn(), timeout)
        except Exception as e:
            last = e
        if attempt < attempts - 1:
            await asyncio.sleep(pause)
            pause *= 2
    raise last


WRONG = [
    (race_sequential, "race", "it called the functions ['A']; expected each of A, B, C called once"),
    (race_first_completed_even_if_failed, "race", "when A failed; expected 'b'"),
    (race_no_cancel, "race", "the losers were not all cancelled"),
    (race_raises_last_error, "race", "expected an ExceptionGroup holding all 3 errors"),
    (race_waits_for_all, "race", "C ran to its end after B won; expected it to be cancelled"),
    (retry_no_timeout, "retry", "still waiting for the first attempt after 600 ms"),
    (retry_no_doubling, "retry", "each pause should be double the one before"),
    (retry_pauses_after_last, "retry", "do not pause after the last attempt"),
    (retry_raises_first_error, "retry", "expected the last error itself"),
    (retry_no_validation, "retry", "retry(coro_fn, attempts=0) returned None; expected ValueError"),
    (retry_timeout_not_retried, "retry", "it raised TimeoutError(); expected 'done on attempt 2'"),
    (retry_wrong_defaults, "retry", "its parameters default to {'attempts': 5"),
]


@pytest.mark.parametrize("wrong, name, says", WRONG, ids=[w.__name__ for w, _, _ in WRONG])
def test_wrong_answers_fail_and_say_why(wrong, name, says):
    result = check(wrong, name)
    assert result.status == "failed", result.message
    assert says in result.message, result.message
    assert "Traceback" not in result.message and 'File "' not in result.message
    assert result.seconds < CHECK_LIMIT
