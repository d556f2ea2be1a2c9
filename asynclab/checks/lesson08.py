"""Checks for the exercises of lesson 08 (debugging and introspection)."""

import asyncio

from ..language import tr
from .core import exercise


async def _waits_on_event(event):
    await event.wait()


async def _waits_on_lock(lock):
    async with lock:
        pass


async def _sleeps_long():
    await asyncio.sleep(3600)


async def _finishes():
    return "done"


def _where(fn, offset):
    """The `where` string for a task suspended `offset` lines below the def of `fn`."""
    return f"{fn.__name__}:{fn.__code__.co_firstlineno + offset}"


def _sorted(got):
    return dict(sorted(got.items())) if isinstance(got, dict) else got


async def _settle():
    for _ in range(3):              # let every new task run up to its first await
        await asyncio.sleep(0)


@exercise("find_stuck", kind="async", params=[],
          hints=(
              'asyncio can list every task that has not finished yet; one of them is the task running'
              ' find_stuck itself.',
              'A task can show the stack of its coroutine: the innermost frame is where it is '
              'suspended.',
              "A frame knows its code object (which has the function's name) and its current line "
              'number.'), heartbeat=False)
async def _find_stuck(fn, t):
    async with t.case(tr("two stuck tasks, one finished task")):
        event, lock = asyncio.Event(), asyncio.Lock()
        await lock.acquire()                       # held by the checker: the lock waiter is stuck
        tasks = [asyncio.create_task(_waits_on_event(event), name="stuck-on-event"),
                 asyncio.create_task(_waits_on_lock(lock), name="stuck-on-lock"),
                 asyncio.create_task(_finishes(), name="finished")]
        await _settle()
        try:
            got = await t.run(fn(), limit=1.0)
            want = {"stuck-on-event": _where(_waits_on_event, 1),
                    "stuck-on-lock": _where(_waits_on_lock, 1)}
            t.expect(isinstance(got, dict),
                     tr("it returned {type} {value}; expected a dict {{task name: where}}",
                        type=type(got).__name__, value=f"{got!r:.80}"))
            me = asyncio.current_task().get_name()
            t.expect(me not in got, tr("the result includes the task that called find_stuck "
                                       "({me}), which is running, not stuck", me=repr(me)))
            t.expect("finished" not in got, tr("the result includes a task that has finished"))
            t.expect(set(got) == set(want), tr("it named the tasks {got}; expected {want}",
                                               got=sorted(got), want=sorted(want)))
            for name, where in want.items():
                t.expect(got[name] == where,
                         tr("for {name} it said {got}; expected {want} (the function and the line "
                            "of the await it is suspended at: get_stack()[-1], f_code.co_name and "
                            "f_lineno)", name=repr(name), got=repr(got[name]), want=repr(where)))
        finally:
            lock.release()
            event.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async with t.case(tr("nothing else on the loop")):
        got = await t.run(fn(), limit=0.5)
        t.expect(got == {}, tr("it returned {got}; expected {{}} when only the caller is running",
                               got=repr(_sorted(got))))

    async with t.case(tr("three tasks asleep, named by create_task(name=...)")):
        tasks = [asyncio.create_task(_sleeps_long(), name=f"sleeper {i}") for i in range(3)]
        await _settle()
        try:
            got = await t.run(fn(), limit=0.5)
            want = {f"sleeper {i}": _where(_sleeps_long, 1) for i in range(3)}
            t.expect(got == want, tr("it returned {got}; expected {want}",
                                     got=repr(_sorted(got)), want=repr(want)))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
