"""Checks for the exercises of lesson 05: errors and cancellation.

gather_settled(*aws)                 every outcome, in argument order; cancelling it cancels the children
with_timeout(aw, seconds, default)   the result in time, else `default` with the work cancelled
"""

import asyncio
import functools
import inspect

from ..language import tr
from .core import NO_ERROR as _NO_ERROR, exercise, short



class _Probe:
    """Simulated work that records how many ran at once and whether it was cancelled."""

    def __init__(self, t):
        self.active = 0
        self.most = 0
        self.cancelled = []
        self.finished = []
        self.coros = []
        t.__dict__.setdefault("probes", []).append(self)

    def work(self, name, delay, result=None, fail=None):
        """A coroutine of simulated work (remembered, so that the check can tidy up after)."""
        coro = self._work(name, delay, result, fail)
        self.coros.append(coro)
        return coro

    async def _work(self, name, delay, result=None, fail=None):
        self.active += 1
        self.most = max(self.most, self.active)
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self.cancelled.append(name)
            raise
        finally:
            self.active -= 1
        self.finished.append(name)
        if fail is not None:
            raise fail
        return result


LIMIT = 1.0      # seconds per case: a right answer needs a tenth of that


async def _caught(t, awaitable, limit=LIMIT):
    return await t.caught(awaitable, limit)


def _did(got, err):
    """What the answer did, in words."""
    if err is not _NO_ERROR:
        return tr("raised {error}", error=repr(err))
    return tr("returned {value}", value=_describe_list(got))


def _describe_list(got):
    return short(got, 160)


def _tidy(cases):
    """Close the coroutines a wrong answer never awaited (no "never awaited" warnings later)."""
    @functools.wraps(cases)
    async def run(fn, t):
        try:
            await cases(fn, t)
        finally:
            for probe in t.__dict__.get("probes", []):
                for coro in probe.coros:
                    if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
                        coro.close()
    return run


def _expect_pairs(t, got, expected, note):
    """The list of pairs must be `expected`, in argument order."""
    t.expect(isinstance(got, list),
             tr("it returned {kind} {value}; expected a list of pairs",
                kind=type(got).__name__, value=_describe_list(got)))
    if got != expected and sorted(map(repr, got)) == sorted(map(repr, expected)):
        t.expect(False, tr("it returned {value}: the right pairs, in the wrong order (they must "
                           "follow the order of the arguments, not the order they finished)",
                           value=_describe_list(got)))
    if got == expected:
        return
    if note:
        t.expect(False, tr("it returned {value}; expected {expected} {note}",
                           value=_describe_list(got), expected=repr(expected), note=note))
    t.expect(False, tr("it returned {value}; expected {expected}",
                       value=_describe_list(got), expected=repr(expected)))


async def _contained(awaitable):
    """The answer in a task of its own: whatever it raises (even KeyboardInterrupt) stays data,
    except the cancellation the check itself asks for."""
    try:
        return "ok", await awaitable
    except asyncio.CancelledError:
        raise
    except BaseException as err:
        return "raised", err


def _ending(task):
    """How a finished `_contained` task ended, in words."""
    if task.cancelled():
        return tr("was cancelled")
    kind, value = task.result()
    if kind == "raised":
        return tr("raised {error}", error=repr(value))
    return tr("returned {value}", value=_describe_list(value))


async def _stop(tasks):
    """Cancel whatever a wrong answer left running, so nothing leaks out of the check."""
    left = [t for t in tasks if not t.done()]
    for t in left:
        t.cancel()
    if left:
        await asyncio.wait(left, timeout=0.5)


@exercise("gather_settled", kind="async", params=["aw1", "aw2"],
          hints=(
              'Lesson 05 showed a way to wait for several awaitables without the first error ending '
              'the wait.',
              'That way turns every failure into an item of the result list, in argument order; then '
              "each item becomes an ('ok', ...) or ('error', ...) pair.",
              'When gather_settled itself is cancelled, its children must be cancelled too: the tool '
              'from lesson 05 does that for you, a loop of your own awaits does not.'))
