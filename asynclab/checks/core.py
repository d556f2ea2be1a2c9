"""Run a learner's exercise answer on several cases and say plainly what is right.

Safety first: whatever the answer does (awaits forever, blocks with time.sleep, spins
in a busy loop, raises CancelledError or KeyboardInterrupt), the notebook must go on.
So the cases run in a worker thread with an event loop of its own, each case under
a time limit, and the whole check under a time limit after which the thread is
abandoned (Python cannot kill a thread; a daemon thread dies with the kernel).
Nothing the answer raises reaches the learner as a traceback: it becomes a sentence.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import html
import inspect
import itertools
import os
import selectors
import sys
import sysconfig
import threading
import time

from ..language import tr

CASE_LIMIT = 2.0      # seconds one case may take
BEAT = 0.01           # the heartbeat's period on the check's loop
STALL = 0.15          # a heartbeat gap longer than this in a failed case: the loop was blocked
BLOCKED = 0.2         # ... in any case, a single gap this long
BLOCKED_TOTAL = 0.3   # ... or gaps of more than 50 ms adding up to this much
# A gap alone does not prove the answer blocked the loop: on a busy machine the operating system
# may simply not run the check's thread for a while.  So a watchdog thread looks, every SAMPLE
# seconds while the heartbeat is late, at where the check's thread is: a blocked loop is blamed
# only when it was seen inside the learner's own code at least SEEN times during the case.
SAMPLE = 0.02
SEEN = 3
CHECK_LIMIT = 6.0     # seconds a whole check may take, whatever happens
STUB_MESSAGE = "exercise not solved yet"
# The zh-CN exercises' stubs raise the same error with this message (tools/translations.py).
STUB_MESSAGES = (STUB_MESSAGE, "练习还没有完成")

_REGISTRY: dict = {}
_serial = itertools.count(1)


class _GiveUp(SystemExit):
    """Raised inside an abandoned check's thread to stop code that never yields.

    A SystemExit subclass, because asyncio lets SystemExit out of the event loop instead
    of storing it in a task, so the check's own loop ends too.
    """


def _stop_thread(thread):
    """Ask CPython to raise _GiveUp in `thread` at its next bytecode (stops a busy loop;
    a thread blocked in time.sleep() gets it when the sleep returns)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_GiveUp))


def _stop_leftovers(worker):
    """Stop threads this check's cases started (see run_in_thread) that still run, so an
    answer stuck in a busy loop does not keep a core and the GIL busy.  Only this check's:
    another check may be running at the same time in another thread."""
    prefix = worker.name + "/"
    for other in threading.enumerate():
        if other.name.startswith(prefix):
            other.join(0.2)                  # one that is just finishing may finish
            if other.is_alive():
                _stop_thread(other)


def _quiet(loop, context):
    """The check's loop keeps asyncio's error reports to itself: the verdict says what matters."""


class CheckInterrupted(KeyboardInterrupt):
    """Kernel > Interrupt (or Ctrl-C) during a check.  Still a KeyboardInterrupt, so "Run All"
    stops there and a script ends; IPython shows its sentence instead of a traceback."""

    def __init__(self, lines):
        super().__init__("\n".join(lines))
        self.lines = lines

    def _render_traceback_(self):
        return self.lines


def _interrupted(name, worker, t):
    """Stop the interrupted check's threads now (an answer that spins would otherwise keep a
    core busy until the kernel restarts) and say so in a sentence."""
    t.given_up = True                        # no further case starts; the watchdog ends
    _stop_leftovers(worker)                  # threads the cases started (run_in_thread)
    _stop_thread(worker)
    worker.join(0.5)
    if worker.is_alive():
        if t.current:
            line = tr("■ {name}: you interrupted the check; your code (in the case {case}) is still "
                      "blocked in a background thread, until that call returns or you restart the "
                      "kernel.", name=name, case=t.current)
        else:
            line = tr("■ {name}: you interrupted the check; your code is still blocked in a "
                      "background thread, until that call returns or you restart the kernel.",
                      name=name)
        return CheckInterrupted([line])
    if t.current:
        line = tr("■ {name}: you interrupted the check, and it stopped your code (in the case "
                  "{case}).", name=name, case=t.current)
    else:
        line = tr("■ {name}: you interrupted the check, and it stopped your code.", name=name)
    return CheckInterrupted([line])


