"""Checks for the exercises of lesson 02 (gather vs create_task ordering).

Both exercises get a fake `fetch(i)` whose delay depends on the id, so that the order
the fetches finish in differs from the order of `ids`.  The fake counts how many
fetches are in flight at once: concurrency is measured, not guessed from a clock.
Finish times are 50 ms or more apart (20, 70, 130, 190, 250 ms), so a busy machine
does not swap two finishes.

What the checks require when a fetch raises: the exception reaches the caller as is
(the same exception object, not wrapped in an ExceptionGroup), as `gather` does.
"""

from __future__ import annotations

import asyncio
import time

from ..language import tr
from .core import exercise, short

# id -> seconds; ids not listed take 10 ms.
_DELAYS = {1: 0.25, 2: 0.02, 3: 0.13, 4: 0.19, 5: 0.07}


class FetchFailed(Exception):
    """What the fake fetch raises for a failing id."""


class FakeFetch:
    """`await fetch(i)` -> f"item-{i}" after a delay that depends on i; counts what ran at once."""

    def __init__(self, fail=()):
        self.fail = set(fail)
        self.calls = []            # ids, in the order fetch was called
        self.finished = []         # ids, in the order the fetches finished
        self.in_flight = 0
        self.max_in_flight = 0
        self.raised = None         # the exception object it raised, if any

    async def __call__(self, i):
        self.calls.append(i)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(_DELAYS.get(i, 0.01))
            if i in self.fail:
                self.raised = FetchFailed(f"fetch({i!r}) failed")
                raise self.raised
            return f"item-{i}"
        finally:
            self.in_flight -= 1
            self.finished.append(i)

    def __repr__(self):
        return "fetch"


def _sum_ms(ids):
    return sum(_DELAYS.get(i, 0.01) for i in ids) * 1000


async def _timed(t, awaitable):
    start = time.perf_counter()
    got = await t.run(awaitable)
    return got, (time.perf_counter() - start) * 1000


def _expect_concurrent(t, fetch, ids, ms):
    t.expect(len(fetch.calls) == len(ids),
             tr("fetch was called {calls} times for {n} ids {ids}; expected one call per id "
                "(duplicates included)", calls=len(fetch.calls), n=len(ids), ids=repr(ids)))
    if fetch.max_in_flight == 1:
        how = tr("the fetches ran one after another (only 1 in flight at a time)")
    else:
        how = tr("at most {most} fetches were in flight at once", most=fetch.max_in_flight)
    t.expect(fetch.max_in_flight == len(ids),
             tr("{how}, so it took {ms} ms (the delays add up to {sum} ms); expected all {n} in "
                "flight at once", how=how, ms=f"{ms:.0f}", sum=f"{_sum_ms(ids):.0f}", n=len(ids)))


async def _expect_error_propagates(t, call, fetch):
    """The FetchFailed from fetch(2) reaches the caller as is, at once, and no fetch runs on."""
    start = time.perf_counter()
    try:
        got = await t.run(call)
    except FetchFailed as err:
        ms = (time.perf_counter() - start) * 1000
        t.expect(err is fetch.raised, tr("it raised a different FetchFailed than the one fetch raised"))
        running = sorted(i for i in fetch.calls if fetch.calls.count(i) > fetch.finished.count(i))
        if len(running) > 1:
            t.expect(False, tr("when it raised (at fetch(2)'s failure), fetches {ids} were still "
                               "running, and nobody waits for them any more: had one failed later, "
                               "asyncio would only log 'Task exception was never retrieved'",
                               ids=", ".join(map(str, running))))
        t.expect(not running, tr("when it raised (at fetch(2)'s failure), fetch {ids} was still "
                                 "running, and nobody waits for them any more: had one failed later, "
                                 "asyncio would only log 'Task exception was never retrieved'",
                                 ids=", ".join(map(str, running))))
        t.expect(ms < 110, tr("fetch(2) failed after 20 ms, but its error reached the caller only at "
                              "{ms} ms, after waiting for the other fetches: a failure should come "
                              "out at once", ms=f"{ms:.0f}"))
        return
    except BaseExceptionGroup as group:
        t.expect(False, tr("it raised {error} wrapping the error; expected the FetchFailed from "
                           "fetch itself to reach the caller, unwrapped",
                           error=f"{type(group).__name__}({str(group)!r})"))
    t.expect(False, tr("it returned {value} although fetch(2) raised FetchFailed; expected that "
                       "exception to reach the caller", value=short(got)))


@exercise("fetch_all", kind="async", params=["fetch", "ids"],
          hints=(
              'Awaiting one fetch after another waits for each before starting the next. What starts '
              'them all before waiting for any, and keeps their order?',
              'Lesson 02 showed a function that takes many awaitables, runs them together and gives '
              'their results in the order of its arguments.',
              'When one fetch fails, the others are still running: a fetch you started is yours to '
              'stop. Wrap them in Tasks you hold, and on the way out (return or error) cancel the '
              'ones still running and wait until they have ended.'))
