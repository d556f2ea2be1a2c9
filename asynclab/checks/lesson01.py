"""Checks for the exercises of lesson 01: `once(fn)` and `spawn(coro, keep)`."""

import asyncio
import inspect
import weakref

from ..language import tr
from .core import CaseFailed, short, exercise

_DELAY = 0.05          # how long the check's own coroutine functions take
_LIMIT = 0.6           # per awaited call: 12x what a right answer needs, and 7 cases x 0.6 s stay
                       # inside the whole check's limit, so "awaits forever" gets its own sentence


def _counted(result=None, error=None, delay=_DELAY):
    """A zero-argument coroutine function that records each time its body starts, and in which task."""
    runs = []

    async def fn():
        runs.append(asyncio.current_task())
        await asyncio.sleep(delay)
        if error is not None:
            raise error
        return result

    return fn, runs


def _wrap(t, once, fn):
    """Call the learner's once(fn) and make sure it gave back something callable."""
    wrapper = once(fn)
    t.expect(callable(wrapper),
             tr("once(fn) returned {value}; expected a function to call (an async function, "
                "which callers call and await)", value=short(wrapper)))
    return wrapper


def _call(t, wrapper):
    """Call the wrapper once and make sure that gives something to await."""
    got = wrapper()
    t.expect(inspect.isawaitable(got),
             tr("calling the function once(fn) returned gave {value}, not something to await "
                "(is the function it returned a plain `def`?)", value=short(got)))
    return _guard(got)


async def _guard(awaitable):
    # A KeyboardInterrupt or SystemExit raised inside a Task escapes the event loop itself
    # (asyncio re-raises them); wrapped, it stays a failed case like any other error.
    try:
        return await awaitable
    except (KeyboardInterrupt, SystemExit) as err:
        raise CaseFailed(tr("it raised {kind}, which stops a whole program; expected a result or "
                            "fn's own exception", kind=type(err).__name__)) from None


def _times(n):
    return tr("once") if n == 1 else tr("{n} times", n=n)


@exercise("once", kind="sync", params=["fn"],
          hints=(
              'Which object can be awaited more than once, by any number of callers, and keeps its '
              'outcome after it is done? A coroutine object cannot.',
              'The inner function and once() share one variable that outlives each call (a closure); '
              'it starts empty, and the first call fills it.',
              'The first call wraps fn() in a Task and remembers the Task (not its result: None and '
              'an exception are outcomes too); every call, first or later, awaits that one Task.'))
