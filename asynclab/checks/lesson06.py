"""Checks for the exercises of lesson 06: waiting, racing, timeouts.

race(*coro_fns)                                      first success wins, the others are cancelled
retry(coro_fn, attempts=3, timeout=1.0, backoff=0.1) attempts under a time limit, doubling pauses
"""

import asyncio
import inspect

from ..language import tr
from .core import CASE_LIMIT, NO_ERROR as _NOTHING, exercise, outcome as _outcome, short

LIMIT = 1.0      # seconds per case: a right answer needs a fraction of that


def _ended(state, otherwise):
    """How a racer ended ("result", "error", "cancelled" or None), in words."""
    words = {"result": tr("ran to its end"), "error": tr("failed"), "cancelled": tr("was cancelled")}
    return words.get(state, otherwise)


def _short(value):
    return short(value, 120)


class _Racer:
    """Simulated requests that remember how often they were started, and how each ended."""

    def __init__(self):
        self.calls = []
        self.active = 0
        self.most = 0
        self.ended = {}           # name -> "result" | "error" | "cancelled"

    def make(self, name, delay, result=None, fail=None, cancelled=False):
        """A coroutine function (no arguments) for the learner to call.  With `cancelled`, the
        request ends cancelled after `delay` on its own (as when someone else cancels it)."""
        async def request():
            self.calls.append(name)
            self.active += 1
            self.most = max(self.most, self.active)
            try:
                await asyncio.sleep(delay)
                if cancelled:
                    raise asyncio.CancelledError()
            except asyncio.CancelledError:
                self.ended[name] = "cancelled"
                raise
            finally:
                self.active -= 1
            if fail is not None:
                self.ended[name] = "error"
                raise fail
            self.ended[name] = "result"
            return result
        request.__name__ = request.__qualname__ = f"request_{name}"
        return request


async def _caught(t, awaitable, limit=LIMIT):
    return await t.caught(awaitable, limit)


def _did(got, err):
    """What the answer did, in words."""
    if err is not _NOTHING:
        return tr("raised {error}", error=repr(err))
    return tr("returned {value}", value=_short(got))


async def _settle():
    await asyncio.sleep(0.02)       # a moment for cancelled work to wind down


@exercise("race", kind="async", params=["f1", "f2"],
          hints=(
              'Start every racer at once, then wait for whichever finishes first, again and again: '
              'lesson 06 shows a wait that returns after the first completion.',
              'A racer that finished may have failed, or ended cancelled: only a real result wins. '
              'Keep waiting for the others until one succeeds or none is left.',
              'However race ends (a winner, every racer lost, or race itself cancelled), the tasks '
              "still running are cancelled and waited for; an ExceptionGroup reports the losers' "
              'errors.'))
async def _race(fn, t):
    async with t.case(tr("B answers first")):
        r = _Racer()
        got, err = await _caught(t, fn(r.make("A", 0.15, "a"), r.make("B", 0.03, "b"),
                                       r.make("C", 0.10, "c")))
        t.expect(sorted(r.calls) == ["A", "B", "C"],
                 tr("it called the functions {calls}; expected each of A, B, C called once",
                    calls=r.calls))
        t.expect(r.most == 3, tr("at most {most} of the 3 requests ran at once; all 3 should run "
                                 "at the same time", most=r.most))
        t.expect(err is _NOTHING and got == "b",
                 tr("it {did}; expected 'b' (B answers after 30 ms, A and C after 150 and 100 ms)",
                    did=_did(got, err)))
        await _settle()
        losers = {n: _ended(r.ended.get(n), tr("still running")) for n in ("A", "C")}
        t.expect(all(r.ended.get(n) == "cancelled" for n in ("A", "C")),
                 tr("the losers were not all cancelled: {losers}; they ran on after race had its "
                    "winner", losers=losers))

    async with t.case(tr("the first to finish fails, a later one succeeds")):
        r = _Racer()
        got, err = await _caught(t, fn(r.make("A", 0.01, fail=ConnectionError("A down")),
                                       r.make("B", 0.05, "b"), r.make("C", 0.15, "c")))
        t.expect(err is _NOTHING, tr("it raised {error} when A failed; expected 'b' (the first "
                                     "*success*: a failure does not end the race while others run)",
                                     error=repr(err)))
        t.expect(got == "b", tr("it returned {value}; expected 'b' (A failed at 10 ms, "
                                "B succeeded at 50 ms)", value=_short(got)))
        await _settle()
        t.expect(r.ended.get("C") == "cancelled",
                 tr("C {state} after B won; expected it to be cancelled",
                    state=_ended(r.ended.get("C"), tr("was still running"))))

    async with t.case(tr("all fail")):
        r = _Racer()
        errors = [ValueError("A bad"), ConnectionError("B down"), KeyError("C")]
        got, err = await _caught(t, fn(r.make("A", 0.03, fail=errors[0]),
                                       r.make("B", 0.01, fail=errors[1]),
                                       r.make("C", 0.02, fail=errors[2])))
        t.expect(err is not _NOTHING, tr("it returned {value}; expected an ExceptionGroup of the "
                                         "3 errors (every racer failed)", value=_short(got)))
        t.expect(isinstance(err, BaseExceptionGroup),
                 tr("it raised {error_type}: {message}; expected an ExceptionGroup holding all 3 "
                    "errors", error_type=type(err).__name__, message=str(err)))
        inside = list(err.exceptions)
        t.expect(len(inside) == 3 and all(any(e is x for x in inside) for e in errors),
                 tr("the ExceptionGroup holds {inside}; expected the 3 racers' own errors {errors}",
                    inside=repr(inside), errors=repr(errors)))

    async with t.case(tr("a racer that ends cancelled on its own, while race is not cancelled")):
        r = _Racer()
        try:
            got, err = await _caught(t, fn(r.make("A", 0.01, cancelled=True), r.make("B", 0.05, "b")))
        except asyncio.CancelledError as cancelled:
            if asyncio.current_task().cancelling():
                raise                        # the check itself is being stopped
            got, err = _NOTHING, cancelled
        t.expect(not isinstance(err, asyncio.CancelledError),
                 tr("it raised CancelledError when racer A ended cancelled, although nobody cancelled "
                    "race itself: the caller would think it was cancelled; expected 'b' (a cancelled "
                    "racer has lost, the others race on)"))
        t.expect(err is _NOTHING and got == "b", tr("it {did}; expected 'b' (A ended "
                 "cancelled at 10 ms, B succeeded at 50 ms)", did=_did(got, err)))

    async with t.case(tr("one racer")):
        r = _Racer()
        got, err = await _caught(t, fn(r.make("only", 0.01, "x")))
        t.expect(err is _NOTHING and got == "x", tr("it {did}; expected 'x'", did=_did(got, err)))

    async with t.case(tr("a racer that fails at once, before any await")):
        r = _Racer()

        async def broken():
            raise RuntimeError("broken at once")

        got, err = await _caught(t, fn(broken, r.make("B", 0.02, "b")))
        t.expect(err is _NOTHING and got == "b", tr("it {did}; expected 'b'", did=_did(got, err)))


