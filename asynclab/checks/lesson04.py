"""Checks for the exercise of lesson 04 (asyncio.run inside a running loop): `run_sync(coro)`.

`run_sync` is a plain function, so every call is made from a thread of the check's own,
never from the check's event loop: "no loop running" calls it straight from a fresh
thread; "a loop running" calls it from inside a coroutine on a loop that runs in a fresh
thread, just as a notebook cell calls it from inside the kernel's running loop.  Each
call is awaited under a time limit, so an answer that deadlocks (waits for the very loop
it is blocking) costs one limit and a sentence, not the kernel.

The coroutines handed to `run_sync` record the thread and the loop they ran on, so the
check knows whether a new thread was used, whether it had ended when `run_sync`
returned, and whether each call got its own.  Nothing here depends on timing beyond
the time limit.  Coroutines an answer never ran are closed, so no "never awaited"
warning leaks into the learner's notebook.

nest_asyncio is detected by what `nest_asyncio.apply()` replaces: `asyncio.run`,
`asyncio.Task` and the run methods of the event loop classes.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import warnings

from ..language import tr
from . import core
from .core import CaseFailed, _is_stub, short, describe_error, exercise

CALL_LIMIT = 1.5            # seconds one call of run_sync may take (the coroutines take ~20 ms)
_CALLER = "asynclab-run_sync-caller"   # not "asynclab-check-...": core stops those at the end

# What nest_asyncio.apply() (and nest_asyncio2's) replaces on the loop classes.
_LOOP_ATTRS = ("run_forever", "run_until_complete", "_run_once", "_check_running", "_nest_patched")


def _asyncio_state():
    """Everything nest_asyncio would patch, as {name: object} to compare before and after."""
    state = {
        "asyncio.run": asyncio.run,
        "asyncio.Task": asyncio.Task,
        "asyncio.Future": asyncio.Future,
        "asyncio.get_event_loop": asyncio.get_event_loop,
        "asyncio._nest_patched": getattr(asyncio, "_nest_patched", None),
    }
    classes = {asyncio.BaseEventLoop, asyncio.SelectorEventLoop,
               getattr(asyncio, "ProactorEventLoop", asyncio.SelectorEventLoop)}
    try:
        classes.add(type(asyncio.get_running_loop()))
    except RuntimeError:
        pass
    for cls in classes:
        for attr in _LOOP_ATTRS:
            state[f"{cls.__name__}.{attr}"] = cls.__dict__.get(attr)
    return state


def _patched_names(before, after):
    return [name for name in after if after[name] is not before.get(name)]


def _where(obj):
    return getattr(obj, "__module__", None) or type(obj).__module__


class _NotACoroutine:
    """Awaitable, but not a coroutine (like a Future): run_sync must refuse it."""

    def __await__(self):
        yield from ()
        return 1

    def __repr__(self):
        return "<an awaitable object that is not a coroutine>"


class _Run:
    """One check run: the coroutines it made, and whether a call has already hung."""

    def __init__(self):
        self.made = []          # every coroutine object handed to run_sync
        self.hung = False

    # -- the coroutines handed to run_sync ---------------------------------------
    def coro(self, result=None, error=None, delay=0.02):
        """A coroutine that records where it ran, sleeps, then returns or raises."""
        seen = {}

        async def job():
            seen["thread"] = threading.current_thread()
            seen["loop"] = asyncio.get_running_loop()
            await asyncio.sleep(delay)
            if error is not None:
                raise error
            return result

        c = job()
        self.made.append(c)
        return c, seen

    def close_unstarted(self):
        """Close coroutines the answer never started (no "never awaited" warning then)."""
        for c in self.made:
            if inspect.getcoroutinestate(c) == inspect.CORO_CREATED:
                c.close()

    # -- calling run_sync -------------------------------------------------------------
    async def call(self, fn, arg, *, loop_running):
        """Call fn(arg) from a fresh thread, inside a running loop there if `loop_running`.

        Returns a dict: outcome "result"/"error", value, and what the calling side saw:
        its thread and loop, the threads alive before and right after the call.
        """
        if self.hung:
            raise CaseFailed(tr("not tried, because an earlier call of run_sync never returned"))
        checker = asyncio.get_running_loop()
        done = checker.create_future()
        info = {}

        def report():
            def settle():
                if not done.done():
                    done.set_result(info)
            try:
                checker.call_soon_threadsafe(settle)
            except RuntimeError:        # the check has ended (it gave up on this call)
                pass

        def invoke():
            info["before"] = set(threading.enumerate())
            try:
                info["value"] = fn(arg)
                info["outcome"] = "result"
            except BaseException as err:            # whatever the answer raises
                info["value"] = err
                info["outcome"] = "error"
            info["after"] = set(threading.enumerate())

        def target():
            info["thread"] = threading.current_thread()
            try:
                if loop_running:
                    async def caller():
                        info["loop"] = asyncio.get_running_loop()
                        invoke()
                    asyncio.run(caller())
                else:
                    info["loop"] = None
                    invoke()
            except BaseException as err:            # cannot happen unless asyncio breaks
                info.setdefault("outcome", "error")
                info.setdefault("value", err)
            finally:
                report()

        caller = threading.Thread(target=target, name=_CALLER, daemon=True)
        caller.start()
        try:
            async with asyncio.timeout(CALL_LIMIT):
                return await done
        except TimeoutError:
            self.hung = True
            _stop(caller)
            if loop_running:
                raise CaseFailed(tr(
                    "called where an event loop is running, run_sync did not return within {limit} s, "
                    "so the check gave up on it. If it waits for that running loop "
                    "(run_coroutine_threadsafe on it, or a loop it blocks), it waits forever: the "
                    "loop cannot run while run_sync blocks its thread",
                    limit=f"{CALL_LIMIT:g}")) from None
            raise CaseFailed(tr("called where no event loop runs, run_sync did not return within "
                                "{limit} s, so the check gave up on it (does it block, with "
                                "time.sleep() or a loop that never ends, or wait for something that "
                                "never happens?)", limit=f"{CALL_LIMIT:g}")) from None


def _stop(thread):
    """Stop a call that never returned, if it is spinning (core's way to end a runaway thread)."""
    stop = getattr(core, "_stop_thread", None)
    if stop is not None and thread.is_alive():
        try:
            stop(thread)
        except Exception:       # best effort: an abandoned daemon thread ends with the kernel
            pass


def _context(loop_running):
    return tr("where an event loop is running") if loop_running else tr("where no event loop runs")


def _expect_result(got, expected, loop_running, seen):
    """CaseFailed unless the call returned `expected` (the very object) after running the coroutine."""
    where = _context(loop_running)
    if got["outcome"] == "error":
        err = got["value"]
        if _is_stub(err):
            raise err
        text = describe_error(err)
        if loop_running and "cannot be called from a running event loop" in str(err):
            text = tr("{error} -- a loop already runs in this thread", error=text)
        elif loop_running and "This event loop is already running" in str(err):
            text = tr("{error} -- that loop is busy running the caller", error=text)
        raise CaseFailed(tr("called {where}, {problem}", where=where, problem=text))
    value = got["value"]
    if inspect.iscoroutine(value):
        raise CaseFailed(tr("called {where}, it returned the coroutine object itself, not its "
                            "result: run it to completion and return what it returns", where=where))
    if "thread" not in seen:
        raise CaseFailed(tr("called {where}, it returned {value} without running the coroutine",
                            where=where, value=short(value)))
    if value is not expected:
        raise CaseFailed(tr("called {where}, it returned {value}; expected {expected} (the "
                            "coroutine's own return value)", where=where, value=short(value),
                            expected=short(expected)))


def _expect_raised(got, error, loop_running):
    where = _context(loop_running)
    if got["outcome"] == "result":
        raise CaseFailed(tr("called {where} with a coroutine that raises {error}, it returned "
                            "{value} instead of raising that exception", where=where,
                            error=repr(error), value=short(got["value"])))
    err = got["value"]
    if _is_stub(err):
        raise err
    if err is error:
        return
    if type(err) is type(error):
        raise CaseFailed(tr("called {where}, it raised a new {kind}, not the one the coroutine "
                            "raised: raise the original exception object",
                            where=where, kind=type(err).__name__))
    raise CaseFailed(tr("called {where} with a coroutine that raises {error}, {problem}; expected "
                        "the coroutine's own {kind}, raised as it is (not wrapped)", where=where,
                        error=repr(error), problem=describe_error(err), kind=type(error).__name__))


def _expect_worker_thread(got, seen, loop_running):
    """With a loop running: the coroutine ran in another thread, which ended before the return."""
    caller = got["thread"]
    ran_in = seen["thread"]
    if ran_in is caller:
        raise CaseFailed(tr("called where an event loop is running, it ran the coroutine in the "
                            "calling thread (nest_asyncio-style)"))
    if seen["loop"] is got.get("loop"):
        raise CaseFailed(tr("called where an event loop is running, it ran the coroutine on the "
                            "caller's own running loop, which is busy running the caller"))
    if ran_in in got["after"]:
        raise CaseFailed(tr("the thread that ran the coroutine ({thread}) was still running when "
                            "run_sync returned (a thread pool or a long-lived runner thread keeps "
                            "its threads)", thread=repr(ran_in.name)))
    leftover = sorted(th.name for th in got["after"] - got["before"]
                      if not th.name.startswith("asynclab-"))
    if leftover:
        raise CaseFailed(tr("threads it started were still running when it returned: {threads}",
                            threads=", ".join(leftover)))


# No heartbeat: run_sync is called from threads of the check's own, never on its loop (a
# busy answer there holds the GIL, which a heartbeat would wrongly report as a blocked loop).
@exercise("run_sync", kind="sync", params=["coro"],
          hints=(
              'Ask first whether an event loop is already running in this thread; if none is, the '
              'simplest way to run a coroutine works.',
              'If one is running, this thread is busy running it: the coroutine needs a loop of its '
              'own somewhere else, and this thread may only wait for it to finish.',
              'A new thread runs the coroutine on a new loop and keeps what came out, a result or an '
              'exception; the caller waits for that thread to end, then returns or raises what it '
              'kept. Refuse anything that is not a coroutine before starting.'), heartbeat=False)
async def _run_sync(fn, t):
    run = _Run()
    before = _asyncio_state()
    try:
        if asyncio.run.__module__ != "asyncio.runners" or hasattr(asyncio, "_nest_patched"):
            async with t.case(tr("asyncio is not patched in this kernel")):
                raise CaseFailed(tr(
                    "asyncio.run comes from {module}, not asyncio: nest_asyncio.apply() (or "
                    "nest_asyncio2's) ran in this kernel. Restart the kernel, leave nest_asyncio "
                    "out, and check again", module=repr(_where(asyncio.run))))

        async with t.case(tr("no loop running: returns the coroutine's result")):
            result = object()
            coro, seen = run.coro(result=result)
            got = await run.call(fn, coro, loop_running=False)
            _expect_result(got, result, False, seen)

        async with t.case(tr("loop running: returns the result, using a new thread that has "
                             "ended on return")):
            result = ["a", "list"]
            coro, seen = run.coro(result=result)
            got = await run.call(fn, coro, loop_running=True)
            _expect_result(got, result, True, seen)
            _expect_worker_thread(got, seen, True)

        async with t.case(tr("loop running: a fresh thread for each call")):
            threads = []
            for n in (1, 2):
                coro, seen = run.coro(result=n)
                got = await run.call(fn, coro, loop_running=True)
                _expect_result(got, n, True, seen)
                _expect_worker_thread(got, seen, True)
                threads.append(seen["thread"])
            t.expect(threads[0] is not threads[1],
                     tr("two calls ran their coroutines in the same thread; start a fresh one per "
                        "call"))

        async with t.case(tr("no loop running: the coroutine's exception propagates")):
            error = LookupError("no such user")
            coro, _ = run.coro(error=error)
            _expect_raised(await run.call(fn, coro, loop_running=False), error, False)

        async with t.case(tr("loop running: the coroutine's exception propagates")):
            error = ValueError("bad input")
            coro, seen = run.coro(error=error)
            got = await run.call(fn, coro, loop_running=True)
            _expect_raised(got, error, True)
            if "thread" in seen:
                _expect_worker_thread(got, seen, True)

        async with t.case(tr("anything but a coroutine raises TypeError")):
            async def add(a=1, b=2):
                return a + b

            wrong = [(add, True, tr("the coroutine function itself (not called)")),
                     (42, False, "42"),
                     (_NotACoroutine(), True, tr("an awaitable that is not a coroutine")),
                     (None, False, "None")]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                for value, loop_running, what in wrong:
                    got = await run.call(fn, value, loop_running=loop_running)
                    if got["outcome"] == "result":
                        raise CaseFailed(tr("given {what}, it returned {value}; expected TypeError",
                                            what=what, value=short(got["value"])))
                    err = got["value"]
                    if _is_stub(err):
                        raise err
                    t.expect(isinstance(err, TypeError),
                             tr("given {what}, {problem}; expected TypeError (before starting "
                                "anything)", what=what, problem=describe_error(err)))
                t.collect_garbage()
            never = [str(w.message) for w in caught if "never awaited" in str(w.message)]
            t.expect(not never, tr("refusing a non-coroutine left a warning: {warning}",
                                   warning=repr(never[0])) if never else "")

        async with t.case(tr("nest_asyncio not applied")):
            patched = _patched_names(before, _asyncio_state())
            t.expect(not patched,
                     tr("it patched asyncio ({names} changed; asyncio.run now comes from {module}). "
                        "That is what nest_asyncio does; it affects the whole kernel",
                        names=", ".join(patched[:3]), module=repr(_where(asyncio.run))))
    finally:
        run.close_unstarted()