async def _once(once, t):
    noise = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: noise.append(context))
    async with t.case(tr("calling the returned function gives something to await, with fn's result")):
        marker = ["the result"]
        fn, runs = _counted(result=marker)
        wrapper = _wrap(t, once, fn)
        got = await t.run(_call(t, wrapper), _LIMIT)
        t.expect(got is marker, tr("awaiting it gave {value}; expected fn's result {expected}",
                                   value=short(got), expected=repr(marker)))

    async with t.case(tr("two once() functions for two different fns each run their own")):
        first, second = ["first"], ["second"]
        fn_a, runs_a = _counted(result=first)
        fn_b, runs_b = _counted(result=second)
        wrap_a, wrap_b = _wrap(t, once, fn_a), _wrap(t, once, fn_b)
        got_a = await t.run(_call(t, wrap_a), _LIMIT)
        got_b = await t.run(_call(t, wrap_b), _LIMIT)
        t.expect(bool(runs_a) and bool(runs_b),
                 tr("a function made by once(fn) gave a result without ever running its own fn: "
                    "every once(...) function shares one Task (state kept outside once, such as a "
                    "global or a class attribute), so a new fn never runs"))
        t.expect(got_a is first and got_b is second,
                 tr("the two functions returned {a} and {b}; expected {expected_a} and {expected_b}",
                    a=short(got_a), b=short(got_b), expected_a=repr(first), expected_b=repr(second)))

    async with t.case(tr("nothing runs before the first call")):
        fn, runs = _counted(result=1)
        wrapper = _wrap(t, once, fn)
        await asyncio.sleep(2 * _DELAY)          # give any task created by once() every chance to run
        t.expect(not runs, tr("fn already ran {times} before anyone called the function once(fn) "
                              "returned; expected it to start only at the first call (create the "
                              "Task inside the inner function, not in once itself)",
                              times=_times(len(runs))))
        await t.run(_call(t, wrapper), _LIMIT)
        t.expect(len(runs) == 1, tr("after the first call fn had run {times}; expected once",
                                    times=_times(len(runs))))

    async with t.case(tr("5 concurrent callers share one run of fn")):
        marker = ["shared"]
        fn, runs = _counted(result=marker)
        wrapper = _wrap(t, once, fn)
        calls = [_call(t, wrapper) for _ in range(5)]
        got = await t.run(asyncio.gather(*calls), _LIMIT)
        t.expect(len(runs) == 1, tr("fn ran {times} for 5 callers awaiting at the same time; "
                                    "expected once: the first call starts one Task and every call "
                                    "awaits that same Task", times=_times(len(runs))))
        t.expect(all(g is marker for g in got),
                 tr("the 5 callers got {value}; expected each to get fn's result {expected}",
                    value=short(got), expected=repr(marker)))

    async with t.case(tr("a later call, after fn finished, gets the same result without re-running")):
        marker = ["kept"]
        fn, runs = _counted(result=marker)
        wrapper = _wrap(t, once, fn)
        first = await t.run(_call(t, wrapper), _LIMIT)
        second = await t.run(_call(t, wrapper), _LIMIT)
        t.expect(len(runs) == 1, tr("fn ran {times} for two calls one after the other; expected "
                                    "once: the second call started fn again instead of sharing the "
                                    "first run's outcome", times=_times(len(runs))))
        t.expect(first is marker and second is marker,
                 tr("the calls returned {a} and {b}; expected the very same result object "
                    "{expected} both times", a=short(first), b=short(second), expected=repr(marker)))

    async with t.case(tr("an fn that returns None still runs only once")):
        fn, runs = _counted(result=None)
        wrapper = _wrap(t, once, fn)
        got = [await t.run(_call(t, wrapper), _LIMIT) for _ in range(3)]
        t.expect(len(runs) == 1, tr("fn ran {times} for 3 calls when its result was None; "
                                    "expected once (remember the Task, not the result: None is a "
                                    "result too)", times=_times(len(runs))))
        t.expect(got == [None, None, None], tr("the calls returned {value}; expected None each time",
                                               value=short(got)))

    async with t.case(tr("an exception reaches every caller, the same exception object, fn run once")):
        error = ValueError("fn failed")
        fn, runs = _counted(error=error)
        wrapper = _wrap(t, once, fn)
        calls = [_call(t, wrapper) for _ in range(3)]
        got = await t.run(asyncio.gather(*calls, return_exceptions=True), _LIMIT)
        t.expect(all(g is error for g in got),
                 tr("3 concurrent callers got {value}; expected each to have fn's exception "
                    "{error} raised (the same object)", value=short(got), error=repr(error)))
        try:
            later = await t.run(_call(t, wrapper), _LIMIT)
        except ValueError as err:
            t.expect(err is error, tr("a later call raised {error}, a different exception object; "
                                      "expected fn's own exception, raised again", error=repr(err)))
        else:
            t.expect(False, tr("a later call returned {value} after fn had raised; expected it to "
                               "raise the same {error}", value=short(later), error=repr(error)))
        t.expect(len(runs) == 1, tr("fn ran {times}; expected once, also when it raises (do not "
                                    "start it again after a failure)", times=_times(len(runs))))

    async with t.case(tr("fn runs in a Task of its own, not inside the first caller")):
        fn, runs = _counted(result=7)
        wrapper = _wrap(t, once, fn)
        callers = [asyncio.create_task(_await(t, wrapper)) for _ in range(2)]
        await t.run(asyncio.gather(*callers), _LIMIT)
        t.expect(len(runs) == 1 and runs[0] not in callers,
                 tr("fn ran inside the first caller's own task, not in a Task of its own: "
                    "cancelling the first caller would then leave every other caller waiting for "
                    "ever"))


async def _await(t, wrapper):
    return await _call(t, wrapper)


@exercise("spawn", kind="sync", params=["coro", "keep"],
          hints=(
              'The event loop keeps only a weak reference to a Task: something of yours must hold it '
              'while it runs.',
              '`keep` is that something. What should be in it right after spawn returns, and when '
              'should it leave?',
              'Add the new Task to `keep`, and ask the Task to remove itself from `keep` when it is '
              'done: a Task can call a function of yours when it finishes, however it ends.'))