class CaseFailed(Exception):
    """Raised by a check's own code to say one case went wrong, in a sentence."""


class CheckResult:
    """What a check found.  `.passed` is True only when every case passed."""

    def __init__(self, exercise, status, lines, seconds, cases=0, failed=0):
        self.exercise = exercise
        self.status = status            # "passed" | "failed" | "not solved" | "timeout" | "unusable"
        self.lines = lines
        self.seconds = seconds
        self.cases = cases
        self.failed = failed

    @property
    def passed(self):
        return self.status == "passed"

    @property
    def message(self):
        return "\n".join(self.lines)

    def __repr__(self):
        return self.message

    def _repr_html_(self):
        colour = {"passed": "#e5f5e0", "not solved": "#f0f0f0"}.get(self.status, "#fee0d2")
        body = "<br>".join(html.escape(line) for line in self.lines)
        return (f'<div style="background:{colour};padding:6px 10px;border-radius:4px;'
                f'font-family:sans-serif">{body}</div>')


class Cases:
    """Handed to an exercise's case code: runs the learner's code and collects verdicts.

        async with t.case("3 ids, limit 2"):
            got = await t.run(fn(...))
            t.expect(got == [...], f"it returned {got!r}, expected [...]")

    A case that raises (CaseFailed from `expect`/`run`, or anything from the learner's
    code) is reported with its description and the next case runs; a stub ends the check.
    """

    def __init__(self, name):
        self.name = name
        self.current = None
        self.passed = []
        self.failures = []
        self.given_up = False
        self.hung = False
        self.beats = []              # the heartbeat's ticks (perf_counter), when it runs
        self.seen_in_code = []       # (perf_counter, (line, function)) while the heartbeat was late
        self.excused = []            # (start, end): the check's own blocking work (gc.collect)
        self.case_since = time.perf_counter()       # when the current case began

    def stall(self, since):
        """(longest gap, total of gaps over 50 ms) between heartbeat ticks since `since`,
        leaving out the time the check itself blocked the loop."""
        ticks = [since] + [b for b in self.beats if b > since] + [time.perf_counter()]
        gaps = []
        for a, b in zip(ticks, ticks[1:]):
            own = sum(min(b, e) - max(a, s) for s, e in self.excused if s < b and e > a)
            gaps.append(b - a - own)
        return max(gaps), sum(g for g in gaps if g > 0.05)

    def lateness(self):
        """How late the heartbeat ran at worst since the current case began (seconds; 0 without
        a heartbeat): the machine's lateness, which timings of the answer's may show too."""
        if not self.beats:
            return 0.0
        return max(0.0, self.stall(self.case_since)[0] - BEAT)

    def blocked_by_answer(self, since):
        """Where the learner's code held the loop since `since` ("line 4 of fn"), or None when
        the watchdog never saw it there often enough (a late heartbeat was the machine's doing)."""
        seen = [where for when, where in self.seen_in_code if when > since]
        if len(seen) < SEEN:
            return None
        line, function = max(set(seen), key=seen.count)
        return tr("line {line} of {function}", line=line, function=function)

    def collect_garbage(self):
        """gc.collect(), which can hold the loop for a while: not the answer's doing."""
        start = time.perf_counter()
        gc.collect()
        self.excused.append((start, time.perf_counter()))

    async def run(self, awaitable, limit=CASE_LIMIT):
        """Await the learner's `awaitable` under a time limit (CaseFailed if it runs over)."""
        if not inspect.isawaitable(awaitable):
            raise CaseFailed(tr("it returned {value} where something to await was expected (is "
                                "it an `async def`?)", value=short(awaitable)))
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                return await awaitable
        except TimeoutError:
            if not deadline.expired():       # the answer's own TimeoutError, not our limit
                raise
            self.hung = True                 # it would hang in every later case too: stop after this one
            raise CaseFailed(tr("it did not finish within {limit} s (does it await something that "
                                "never happens, such as a lock or a queue no one fills?)",
                                limit=f"{limit:g}")) from None

    async def caught(self, awaitable, limit=CASE_LIMIT):
        """Like `run`, but an exception from the answer is returned to be judged, not a failure:
        returns (result, NO_ERROR) or (NO_ERROR, exception).  The stub still ends the check."""
        if not inspect.isawaitable(awaitable):
            await self.run(awaitable)        # raises CaseFailed: nothing awaitable came back
        kind, value = await self.run(outcome(awaitable), limit=limit)
        return (value, NO_ERROR) if kind == "ok" else (NO_ERROR, value)

    def expect(self, condition, sentence):
        """Fail the current case with `sentence` unless `condition` holds."""
        if not condition:
            raise CaseFailed(sentence)

    def case(self, description):
        """`async with t.case("..."):` runs one case; see the class docstring."""
        return _Case(self, description)