@_tidy
async def _gather_settled(fn, t):
    async with t.case(tr("2 successes and a failure")):
        p = _Probe(t)
        boom = ValueError("boom")
        got = await t.run(fn(p.work("a", 0.09, result="A"), p.work("b", 0.03, fail=boom),
                             p.work("c", 0.06, result="C")), limit=LIMIT)
        expected = [("ok", "A"), ("error", boom), ("ok", "C")]
        _expect_pairs(t, got, expected, tr("(the exception object itself, as ('error', exc), in "
                                           "the place of the argument that raised it)"))
        t.expect(p.most == 3, tr("at most {most} of the 3 ran at once; all 3 should run at the same "
                                 "time, not one after another", most=p.most))

    async with t.case(tr("every one fails")):
        p = _Probe(t)
        errs = [KeyError("k"), ConnectionError("down")]
        got = await t.run(fn(p.work("a", 0.02, fail=errs[0]), p.work("b", 0.01, fail=errs[1])),
                          limit=LIMIT)
        expected = [("error", errs[0]), ("error", errs[1])]
        _expect_pairs(t, got, expected, "")

    async with t.case(tr("no awaitables")):
        got = await t.run(fn(), limit=LIMIT)
        t.expect(got == [], tr("it returned {value}; expected []", value=_describe_list(got)))

    async with t.case(tr("tasks as well as coroutines")):
        p = _Probe(t)
        task = asyncio.create_task(p.work("t", 0.02, result="T"))
        got = await t.run(fn(task, p.work("c", 0.01, result="C")), limit=LIMIT)
        _expect_pairs(t, got, [("ok", "T"), ("ok", "C")], "")

    async with t.case(tr("cancelled midway")):
        p = _Probe(t)
        children = [asyncio.create_task(p.work(n, 5.0), name=n) for n in ("x", "y", "z")]
        outer = asyncio.create_task(_contained(fn(*children)))
        try:
            await asyncio.sleep(0.05)
            if outer.done():
                t.expect(False, tr("it ended after 50 ms ({ending}) although its children take 5 s; "
                                   "it should wait for all of them", ending=_ending(outer)))
            outer.cancel()
            done, _ = await asyncio.wait([outer], timeout=1.0)
            t.expect(outer in done, tr("after being cancelled it did not end within 1 s"))
            await asyncio.sleep(0.02)          # a moment for the children to wind down
            running = [c.get_name() for c in children if not c.done()]
            t.expect(not running, tr("after gather_settled was cancelled, {n} of its 3 children were "
                                     "still running ({names}); cancelling it should cancel every one "
                                     "of them", n=len(running), names=", ".join(running)))
            t.expect(outer.cancelled(), tr("when cancelled, it {ending}; it should end cancelled (as "
                                           "its caller asked)", ending=_ending(outer)))
        finally:
            await _stop(children + [outer])


@exercise("with_timeout", kind="async", params=["aw", "seconds"],
          hints=(
              'Lesson 05 showed a way to put a deadline around one await, so that the work is '
              'cancelled when the time is up.',
              'When that deadline passes, the work is cancelled and a TimeoutError comes out of the '
              'block: catch it there and give back the default instead.',
              'Not every TimeoutError is yours: the work itself may raise one long before the '
              'deadline. Only your own deadline turns into the default; any other error goes on to '
              'the caller.'))
@_tidy
async def _with_timeout(fn, t):
    async with t.case(tr("in time")):
        p = _Probe(t)
        got, err = await _caught(t, fn(p.work("w", 0.02, result="fast"), 0.5))
        t.expect(got == "fast", tr("it {did}; expected 'fast' (the work took 20 ms, the limit was "
                                   "500 ms)", did=_did(got, err)))

    async with t.case(tr("too slow: default None, and the work is cancelled")):
        p = _Probe(t)
        loop = asyncio.get_running_loop()
        started = loop.time()
        got, err = await _caught(t, fn(p.work("w", 1.0, result="late"), 0.05), limit=0.8)
        took = loop.time() - started
        t.expect(err is _NO_ERROR and got is None,
                 tr("it {did}; expected None (the default) for work that takes 1 s under a 50 ms "
                    "limit", did=_did(got, err)))
        t.expect(took < 0.5, tr("it took {ms} ms to give up; the limit was 50 ms",
                                ms=f"{took * 1000:.0f}"))
        await asyncio.sleep(0.02)
        t.expect(p.cancelled == ["w"], tr("the timed-out work was not cancelled: it was still "
                                          "running after with_timeout returned (it should see "
                                          "CancelledError)"))

    async with t.case(tr("too slow, default='fallback'")):
        p = _Probe(t)
        got, err = await _caught(t, fn(p.work("w", 1.0), 0.03, "fallback"), limit=0.8)
        t.expect(got == "fallback", tr("it {did}; expected 'fallback'", did=_did(got, err)))

    async with t.case(tr("a task that runs late is cancelled")):
        p = _Probe(t)
        task = asyncio.create_task(p.work("task", 1.0))
        try:
            got, err = await _caught(t, fn(task, 0.03, default="d"), limit=0.8)
            t.expect(got == "d", tr("it {did}; expected 'd'", did=_did(got, err)))
            await asyncio.sleep(0.02)
            if not task.done():
                t.expect(False, tr("the task was not cancelled after its time ran out (it is still "
                                   "running)"))
            t.expect(task.cancelled(), tr("the task was not cancelled after its time ran out (it is "
                                          "done)"))
        finally:
            await _stop([task])

    async with t.case(tr("an error in the work propagates")):
        p = _Probe(t)
        boom = ValueError("bad input")
        got, err = await _caught(t, fn(p.work("w", 0.01, fail=boom), 0.5))
        t.expect(err is not _NO_ERROR,
                 tr("it returned {value}; expected the work's ValueError('bad input') to be raised "
                    "(only a timeout gives the default)", value=repr(got)))
        t.expect(err is boom, tr("it raised {error}, not the work's own ValueError('bad input')",
                                 error=repr(err)))