async def _spawn(spawn, t):
    lost = []
    loop = asyncio.get_running_loop()
    # "Task was destroyed but it is pending!" goes to this (the check's own) loop's handler,
    # so it becomes a sentence instead of noise in the notebook.
    # Each message is kept with the name of its task's coroutine (not the task: that would keep
    # it alive), so that the sentence quotes what asyncio said about the task the case lost, not
    # about an earlier case's task collected at the same moment.
    def note(_loop, context):
        task = context.get("task")
        coro = task.get_coro() if task is not None else None
        lost.append((context.get("message"), getattr(coro, "__name__", None)))

    loop.set_exception_handler(note)

    async def job(delay, result=None, error=None):
        await asyncio.sleep(delay)
        if error is not None:
            raise error
        return result

    made = []

    def fresh(coro):
        made.append(coro)
        return coro

    try:
        async with t.case(tr("it returns the Task it started, without waiting for it")):
            keep = set()
            task = spawn(fresh(job(_DELAY, result="done")), keep)
            t.expect(isinstance(task, asyncio.Task),
                     tr("it returned {value}; expected the asyncio.Task it created",
                        value=short(task)))
            t.expect(not task.done(), tr("the task had already finished when spawn returned; "
                                         "expected spawn to start it and return at once"))
            got = await t.run(task, _LIMIT)
            t.expect(got == "done", tr("the task's result was {value}; expected 'done'",
                                       value=short(got)))

        async with t.case(tr("the task is in keep while it runs, and leaves keep when it is done")):
            keep = set()
            task = spawn(fresh(job(_DELAY, result=1)), keep)
            t.expect(task in keep, tr("right after spawn, keep was {keep}; expected it to hold the "
                                      "task, so that nothing can garbage-collect it half-way",
                                      keep=short(keep)))
            await t.run(task, _LIMIT)
            await asyncio.sleep(0)               # done callbacks run on the next turn of the loop
            t.expect(task not in keep, tr("the finished task was still in keep; expected it to be "
                                          "removed when done, or keep grows for ever"))

        async with t.case(tr("two tasks in one keep: the one that ends leaves, the other stays")):
            keep = set()
            quick = spawn(fresh(job(_DELAY, result="quick")), keep)
            slow = spawn(fresh(job(4 * _DELAY, result="slow")), keep)
            await t.run(quick, _LIMIT)
            await asyncio.sleep(0)
            t.expect(slow in keep, tr("when the first task ended, the other, still running, left "
                                      "keep too (keep was {keep}): one task's ending touched the "
                                      "others", keep=short(keep)))
            t.expect(quick not in keep, tr("the finished task was still in keep"))
            await t.run(slow, _LIMIT)

        async with t.case(tr("a task that raises also leaves keep")):
            keep = set()
            error = ValueError("job failed")
            task = spawn(fresh(job(_DELAY, error=error)), keep)
            t.expect(task in keep, tr("right after spawn, keep was {keep}; expected it to hold the "
                                      "task", keep=short(keep)))
            try:
                await t.run(task, _LIMIT)
            except ValueError:
                pass
            await asyncio.sleep(0)
            t.expect(task not in keep, tr("a task that raised was still in keep; expected every "
                                          "finished task to leave keep, also a failed one"))

        async with t.case(tr("a task waiting on something only it knows survives garbage "
                             "collection")):
            keep = set()

            async def wait_for_reply():
                await asyncio.get_running_loop().create_future()    # no one else refers to it

            coro = fresh(wait_for_reply())
            task = spawn(coro, keep)
            t.expect(isinstance(task, asyncio.Task),
                     tr("it returned {value}; expected the asyncio.Task it created",
                        value=short(task)))
            made.remove(coro)
            ref = weakref.ref(task)
            del task, coro                       # hold nothing that leads back to the task
            await asyncio.sleep(0.01)
            t.collect_garbage()
            await asyncio.sleep(0)
            task = ref()
            t.expect(task is not None,
                     tr("the running task was garbage-collected (asyncio said: {said}); expected "
                        "keep to hold a strong reference to it until it is done",
                        said=repr(next((message for message, name in reversed(lost)
                                        if name == "wait_for_reply"),
                                       "Task was destroyed but it is pending!"))))
            t.expect(not task.done(), tr("the task had ended: {task}; expected it still waiting",
                                         task=short(task)))
            task.cancel()
            await asyncio.sleep(0.01)
            t.expect(task not in keep, tr("a cancelled task was still in keep; expected it to be "
                                          "removed when done, also when cancelled"))
    finally:
        for coro in made:                    # never started (a wrong answer): close it quietly,
            if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:   # no "never awaited"
                coro.close()