NO_ERROR = object()   # in (result, error) pairs: "it raised nothing"


async def outcome(awaitable):
    """("ok", value) or ("raised", exception).  The answer's own exceptions, TimeoutError
    included, are answers to judge; the stub is passed on, to end the check."""
    try:
        return "ok", await awaitable
    except Exception as err:
        if _is_stub(err):
            raise
        return "raised", err


class _Case:
    def __init__(self, cases, description):
        self.cases, self.description = cases, description

    async def __aenter__(self):
        if self.cases.given_up or self.cases.hung:
            raise _GiveUp()
        self.cases.current = self.description
        self.cases.case_since = time.perf_counter()

    async def __aexit__(self, exc_type, exc, tb):
        t = self.cases
        if _is_stub(exc) or isinstance(exc, _GiveUp) or self.cases.given_up:
            return False                     # not solved, or the check gave up: stop here
        if isinstance(exc, asyncio.CancelledError) and asyncio.current_task().cancelling():
            return False                     # the check itself is being stopped, not the answer
        if t.beats and not (isinstance(exc, CaseFailed) and _says_stood_still(str(exc))):
            # A blocked loop is the cause, whatever else went wrong: say so first (unless the
            # case's own sentence already says it, in its own words).
            longest, total = t.stall(t.case_since)
            stalled = longest > BLOCKED or total > BLOCKED_TOTAL or (exc is not None and longest > STALL)
            where = t.blocked_by_answer(t.case_since) if stalled else None
            if where:
                t.failures.append(tr(
                    "{case}: the event loop stood still for {ms} ms (a heartbeat task on it could not "
                    "run) while your code ran {where}: something there blocks the loop's thread, such "
                    "as time.sleep() or a long computation that never awaits",
                    case=self.description, ms=f"{longest * 1000:.0f}", where=where))
                return True
        if exc is None:
            t.passed.append(self.description)
            return False
        if isinstance(exc, CaseFailed):
            t.failures.append(tr("{case}: {problem}", case=self.description, problem=exc))
        else:
            t.failures.append(tr("{case}: {problem}", case=self.description, problem=describe_error(exc)))
        return True                          # go on with the next case


def _says_stood_still(text):
    """Whether a case's own sentence already says the event loop stood still (in English, or in
    the current language's words for it: the catalogue's translation of "stood still")."""
    return "stood still" in text or tr("stood still") in text


def _joined(items):
    """Case descriptions in a row, with the current language's separator."""
    return tr("; ").join(items)


