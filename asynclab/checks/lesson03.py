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

from .core import short, exercise

_TOLERANCE = 0.015          # seconds: timer granularity (and a busy machine) allowed in windows


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
        t.expect(False, f"it returned {short(got, 120)}: the results in the order the jobs "
                 f"finished; expected {expected!r}, in the order of the jobs")
    t.expect(isinstance(got, list) and got == expected,
             f"it returned {short(got, 120)}; expected the list {short(expected, 120)}")


def _expect_limited(t, jobs, limit, n):
    t.expect(sorted(jobs.called) == list(range(n)),
             f"the jobs were called {len(jobs.called)} times (in the order {jobs.called}); "
             f"expected each of the {n} jobs to be called exactly once")
    t.expect(jobs.max_running <= limit,
             f"{jobs.max_running} jobs ran at once; the limit was {limit}")
    t.expect(jobs.max_open <= limit,
             f"{jobs.max_open} jobs had been called (their coroutines created) while at most "
             f"{limit} may run: their coroutines were created long before they could start")
    t.expect(jobs.max_running == min(limit, n),
             f"at most {jobs.max_running} job(s) ran at once; expected {min(limit, n)} at once "
             f"(limit {limit}, {n} jobs), so they did not run concurrently")


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
    async with t.case("6 jobs, limit 2: at most 2 at once, results in input order"):
        jobs = FakeJobs([0.12, 0.02, 0.02, 0.02, 0.02, 0.02])
        jobs.watch_tasks()
        got = await t.run(fn(jobs.jobs(), 2))
        _expect_results(t, got, 6)
        _expect_limited(t, jobs, 2, 6)
        t.expect(jobs.max_tasks <= 3,
                 f"{jobs.max_tasks} tasks of yours were alive at once for 6 jobs with limit 2 (the "
                 "jobs waiting for a slot each had a task already): with a million jobs that is a "
                 "million waiting tasks and coroutines; only about `limit` should exist at a time")
        t.expect(jobs.started[2] < jobs.finished[0],
                 f"job 2 started only at {jobs.started[2] * 1000:.0f} ms, after job 0 ended "
                 f"({jobs.finished[0] * 1000:.0f} ms), although job 1 freed its slot at "
                 f"{jobs.finished[1] * 1000:.0f} ms: a free slot should be used at once "
                 "(not batch by batch)")

    async with t.case("limit 3, 3 jobs that finish in reverse order"):
        jobs = FakeJobs([0.09, 0.05, 0.01])
        got = await t.run(fn(jobs.jobs(), 3))
        _expect_results(t, got, 3)
        _expect_limited(t, jobs, 3, 3)

    async with t.case("limit 1 runs the jobs one after another, in order"):
        jobs = FakeJobs([0.02, 0.01, 0.01])
        got = await t.run(fn(jobs.jobs(), 1))
        _expect_results(t, got, 3)
        _expect_limited(t, jobs, 1, 3)
        t.expect(jobs.called == [0, 1, 2], f"the jobs were called in the order {jobs.called}; "
                 "expected [0, 1, 2] with limit 1")

    async with t.case("limit 10 with 4 jobs given as a generator"):
        jobs = FakeJobs([0.03, 0.01, 0.02, 0.01])
        got = await t.run(fn((jobs.make(i) for i in range(4)), 10))
        _expect_results(t, got, 4)
        _expect_limited(t, jobs, 10, 4)

    async with t.case("no jobs"):
        got = await t.run(fn([], 3))
        t.expect(got == [] and isinstance(got, list), f"it returned {short(got)} for no jobs; "
                 "expected []")

    for bad in (0, -1):
        async with t.case(f"limit {bad} raises ValueError"):
            jobs = FakeJobs([0.01, 0.01])
            try:
                got = await t.run(fn(jobs.jobs(), bad), limit=0.5)
            except ValueError:
                t.expect(not jobs.called, f"it raised ValueError, but only after calling "
                         f"{len(jobs.called)} job(s); check the limit before running anything")
            else:
                t.expect(False, f"it returned {short(got)} for limit={bad}; expected ValueError "
                         "(a limit below 1 can never let a job run)")

    async with t.case("a failing job: its exception reaches the caller at once, no job starts "
                      "after it or is left running"):
        jobs = FakeJobs([0.3, 0.03, 0.3, 0.3, 0.3], fail=1)
        start = time.perf_counter()
        try:
            got = await t.run(fn(jobs.jobs(), 3))
        except JobFailed as err:
            t.expect(err is jobs.raised, "it raised a different JobFailed than the one the job "
                     "raised; let the job's own exception through")
        except BaseExceptionGroup as group:
            t.expect(False, f"it raised {type(group).__name__}({str(group)!r}) wrapping the error "
                     "(as a TaskGroup does); expected the JobFailed from job 1 itself, unwrapped")
        else:
            t.expect(False, f"it returned {short(got)} although job 1 raised JobFailed; "
                     "expected that exception to reach the caller")
        ms = (time.perf_counter() - start) * 1000
        failed_at = jobs.finished.get(1, 0) * 1000
        late = sorted(i for i, s in jobs.started.items() if s * 1000 > failed_at)
        t.expect(not late, f"job(s) {late} started after job 1 had failed (at {failed_at:.0f} ms): "
                 "once a job has failed, no new job should start")
        t.expect(ms < failed_at + 100, f"it raised job 1's JobFailed only at {ms:.0f} ms, although "
                 f"job 1 failed at {failed_at:.0f} ms: the failure should reach the caller at once")
        await asyncio.sleep(0.02)        # time for cancelled jobs to run their cleanup
        left = jobs.still_running
        t.expect(not left, f"job(s) {left} were still running after it raised JobFailed "
                 f"(at {ms:.0f} ms): they run on, unwatched, after the caller has its error")