class _Flaky:
    """A coroutine function whose attempts behave as told: "ok", "hang", or an exception."""

    def __init__(self, plan, result="done"):
        self.plan = list(plan)
        self.result = result
        self.starts = []            # loop.time() at each call
        self.cancelled = []         # attempt numbers that saw CancelledError

    async def __call__(self):
        loop = asyncio.get_running_loop()
        number = len(self.starts) + 1
        self.starts.append(loop.time())
        step = self.plan[min(number, len(self.plan)) - 1]
        try:
            if step == "hang":
                await asyncio.sleep(30)
            await asyncio.sleep(0.005)
        except asyncio.CancelledError:
            self.cancelled.append(number)
            raise
        if isinstance(step, BaseException):
            raise step
        return f"{self.result} on attempt {number}"


@exercise("retry", kind="async", params=["coro_fn"],
          hints=(
              'Each attempt needs a fresh coroutine: call coro_fn again every time (lesson 01: a '
              'coroutine can be awaited only once).',
              'Give each attempt its own deadline, as lesson 05 did for one await; between two '
              'attempts pause, twice as long each time, and do not pause after the last one.',
              'Only the errors in RETRYABLE may go away by themselves: retry those. Anything else (a '
              'TypeError, a bug) would fail the same way again, so let it out at once. When every '
              'attempt failed, raise the last error.'))