def short(value, width=80):
    """repr(value), cut to `width` characters: what an answer returned, in a sentence."""
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def exercise(name, *, kind="async", params=None, hints=(), heartbeat=True):
    """Register the cases of exercise `name`.

    kind       "async" (an `async def`), "sync" (a plain `def`) or "class"
    params     the parameter names the learner's function must accept, in order
    hints      up to three hints, from a nudge to the idea, never the code: `hint(fn)` gives
               the next one (each in English, as the catalogue's key: `hint` translates it)
    heartbeat  run a heartbeat task on the check's loop, so that a case during which the loop
               stood still is told so (off where the answer must see only the check's own tasks)
    The decorated `async def cases(fn, t)` runs the cases (see `Cases`).
    """
    assert len(hints) <= 3, f"{name}: at most three hints"

    def register(cases):
        _REGISTRY[name] = dict(cases=cases, kind=kind, params=params, hints=tuple(hints),
                               heartbeat=heartbeat)
        return cases
    return register


_hints_given: dict = {}      # exercise name -> how many hints were given so far


class Hint:
    """One hint, shown as a sentence (text and HTML)."""

    def __init__(self, exercise, lines):
        self.exercise, self.lines = exercise, lines

    @property
    def message(self):
        return "\n".join(self.lines)

    def __repr__(self):
        return self.message

    def _repr_html_(self):
        body = "<br>".join(html.escape(line) for line in self.lines)
        return (f'<div style="background:#fff7dc;padding:6px 10px;border-radius:4px;'
                f'font-family:sans-serif">{body}</div>')


def hint(fn, exercise=None):
    """The next hint for an exercise: `hint(once)` (or `hint("once")`), one more each call.

    Up to three per exercise, from a nudge to the idea; after the last, the last again.
    """
    name = exercise or (fn if isinstance(fn, str) else getattr(fn, "__name__", None))
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        return Hint(name, [tr("There is no exercise called {name}. Pass your function itself, as "
                              "in hint(once), or its name: hint('once'). Exercises: {known}.",
                              name=repr(name), known=known)])
    hints = _REGISTRY[name]["hints"]
    if not hints:
        return Hint(name, [tr("No hints for {name}: read its description again, and what "
                              "check({name}) says.", name=name)])
    n = min(_hints_given.get(name, 0), len(hints) - 1)
    _hints_given[name] = n + 1
    lines = [tr("Hint {n} of {total} for {name}: {hint}", n=n + 1, total=len(hints), name=name,
                hint=tr(hints[n]))]
    if n + 1 < len(hints):
        lines.append(tr("(Run hint({name}) again for the next one.)", name=name))
    else:
        lines.append(tr("(That was the last hint. The solutions notebook has a full answer, once you "
                        "have tried.)"))
    return Hint(name, lines)


def describe_error(err):
    """One line for an exception from the learner's code, never a traceback."""
    if isinstance(err, NotImplementedError) and any(m in str(err) for m in STUB_MESSAGES):
        return tr("it is still the stub (it raises NotImplementedError)")
    text = str(err)
    what = type(err).__name__
    if isinstance(err, BaseExceptionGroup):
        inner = ", ".join(type(e).__name__ for e in err.exceptions)
        return tr("it raised {error} containing {inner}", error=f"{what}({text!r})", inner=inner)
    if "different event loop" in text or "attached to a different loop" in text:
        return tr("it raised {kind}: {text} -- create asyncio objects (Semaphore, Queue, ...) inside "
                  "your function, not in another cell", kind=what, text=text)
    if text:
        return tr("it raised {kind}: {text}", kind=what, text=text)
    return tr("it raised {kind}", kind=what)


def _precheck(name, fn, spec):
    """A sentence if `fn` cannot be the answer at all (wrong kind, wrong parameters)."""
    kind, params = spec["kind"], spec["params"]
    if kind == "class":
        if not inspect.isclass(fn):
            return tr("`{name}` should be a class (`class {name}: ...`), but it is {kind}.",
                      name=name, kind=type(fn).__name__)
        return None
    if not callable(fn) or inspect.isclass(fn):
        return tr("`{name}` should be a function, but it is {kind} {value}.",
                  name=name, kind=type(fn).__name__, value=f"{fn!r:.60}")
    is_async = inspect.iscoroutinefunction(fn)
    if kind == "async" and not is_async:
        return tr("`{name}` should be defined with `async def` (it is a plain function, so "
                  "calling it does not give something to await).", name=name)
    if kind == "sync" and is_async:
        return tr("`{name}` should be a plain `def`, not `async def`: it is called from code "
                  "that does not await it.", name=name)
    if params is not None:
        try:
            inspect.signature(fn).bind(*params)
        except TypeError:
            try:
                got = str(inspect.signature(fn))
            except (TypeError, ValueError):
                got = "(?)"
            return tr("`{name}` should take the parameters ({params}), but it takes {got}.",
                      name=name, params=", ".join(params), got=got)
        except ValueError:
            pass
    return None


