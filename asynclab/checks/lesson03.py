"""Checks for the exercises of lesson 03 (Semaphore limits).

`bounded_gather` gets jobs that record the moment they are *called* (each job is a
zero-argument function that returns a coroutine), when their body starts and ends,
and how many run at once.  Concurrency is counted, not guessed from a clock; the one
timing fact it relies on has a 100 ms margin (a 20 ms job frees its slot long before
a 120 ms job ends).

`RateLimiter` is timed with `time.perf_counter()`.  Windows are compared with a 15 ms
tolerance (timer granularity, and a busy machine resuming a task late), and "not much
slower than needed" allows a whole extra window (so a limiter that spaces starts evenly
passes as well as one that lets a burst of `rate` through at once).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import time

from ..language import tr
from .core import short, exercise

_TOLERANCE = 0.015          # seconds: timer granularity allowed in windows, on a quiet machine


class JobFailed(Exception):
    """What a failing job raises."""


class FakeJobs:
    """Zero-argument jobs that count what ran at once.  `make(i)` gives job i."""

    def __init__(self, delays, fail=None):
        self.delays = list(delays)
        self.fail = fail                    # index of the job that raises, or None
        self.called = []                    # indices, in the order the jobs were called
        self.open = 0                       # called (coroutine made) and not yet finished
        self.max_open = 0                   # the most that were open when a job was called
        self.running = 0                    # bodies executing (started, not finished)
        self.max_running = 0
        self.started, self.finished = {}, {}
        self.cancelled = set()
        self.raised = None
        self.origin = time.perf_counter()
        self.baseline = None                # the tasks that existed before the answer ran
        self.max_tasks = 0                  # the most tasks of the answer alive at once

    def watch_tasks(self):
        """From now on, count the tasks the answer has alive (each job call and start looks)."""
        self.baseline = set(asyncio.all_tasks())

    def _count_tasks(self):
        if self.baseline is not None:
            alive = [t for t in asyncio.all_tasks() if t not in self.baseline and not t.done()]
            self.max_tasks = max(self.max_tasks, len(alive))

    def make(self, i):
        def job():
            # A plain function that returns a coroutine, so the moment of the *call* is seen.
            self.called.append(i)
            self._count_tasks()
            self.open += 1
            self.max_open = max(self.max_open, self.open)
            coro = self._body(i)
            _made.__dict__.setdefault("coros", []).append(coro)
            return coro
        job.__name__ = job.__qualname__ = f"job{i}"
        return job

    def jobs(self):
        return [self.make(i) for i in range(len(self.delays))]

    async def _body(self, i):
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        self.started[i] = time.perf_counter() - self.origin
        self._count_tasks()
        try:
            await asyncio.sleep(self.delays[i])
            if i == self.fail:
                self.raised = JobFailed(f"job {i} failed")
                raise self.raised
            return f"result-{i}"
        except asyncio.CancelledError:
            self.cancelled.add(i)
            raise
        finally:
            self.running -= 1
            self.open -= 1
            self.finished[i] = time.perf_counter() - self.origin

    @property
    def still_running(self):
        return sorted(i for i in self.started if i not in self.finished)


_made = threading.local()    # .coros: the job coroutines made in this thread's check


def _tidy(cases):
    """Close the job coroutines a wrong answer made but never awaited (no "never awaited" warning)."""
    @functools.wraps(cases)
    async def run(fn, t):
        _made.coros = []
        try:
            await cases(fn, t)
        finally:
            for coro in _made.coros:
                if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
                    coro.close()
    return run


def _expect_results(t, got, n):
    expected = [f"result-{i}" for i in range(n)]
    if isinstance(got, (list, tuple)) and list(got) != expected and \
            sorted(map(str, got)) == sorted(expected):
        t.expect(False, tr("it returned {value}: the results in the order the jobs finished; "
                           "expected {expected}, in the order of the jobs",
                           value=short(got, 120), expected=repr(expected)))
    t.expect(isinstance(got, list) and got == expected,
             tr("it returned {value}; expected the list {expected}",
                value=short(got, 120), expected=short(expected, 120)))


def _expect_limited(t, jobs, limit, n):
    t.expect(sorted(jobs.called) == list(range(n)),
             tr("the jobs were called {calls} times (in the order {order}); expected each of "
                "the {n} jobs to be called exactly once", calls=len(jobs.called), order=jobs.called,
                n=n))
    t.expect(jobs.max_running <= limit,
             tr("{most} jobs ran at once; the limit was {limit}", most=jobs.max_running, limit=limit))
    t.expect(jobs.max_open <= limit,
             tr("{called} jobs had been called (their coroutines created) while at most {limit} may "
                "run: their coroutines were created long before they could start",
                called=jobs.max_open, limit=limit))
    t.expect(jobs.max_running == min(limit, n),
             tr("at most {most} job(s) ran at once; expected {expected} at once (limit {limit}, {n} "
                "jobs), so they did not run concurrently", most=jobs.max_running,
                expected=min(limit, n), limit=limit, n=n))


@exercise("bounded_gather", kind="async", params=["jobs", "limit"],
          hints=(
              'Count the coroutines alive at once: with a million jobs, how many exist in your answer'
              ' before the first finishes?',
              'Make the slot the gate to the task, not a lock inside it: wait for a free slot first, '
              'then call the job and start its task; the slot is given back when that task ends, '
              'however it ends.',
              'After a failure nothing new may start: the loop that starts jobs must notice a failure'
              ' while it waits for a slot, and on the way out every started task is cancelled and '
              'waited for. Results come from the tasks, in the order you started them.'))
@_tidy
async def _bounded_gather(fn, t):
    async with t.case(tr("6 jobs, limit 2: at most 2 at once, results in input order")):
        jobs = FakeJobs([0.12, 0.02, 0.02, 0.02, 0.02, 0.02])
        jobs.watch_tasks()
        got = await t.run(fn(jobs.jobs(), 2))
        _expect_results(t, got, 6)
        _expect_limited(t, jobs, 2, 6)
        t.expect(jobs.max_tasks <= 3,
                 tr("{tasks} tasks of yours were alive at once for 6 jobs with limit 2 (the jobs "
                    "waiting for a slot each had a task already): with a million jobs that is a "
                    "million waiting tasks and coroutines; only about `limit` should exist at a time",
                    tasks=jobs.max_tasks))
        t.expect(jobs.started[2] < jobs.finished[0],
                 tr("job 2 started only at {started} ms, after job 0 ended ({ended} ms), although "
                    "job 1 freed its slot at {freed} ms: a free slot should be used at once (not "
                    "batch by batch)", started=f"{jobs.started[2] * 1000:.0f}",
                    ended=f"{jobs.finished[0] * 1000:.0f}", freed=f"{jobs.finished[1] * 1000:.0f}"))

    async with t.case(tr("limit 3, 3 jobs that finish in reverse order")):
        jobs = FakeJobs([0.09, 0.05, 0.01])
        got = await t.run(fn(jobs.jobs(), 3))
        _expect_results(t, got, 3)
        _expect_limited(t, jobs, 3, 3)

    async with t.case(tr("limit 1 runs the jobs one after another, in order")):
        jobs = FakeJobs([0.02, 0.01, 0.01])
        got = await t.run(fn(jobs.jobs(), 1))
        _expect_results(t, got, 3)
        _expect_limited(t, jobs, 1, 3)
        t.expect(jobs.called == [0, 1, 2], tr("the jobs were called in the order {order}; "
                                              "expected [0, 1, 2] with limit 1", order=jobs.called))

    async with t.case(tr("limit 10 with 4 jobs given as a generator")):
        jobs = FakeJobs([0.03, 0.01, 0.02, 0.01])
        got = await t.run(fn((jobs.make(i) for i in range(4)), 10))
        _expect_results(t, got, 4)
        _expect_limited(t, jobs, 10, 4)

    async with t.case(tr("no jobs")):
        got = await t.run(fn([], 3))
        t.expect(got == [] and isinstance(got, list), tr("it returned {value} for no jobs; expected []",
                                                         value=short(got)))

    for bad in (0, -1):
        async with t.case(tr("limit {bad} raises ValueError", bad=bad)):
            jobs = FakeJobs([0.01, 0.01])
            try:
                got = await t.run(fn(jobs.jobs(), bad), limit=0.5)
            except ValueError:
                t.expect(not jobs.called, tr("it raised ValueError, but only after calling {calls} "
                                             "job(s); check the limit before running anything",
                                             calls=len(jobs.called)))
            else:
                t.expect(False, tr("it returned {value} for limit={bad}; expected ValueError (a limit "
                                   "below 1 can never let a job run)", value=short(got), bad=bad))

    async with t.case(tr("a failing job: its exception reaches the caller at once, no job starts "
                         "after it or is left running")):
        jobs = FakeJobs([0.3, 0.03, 0.3, 0.3, 0.3], fail=1)
        start = time.perf_counter()
        try:
            got = await t.run(fn(jobs.jobs(), 3))
        except JobFailed as err:
            t.expect(err is jobs.raised, tr("it raised a different JobFailed than the one the job "
                                            "raised; let the job's own exception through"))
        except BaseExceptionGroup as group:
            t.expect(False, tr("it raised {error} wrapping the error (as a TaskGroup does); expected "
                               "the JobFailed from job 1 itself, unwrapped",
                               error=f"{type(group).__name__}({str(group)!r})"))
        else:
            t.expect(False, tr("it returned {value} although job 1 raised JobFailed; expected that "
                               "exception to reach the caller", value=short(got)))
        ms = (time.perf_counter() - start) * 1000
        failed_at = jobs.finished.get(1, 0) * 1000
        late = sorted(i for i, s in jobs.started.items() if s * 1000 > failed_at)
        t.expect(not late, tr("job(s) {late} started after job 1 had failed (at {failed} ms): once "
                              "a job has failed, no new job should start",
                              late=late, failed=f"{failed_at:.0f}"))
        t.expect(ms < failed_at + 100, tr("it raised job 1's JobFailed only at {ms} ms, although job 1 "
                                          "failed at {failed} ms: the failure should reach the caller "
                                          "at once", ms=f"{ms:.0f}", failed=f"{failed_at:.0f}"))
        await asyncio.sleep(0.02)        # time for cancelled jobs to run their cleanup
        left = jobs.still_running
        t.expect(not left, tr("job(s) {left} were still running after it raised JobFailed (at "
                              "{ms} ms): they run on, unwatched, after the caller has its error",
                              left=left, ms=f"{ms:.0f}"))


def _crowded_window(times, rate, per, late=0.0):
    """The first run of rate+1 entries that started within one window of `per`, or None.

    `late`: how late the loop ran its timers meanwhile (seconds).  A correct limiter that plans
    its starts ahead (one every per/rate) lets an entry in late when the loop was busy and the
    next on time: on a loaded machine its entries bunch by as much as the loop was late.
    """
    times = sorted(times)
    allowed = per - min(_TOLERANCE + late, per / 2)
    for i in range(len(times) - rate):
        if times[i + rate] - times[i] < allowed:
            return i, times[i + rate] - times[i]
    return None


def _expect_windows(t, times, rate, per):
    crowded = _crowded_window(times, rate, per, t.lateness())
    if crowded is not None:
        i, gap = crowded
        t.expect(False, tr("{n} entries (numbers {first} to {last}) started within {gap} ms; at "
                           "most {rate} may start in any {per} ms", n=rate + 1, first=i + 1,
                           last=i + rate + 1, gap=f"{gap * 1000:.0f}", rate=rate,
                           per=f"{per * 1000:.0f}"))


async def _enter_all(t, limiter, n, body=0.0):
    """n tasks enter `limiter` at once; returns (entry times from the start, most inside at once)."""
    start = time.perf_counter()
    times, inside = [], [0, 0]

    async def one():
        async with limiter:
            times.append(time.perf_counter() - start)
            inside[0] += 1
            inside[1] = max(inside[1], inside[0])
            try:
                await asyncio.sleep(body)
            finally:
                inside[0] -= 1

    tasks = [asyncio.create_task(one()) for _ in range(n)]
    try:
        await t.run(asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return times, inside[1]


@exercise("RateLimiter", kind="class",
          hints=(
              'A limiter about starts per time is not a Semaphore: what must it remember about past '
              'entries, and what has to happen on the way out?',
              'Entries may arrive at any moment, not only together: a counter reset every `per` '
              'seconds lets a burst through at the edge of two windows. Think of a sliding window: '
              'the start times of the last `rate` entries, kept on the instance.',
              'An entry may start when the oldest of the last `rate` starts is `per` seconds old; '
              "until then it waits without blocking the loop (the loop's own sleep), and waiters take"
              ' turns so that two do not take the same free place.'))
async def _rate_limiter(cls, t):
    if not (hasattr(cls, "__aenter__") and hasattr(cls, "__aexit__")):
        async with t.case(tr("`async with RateLimiter(...):` works")):
            t.expect(False, tr("the class has no `async def __aenter__` and `async def __aexit__`, "
                               "so `async with limiter:` cannot use it"))
        return

    async with t.case(tr("rate=3 per=0.2 s, 9 tasks enter at once")):
        limiter = cls(3, per=0.2)
        times, _ = await _enter_all(t, limiter, 9)
        t.expect(len(times) == 9, tr("{n} of 9 tasks got in", n=len(times)))
        _expect_windows(t, times, 3, 0.2)
        last = max(times)
        t.expect(last <= 0.4 + 0.3, tr("the 9th entry started only after {ms} ms; at 3 per 200 ms "
                                       "nine entries need about 400 ms: it waits longer than needed",
                                       ms=f"{last * 1000:.0f}"))

    async with t.case(tr("long bodies: entries overlap beyond the rate")):
        limiter = cls(3, per=0.2)
        times, most = await _enter_all(t, limiter, 6, body=0.5)
        _expect_windows(t, times, 3, 0.2)
        t.expect(most == 6, tr("at most {most} tasks were inside `async with limiter:` at once; "
                               "each stays 500 ms and the 6 entries need only about 200 ms, so all 6 "
                               "should be inside together: a rate limiter limits starts per second, "
                               "not how many run at once", most=most))

    async with t.case(tr("rate=2 per=0.1 s, one task entering 6 times in a row")):
        limiter = cls(2, per=0.1)
        start = time.perf_counter()
        times = []

        async def one_after_another():
            for _ in range(6):
                async with limiter:
                    times.append(time.perf_counter() - start)
                await asyncio.sleep(0)

        await t.run(one_after_another())
        _expect_windows(t, times, 2, 0.1)
        t.expect(max(times) <= 0.2 + 0.15, tr("the 6th entry started only after {ms} ms; at 2 per "
                                              "100 ms six entries need about 200 ms",
                                              ms=f"{max(times) * 1000:.0f}"))

    async with t.case(tr("staggered arrivals, rate=3 per=0.2 s: one entry at 0 ms, five at 150 ms")):
        limiter = cls(3, per=0.2)
        start = time.perf_counter()
        times = []

        async def enter(delay):
            await asyncio.sleep(delay)
            async with limiter:
                times.append(time.perf_counter() - start)

        await t.run(asyncio.gather(enter(0), *(enter(0.15) for _ in range(5))))
        _expect_windows(t, times, 3, 0.2)
        t.expect(max(times) <= 0.35 + 0.3, tr("the 6th entry started only after {ms} ms; at 3 per "
                                              "200 ms it may start at about 350 ms",
                                              ms=f"{max(times) * 1000:.0f}"))

    async with t.case(tr("two limiters do not share their budget")):
        a, b = cls(2, 0.3), cls(2, per=0.3)
        await _enter_all(t, a, 2)
        times_b, _ = await _enter_all(t, b, 2)
        t.expect(min(times_b) < 0.1, tr("right after 2 entries into one limiter (2 per 300 ms), the "
                                        "first entry into a second, new limiter had to wait {ms} ms: "
                                        "the two limiters share one budget (the entry times are "
                                        "shared, not each limiter's own)",
                                        ms=f"{min(times_b) * 1000:.0f}"))

    async with t.case(tr("an exception inside `async with limiter:` is not swallowed")):
        limiter = cls(5, per=0.1)

        async def raise_inside():
            async with limiter:
                raise JobFailed("raised inside the block")

        try:
            await t.run(raise_inside())
        except JobFailed:
            pass
        else:
            t.expect(False, tr("an exception raised inside `async with limiter:` disappeared: "
                               "__aexit__ should return None (or False), not True"))