async def _retry(fn, t):
    async with t.case(tr("succeeds at once")):
        f = _Flaky(["ok"])
        got, err = await _caught(t, fn(f, attempts=3, timeout=0.5, backoff=0.05))
        t.expect(got == "done on attempt 1",
                 tr("it {did}; expected 'done on attempt 1'", did=_did(got, err)))
        t.expect(len(f.starts) == 1, tr("it called coro_fn {count} times; once is enough "
                                        "when the first attempt succeeds", count=len(f.starts)))

    async with t.case(tr("3 failures, then success; pauses of 30, 60 and 120 ms")):
        f = _Flaky([ConnectionError("reset"), ConnectionError("reset again"), TimeoutError("slow"),
                    "ok"])
        got, err = await _caught(t, fn(f, attempts=4, timeout=0.5, backoff=0.03))
        t.expect(got == "done on attempt 4",
                 tr("it {did}; expected 'done on attempt 4'", did=_did(got, err)))
        t.expect(len(f.starts) == 4, tr("it called coro_fn {count} times; expected 4",
                                        count=len(f.starts)))
        gaps = [b - a - 0.005 for a, b in zip(f.starts, f.starts[1:])]   # minus each attempt's 5 ms
        shown = ", ".join(f"{g * 1000:.0f} ms" for g in gaps)
        t.expect(gaps[0] >= 0.027, tr("it paused {pauses} between attempts; the first pause should "
                                      "be the backoff, 30 ms", pauses=shown))
        t.expect(gaps[1] >= 0.054 and gaps[2] >= 0.108,
                 tr("it paused {pauses} between attempts; each pause should be double the one "
                    "before: 30, 60, 120 ms", pauses=shown))
        t.expect(max(gaps) < 0.8, tr("it paused {pauses} between attempts; expected 30, 60 and "
                                     "120 ms (backoff is in seconds)", pauses=shown))

    async with t.case(tr("the first attempt hangs: it times out and is cancelled")):
        f = _Flaky(["hang", "ok"])
        aw = fn(f, attempts=2, timeout=0.15, backoff=0.01)
        if inspect.isawaitable(aw):
            try:
                async with asyncio.timeout(0.6):         # _outcome keeps the answer's own TimeoutError
                    kind, value = await _outcome(aw)
            except TimeoutError:
                t.expect(False, tr("it was still waiting for the first attempt after 600 ms, "
                                   "although timeout=0.15: the attempt that hangs was never given a "
                                   "time limit"))
            got, err = (value, _NOTHING) if kind == "ok" else (_NOTHING, value)
        else:
            got, err = await _caught(t, aw)
        t.expect(got == "done on attempt 2",
                 tr("it {did}; expected 'done on attempt 2' (attempt 1 hangs and must be stopped "
                    "after 150 ms)", did=_did(got, err)))
        t.expect(f.cancelled == [1], tr("the attempt that ran out of time was not cancelled "
                                        "(cancelled attempts: {cancelled}): it would go on running, "
                                        "unwatched, next to the later attempts", cancelled=f.cancelled))

    async with t.case(tr("every attempt fails: the last error is raised")):
        errors = [ConnectionError("try 1"), ConnectionError("try 2"), ConnectionError("try 3")]
        f = _Flaky(errors)
        got, err = await _caught(t, fn(f, attempts=3, timeout=0.5, backoff=0.01))
        t.expect(err is not _NOTHING, tr("it returned {value}; expected it to raise the last "
                                         "error, ConnectionError('try 3')", value=_short(got)))
        t.expect(err is errors[2], tr("it raised {error}; expected the last error itself, "
                                      "ConnectionError('try 3')", error=repr(err)))
        t.expect(len(f.starts) == 3, tr("it called coro_fn {count} times; expected 3 (attempts=3)",
                                        count=len(f.starts)))

    async with t.case(tr("every attempt times out: TimeoutError, no pause after the last")):
        f = _Flaky(["hang"])
        loop = asyncio.get_running_loop()
        started = loop.time()
        # A pause after the last attempt too (0.5 s) makes about 810 ms: the limit leaves room
        # for a busy machine, so that the sentence below, not the limit, names that mistake.
        got, err = await _caught(t, fn(f, attempts=2, timeout=0.03, backoff=0.25), limit=CASE_LIMIT)
        took = loop.time() - started
        t.expect(isinstance(err, TimeoutError),
                 tr("it {did}; expected TimeoutError (a timeout is the last attempt's error)",
                    did=_did(got, err)))
        t.expect(f.cancelled == [1, 2], tr("attempts {cancelled} were cancelled; expected both [1, 2]",
                                           cancelled=f.cancelled))
        t.expect(took < 0.5, tr("it took {ms} ms: 2 attempts of 30 ms and one 250 ms pause "
                                "need about 310 ms; do not pause after the last attempt",
                                ms=f"{took * 1000:.0f}"))

    for error in (TypeError("f() takes 0 arguments"), ValueError("bad input")):
        error_name = type(error).__name__
        async with t.case(tr("a {error_type} is raised at once, not retried", error_type=error_name)):
            f = _Flaky([error, "ok"])
            got, err = await _caught(t, fn(f, attempts=3, timeout=0.5, backoff=0.01))
            t.expect(len(f.starts) == 1,
                     tr("it called coro_fn {count} times after a {error_type} ({did}); a {error_type} "
                        "fails the same way every time, so it should propagate after one call (only "
                        "ConnectionError and TimeoutError may be retried)",
                        count=len(f.starts), error_type=error_name, did=_did(got, err)))
            t.expect(err is error, tr("it {did}; expected the {error_type} itself, raised at once",
                                      did=_did(got, err), error_type=error_name))

    async with t.case(tr("attempts < 1")):
        f = _Flaky(["ok"])
        got, err = await _caught(t, fn(f, attempts=0, timeout=0.5, backoff=0.01))
        t.expect(isinstance(err, ValueError),
                 tr("retry(coro_fn, attempts=0) {did}; expected ValueError", did=_did(got, err)))
        t.expect(not f.starts, tr("with attempts=0 it still called coro_fn"))

    async with t.case(tr("default parameters")):
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            params = {}
        want = {"attempts": 3, "timeout": 1.0, "backoff": 0.1}
        got = {k: params[k].default if k in params else tr("missing") for k in want}
        t.expect(got == want, tr("its parameters default to {got}; expected {want}", got=got, want=want))