def run_in_thread(fn, *args, limit=CASE_LIMIT):
    """For cases of synchronous exercises: call fn(*args) in a thread of its own, under a time limit.

    Returns ("result", value) | ("error", exception) | ("timeout", None); a thread that runs
    over is asked to stop (see _stop_thread) and left behind.
    """
    box = {}

    def call():
        try:
            box["result"] = fn(*args)
        except BaseException as err:        # the learner's code, whatever it raised
            box["error"] = err

    # Named after the check's own thread, so that the check can stop it if it is stuck.
    thread = threading.Thread(target=call, name=threading.current_thread().name + "/call",
                              daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        _stop_thread(thread)
        return "timeout", None
    return ("error", box["error"]) if "error" in box else ("result", box.get("result"))


def check(fn, exercise=None, *, limit=CHECK_LIMIT):
    """Check an exercise answer and show what is right and what is not.

    `exercise` defaults to the function's name.  A plain call (no await): it returns
    within `limit` seconds whatever `fn` does, and leaves the kernel usable.
    """
    started = time.perf_counter()
    name = exercise or getattr(fn, "__name__", None)
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        return CheckResult(name, "unusable", [tr(
            "There is no exercise called {name} to check. Pass your function itself, as in "
            "check(once), or name it: check(my_fn, exercise='once'). Exercises: {known}.",
            name=repr(name), known=known)], 0.0)
    spec = _REGISTRY[name]
    problem = _precheck(name, fn, spec)
    if problem:
        return CheckResult(name, "unusable", [tr("✘ {name}: {problem}", name=name, problem=problem)],
                           time.perf_counter() - started)

    t = Cases(name)
    box = {}

    def worker():
        async def main():
            asyncio.get_running_loop().set_exception_handler(_quiet)
            if not spec["heartbeat"]:
                return await spec["cases"](fn, t)
            t.beats.append(time.perf_counter())
            beating = asyncio.create_task(_heartbeat(t.beats), name="asynclab-check-heartbeat")
            try:
                await spec["cases"](fn, t)
            finally:
                beating.cancel()
        try:
            asyncio.run(main())
        except CaseFailed as err:
            t.failures.append(str(err))
        except _GiveUp:
            pass
        except BaseException as err:       # the learner's code, whatever it raised
            box["error"] = err
            if isinstance(err, (KeyboardInterrupt, SystemExit)):
                # It escaped the loop and left the case's tasks and coroutines suspended.  Their
                # clean-up code runs when they are collected: collect them now, in this thread
                # with no loop running, not later inside another check's loop.
                err.__traceback__ = None
                del err
                gc.collect()

    thread = threading.Thread(target=worker, name=f"asynclab-check-{name}-{next(_serial)}",
                              daemon=True)
    thread.start()
    try:
        if spec["heartbeat"]:
            threading.Thread(target=_watchdog, args=(thread, t), daemon=True,
                             name=f"{thread.name}-watchdog").start()
        thread.join(limit)
    except KeyboardInterrupt:                # Kernel > Interrupt while the answer runs
        raise _interrupted(name, thread, t) from None
    seconds = time.perf_counter() - started
    _stop_leftovers(thread)

    if thread.is_alive():
        t.given_up = True
        _stop_thread(thread)
        thread.join(0.5)
        if t.current:
            lines = [tr("✘ {name}: the check gave up after {limit} s in the case {case}: your code "
                        "never gave control back to the event loop. Something blocks its thread: "
                        "time.sleep(), a loop that never awaits, or another blocking call.",
                        name=name, limit=f"{limit:g}", case=t.current)]
        else:
            lines = [tr("✘ {name}: the check gave up after {limit} s: your code never gave control "
                        "back to the event loop. Something blocks its thread: time.sleep(), a loop "
                        "that never awaits, or another blocking call.", name=name, limit=f"{limit:g}")]
        seconds = time.perf_counter() - started
        if thread.is_alive():
            lines.append(tr("(It is still blocked in a background thread; it stops when that "
                            "call returns, or when you restart the kernel.)"))
        return CheckResult(name, "timeout", lines, seconds, len(t.passed), 1)
    err = box.get("error")
    if err is not None and (not t.passed and not t.failures) and _is_stub(err):
        return CheckResult(name, "not solved", [tr(
            "… {name}: not solved yet. Replace the `raise NotImplementedError` line with your "
            "code, then run this check again.", name=name)], seconds)
    if err is not None:
        if t.current:
            t.failures.append(tr("{case}: {problem}", case=t.current, problem=describe_error(err)))
        else:
            t.failures.append(describe_error(err))
    total = len(t.passed) + len(t.failures)
    if not t.failures:
        cases = _joined(t.passed[:4] + (["..."] if total > 4 else []))
        return CheckResult(name, "passed", [
            tr("✔ {name}: all {total} cases passed ({cases}).", name=name, total=total, cases=cases)],
            seconds, total, 0)
    lines = [tr("✘ {name}: {failed} of {total} cases went wrong.", name=name,
                failed=len(t.failures), total=total)]
    lines += [f"  - {f}" for f in t.failures[:4]]
    if len(t.failures) > 4:
        lines.append(tr("  - ... and {more} more", more=len(t.failures) - 4))
    if t.hung:
        lines.append(tr("  The remaining cases were not run: they would wait just the same."))
    if t.passed:
        lines.append(tr("  Right: {cases}.", cases=_joined(t.passed[:3])))
    if spec["hints"]:
        given = _hints_given.get(name, 0)
        if given < len(spec["hints"]):
            lines.append(tr("  Stuck? hint({name}) gives hint {n} of {total}.", name=name,
                            n=given + 1, total=len(spec["hints"])))
    return CheckResult(name, "failed", lines, seconds, total, len(t.failures))


_ASYNCIO = os.path.dirname(asyncio.__file__)
_OURS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_STDLIB = sysconfig.get_paths()["stdlib"]


def _learner_frame(frame):
    """The learner's frame that holds the loop's thread, or None when the thread is in the loop's
    own machinery (waiting in select(), scheduling) or in the check's code."""
    if frame.f_code.co_filename.startswith(_ASYNCIO) or frame.f_code.co_filename == selectors.__file__:
        return None
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith((_ASYNCIO, _OURS)):
            return None                 # reached the loop (or the check) before any code of theirs
        if not path.startswith(_STDLIB):
            return frame                # their code, or a library it calls
        frame = frame.f_back
    return None


def _watchdog(worker, t):
    """While the check runs: whenever the heartbeat is late, note where the check's thread is."""
    while worker.is_alive() and not t.given_up:      # a given-up check's thread may live on
        time.sleep(SAMPLE)
        if not t.beats or time.perf_counter() - t.beats[-1] < 2 * SAMPLE:
            continue
        frame = sys._current_frames().get(worker.ident)
        mine = _learner_frame(frame) if frame is not None else None
        if mine is not None:
            t.seen_in_code.append((time.perf_counter(), (mine.f_lineno, mine.f_code.co_name)))
        del frame, mine


async def _heartbeat(beats):
    """Tick every BEAT seconds: a long gap between ticks means the loop's thread was blocked."""
    while True:
        await asyncio.sleep(BEAT)
        beats.append(time.perf_counter())
        if len(beats) > 5000:
            del beats[:2500]


def _is_stub(err):
    return isinstance(err, NotImplementedError) and any(m in str(err) for m in STUB_MESSAGES)
