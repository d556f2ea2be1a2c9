"""Checks for the exercises of lesson 07 (blocking the loop)."""

import asyncio
import threading
import time

from ..language import tr
from .core import exercise

TICK = 0.005          # the ticker's period on the checker's loop
STALL = 0.15          # a gap between ticks longer than this means the loop was blocked
                      # (a right answer shows gaps of a few ms, tens on a loaded machine;
                      # an answer that blocks stalls for 0.25 s or more in the first case)
MEET = 0.3            # how long a job waits for the others it should run alongside


class _Jobs:
    """Blocking jobs that record how many ran at once and on which thread.

    Each job first waits (up to MEET seconds, once: after one wait has timed out no job
    waits again) until `target` jobs are running at the same time, then sleeps its
    duration.  So a right answer reaches the target however slowly a loaded machine
    starts threads, while one that runs them one at a time never does.
    """

    def __init__(self, durations, loop_thread, target=1, fail_at=None):
        self.durations = durations
        self.loop_thread = loop_thread
        self.target = target
        self.fail_at = fail_at
        self.cond = threading.Condition()
        self.now = self.most = self.calls = 0
        self.on_loop_thread = 0
        self.gave_up = False

    def make(self, i):
        def job():
            with self.cond:
                self.calls += 1
                self.now += 1
                self.most = max(self.most, self.now)
                if threading.get_ident() == self.loop_thread:
                    self.on_loop_thread += 1
                self.cond.notify_all()
                if threading.get_ident() != self.loop_thread:
                    met = self.cond.wait_for(lambda: self.most >= self.target or self.gave_up,
                                             timeout=MEET)
                    self.gave_up = self.gave_up or not met
            try:
                time.sleep(self.durations[i])          # a blocking call, as real ones are
                if i == self.fail_at:
                    raise ValueError(f"job {i} failed")
                return f"result {i}"
            finally:
                with self.cond:
                    self.now -= 1
        job.__name__ = f"job{i}"
        return job

    def fns(self):
        return [self.make(i) for i in range(len(self.durations))]


async def _with_ticker(t, awaitable, limit):
    """Await the answer while a ticker ticks on this loop; return (result, longest gap)."""
    ticks = [time.perf_counter()]

    async def ticker():
        while True:
            await asyncio.sleep(TICK)
            ticks.append(time.perf_counter())

    ticking = asyncio.create_task(ticker())
    try:
        got = await t.run(awaitable, limit=limit)
    finally:
        ticking.cancel()
    ticks.append(time.perf_counter())
    gap = max(b - a for a, b in zip(ticks, ticks[1:]))
    return got, gap


def _common(t, jobs, got, gap, limit):
    n = len(jobs.durations)
    t.expect(isinstance(got, list),
             tr("it returned {type} {value}; expected a list of the results",
                type=type(got).__name__, value=f"{got!r:.80}"))
    t.expect(jobs.calls == n, tr("it called {calls} of the {n} functions; each should be "
                                 "called exactly once", calls=jobs.calls, n=n))
    t.expect(jobs.on_loop_thread == 0,
             tr("{count} of the functions ran on the event loop's own thread "
                "(the loop stood still for {ms} ms while they ran)",
                count=jobs.on_loop_thread, ms=f"{gap * 1000:.0f}"))
    want = [f"result {i}" for i in range(n)]
    t.expect(got == want, tr("it returned {got}; expected {want} (the results in the order of fns, "
                             "not in the order they finished)", got=repr(got), want=repr(want)))
    expected_most = min(limit, n)
    t.expect(jobs.most <= limit, tr("{most} functions ran at once; the limit was {limit}",
                                    most=jobs.most, limit=limit))
    t.expect(jobs.most == expected_most,
             tr("at most {most} function(s) ran at once; with limit={limit} and {n} functions, "
                "{expected} should run at the same time",
                most=jobs.most, limit=limit, n=n, expected=expected_most))
    t.expect(gap < STALL, tr("the event loop stood still for {ms} ms while the functions ran (a "
                             "ticker task on it could not tick): something waited for the threads "
                             "in a blocking way", ms=f"{gap * 1000:.0f}"))


# Each case has its own time limit (a right answer needs about a third of it), so that even
# an answer that never finishes gets a verdict for every case within core.CHECK_LIMIT.
@exercise("run_blocking_all", kind="async", params=["fns", "limit"],
          hints=(
              'A blocking function called from a coroutine stops the whole loop. Lesson 07 showed how'
              ' to run one elsewhere and await it.',
              "The limit is lesson 03's: a gate, created inside your function, that at most `limit` "
              'callers may pass at once.',
              'One small coroutine per function (gate, then run it off the loop); run them together '
              'with results in the order of fns; after an error, the ones still waiting for the gate '
              'must not start.'))
async def _run_blocking_all(fn, t):
    loop_thread = threading.get_ident()

    async with t.case(tr("6 functions, limit 2")):
        jobs = _Jobs([0.25, 0.1, 0.1, 0.15, 0.1, 0.1], loop_thread, target=2)
        got, gap = await _with_ticker(t, fn(jobs.fns(), 2), 1.5)
        _common(t, jobs, got, gap, 2)

    async with t.case(tr("3 functions, limit 5 (all at once)")):
        jobs = _Jobs([0.15, 0.08, 0.08], loop_thread, target=3)
        got, gap = await _with_ticker(t, fn(jobs.fns(), 5), 1.0)
        _common(t, jobs, got, gap, 5)

    async with t.case(tr("3 functions, limit 1 (one at a time)")):
        jobs = _Jobs([0.05, 0.05, 0.05], loop_thread)
        got, gap = await _with_ticker(t, fn(jobs.fns(), 1), 0.6)
        _common(t, jobs, got, gap, 1)

    async with t.case(tr("no functions")):
        got = await t.run(fn([], 3), limit=0.5)
        t.expect(got == [], tr("it returned {got}; expected [] for an empty list of functions",
                               got=repr(got)))

    async with t.case(tr("a function raises ValueError")):
        jobs = _Jobs([0.05, 0.05, 0.05], loop_thread, fail_at=1)
        try:
            got = await t.run(fn(jobs.fns(), 3), limit=0.5)
        except ValueError as err:
            t.expect(str(err) == "job 1 failed",
                     tr("it raised ValueError({message}); expected the function's own "
                        "ValueError('job 1 failed')", message=repr(str(err))))
        except BaseExceptionGroup as group:
            inner = [e for e in group.exceptions if isinstance(e, ValueError)]
            t.expect(bool(inner), tr("it raised {type} without the function's ValueError in it",
                                     type=type(group).__name__))
        else:
            t.expect(False, tr("it returned {got}; expected the function's ValueError('job 1 failed') "
                               "to propagate to the caller", got=repr(got)))