async def _fetch_all(fn, t):
    async with t.case(tr("3 ids with different delays: results in the order of ids")):
        ids = [1, 2, 3]
        fetch = FakeFetch()
        got, ms = await _timed(t, fn(fetch, ids))
        expected = ["item-1", "item-2", "item-3"]
        if got != expected and isinstance(got, (list, tuple)) and \
                sorted(map(str, got)) == sorted(expected):
            t.expect(False, tr("it returned {value}: the results in the order the fetches "
                               "finished; expected {expected}, in the order of ids {ids}",
                               value=short(got), expected=repr(expected), ids=repr(ids)))
        t.expect(got == expected, tr("it returned {value}; expected the list {expected}",
                                     value=short(got), expected=repr(expected)))
        _expect_concurrent(t, fetch, ids, ms)

    async with t.case(tr("5 ids run all at once")):
        ids = [4, 1, 5, 2, 3]
        fetch = FakeFetch()
        got, ms = await _timed(t, fn(fetch, ids))
        expected = [f"item-{i}" for i in ids]
        t.expect(got == expected, tr("it returned {value}; expected {expected}",
                                     value=short(got), expected=repr(expected)))
        _expect_concurrent(t, fetch, ids, ms)

    async with t.case(tr("no ids")):
        fetch = FakeFetch()
        got = await t.run(fn(fetch, []))
        t.expect(got == [], tr("it returned {value} for ids=[]; expected []", value=short(got)))
        t.expect(not fetch.calls, tr("it called fetch {calls} times for no ids",
                                     calls=len(fetch.calls)))

    async with t.case(tr("duplicate ids [3, 2, 3]")):
        ids = [3, 2, 3]
        fetch = FakeFetch()
        got, ms = await _timed(t, fn(fetch, ids))
        expected = ["item-3", "item-2", "item-3"]
        t.expect(got == expected, tr("it returned {value}; expected {expected} (one result per id, "
                                     "duplicates included)", value=short(got), expected=repr(expected)))
        _expect_concurrent(t, fetch, ids, ms)

    async with t.case(tr("a failing fetch: its exception reaches the caller, no fetch left running")):
        fetch = FakeFetch(fail={2})
        await _expect_error_propagates(t, fn(fetch, [1, 2, 3]), fetch)


@exercise("in_completion_order", kind="async", params=["fetch", "ids"],
          hints=(
              'You need two things per result: the id, and the moment it finished. Something in '
              'lesson 02 hands you awaitables in the order they finish.',
              'What it hands you does not say which id it belongs to. Make each awaitable carry its '
              'id along with its result (a small coroutine of your own around fetch).',
              'If one fetch fails, the others are still running: hold them as Tasks, and on the way '
              'out cancel the ones still running and wait for them.'))
async def _in_completion_order(fn, t):
    async with t.case(tr("3 ids: pairs in the order the fetches finished")):
        ids = [1, 2, 3]
        fetch = FakeFetch()
        got, ms = await _timed(t, fn(fetch, ids))
        expected = [(2, "item-2"), (3, "item-3"), (1, "item-1")]
        if fetch.max_in_flight == 1 and len(fetch.calls) == len(ids):
            _expect_concurrent(t, fetch, ids, ms)
        if isinstance(got, (list, tuple)) and got and not isinstance(got[0], tuple):
            t.expect(False, tr("it returned {value}; expected (id, result) pairs such as {expected}",
                               value=short(got), expected=repr(expected)))
        if isinstance(got, (list, tuple)) and list(got) == [(i, f"item-{i}") for i in ids]:
            t.expect(False, tr("it returned {value}: the order of ids; expected the order the "
                               "fetches finished, {expected}", value=short(got), expected=repr(expected)))
        t.expect(got == expected, tr("it returned {value}; expected {expected} (fetch(2) takes 20 ms, "
                                     "fetch(3) 130 ms, fetch(1) 250 ms)",
                                     value=short(got), expected=repr(expected)))
        _expect_concurrent(t, fetch, ids, ms)

    async with t.case(tr("5 ids run all at once")):
        ids = [4, 1, 5, 2, 3]
        fetch = FakeFetch()
        got, ms = await _timed(t, fn(fetch, ids))
        expected = [(i, f"item-{i}") for i in (2, 5, 3, 4, 1)]
        t.expect(got == expected, tr("it returned {value}; expected {expected}",
                                     value=short(got, 120), expected=repr(expected)))
        _expect_concurrent(t, fetch, ids, ms)

    async with t.case(tr("no ids")):
        fetch = FakeFetch()
        got = await t.run(fn(fetch, []))
        t.expect(got == [], tr("it returned {value} for ids=[]; expected []", value=short(got)))
        t.expect(not fetch.calls, tr("it called fetch {calls} times for no ids",
                                     calls=len(fetch.calls)))

    async with t.case(tr("duplicate ids [3, 2, 3]")):
        ids = [3, 2, 3]
        fetch = FakeFetch()
        got, ms = await _timed(t, fn(fetch, ids))
        expected = [(2, "item-2"), (3, "item-3"), (3, "item-3")]
        t.expect(got == expected, tr("it returned {value}; expected {expected} (one pair per id, "
                                     "duplicates included)", value=short(got), expected=repr(expected)))
        _expect_concurrent(t, fetch, ids, ms)

    async with t.case(tr("a failing fetch: its exception reaches the caller, no fetch left running")):
        fetch = FakeFetch(fail={2})
        await _expect_error_propagates(t, fn(fetch, [1, 2, 3]), fetch)