def _crowded_window(times, rate, per):
    """The first run of rate+1 entries that started within one window of `per`, or None."""
    times = sorted(times)
    for i in range(len(times) - rate):
        if times[i + rate] - times[i] < per - _TOLERANCE:
            return i, times[i + rate] - times[i]
    return None


def _expect_windows(t, times, rate, per):
    crowded = _crowded_window(times, rate, per)
    if crowded is not None:
        i, gap = crowded
        t.expect(False, f"{rate + 1} entries (numbers {i + 1} to {i + rate + 1}) started within "
                 f"{gap * 1000:.0f} ms; at most {rate} may start in any {per * 1000:.0f} ms")


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
        async with t.case("`async with RateLimiter(...):` works"):
            t.expect(False, "the class has no `async def __aenter__` and `async def __aexit__`, "
                     "so `async with limiter:` cannot use it")
        return

    async with t.case("rate=3 per=0.2 s, 9 tasks enter at once"):
        limiter = cls(3, per=0.2)
        times, _ = await _enter_all(t, limiter, 9)
        t.expect(len(times) == 9, f"{len(times)} of 9 tasks got in")
        _expect_windows(t, times, 3, 0.2)
        last = max(times)
        t.expect(last <= 0.4 + 0.3, f"the 9th entry started only after {last * 1000:.0f} ms; "
                 "at 3 per 200 ms nine entries need about 400 ms: it waits longer than needed")

    async with t.case("long bodies: entries overlap beyond the rate"):
        limiter = cls(3, per=0.2)
        times, most = await _enter_all(t, limiter, 6, body=0.5)
        _expect_windows(t, times, 3, 0.2)
        t.expect(most == 6, f"at most {most} tasks were inside `async with limiter:` at once; "
                 "each stays 500 ms and the 6 entries need only about 200 ms, so all 6 should "
                 "be inside together: a rate limiter limits starts per second, not how many "
                 "run at once")

    async with t.case("rate=2 per=0.1 s, one task entering 6 times in a row"):
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
        t.expect(max(times) <= 0.2 + 0.15, f"the 6th entry started only after "
                 f"{max(times) * 1000:.0f} ms; at 2 per 100 ms six entries need about 200 ms")

    async with t.case("staggered arrivals, rate=3 per=0.2 s: one entry at 0 ms, five at 150 ms"):
        limiter = cls(3, per=0.2)
        start = time.perf_counter()
        times = []

        async def enter(delay):
            await asyncio.sleep(delay)
            async with limiter:
                times.append(time.perf_counter() - start)

        await t.run(asyncio.gather(enter(0), *(enter(0.15) for _ in range(5))))
        _expect_windows(t, times, 3, 0.2)
        t.expect(max(times) <= 0.35 + 0.3, f"the 6th entry started only after "
                 f"{max(times) * 1000:.0f} ms; at 3 per 200 ms it may start at about 350 ms")

    async with t.case("two limiters do not share their budget"):
        a, b = cls(2, 0.3), cls(2, per=0.3)
        await _enter_all(t, a, 2)
        times_b, _ = await _enter_all(t, b, 2)
        t.expect(min(times_b) < 0.1, f"right after 2 entries into one limiter (2 per 300 ms), "
                 f"the first entry into a second, new limiter had to wait "
                 f"{min(times_b) * 1000:.0f} ms: the two limiters share one budget (the entry "
                 "times are shared, not each limiter's own)")

    async with t.case("an exception inside `async with limiter:` is not swallowed"):
        limiter = cls(5, per=0.1)

        async def raise_inside():
            async with limiter:
                raise JobFailed("raised inside the block")

        try:
            await t.run(raise_inside())
        except JobFailed:
            pass
        else:
            t.expect(False, "an exception raised inside `async with limiter:` disappeared: "
                     "__aexit__ should return None (or False), not True")
