"""Checks for the exercises of lesson 08 (debugging and introspection)."""

import asyncio

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
    async with t.case("two stuck tasks, one finished task"):
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
                     f"it returned {type(got).__name__} {got!r:.80}; expected a dict "
                     "{task name: where}")
            me = asyncio.current_task().get_name()
            t.expect(me not in got, f"the result includes the task that called find_stuck "
                                    f"({me!r}), which is running, not stuck")
            t.expect("finished" not in got, "the result includes a task that has finished")
            t.expect(set(got) == set(want), f"it named the tasks {sorted(got)}; expected "
                                            f"{sorted(want)}")
            for name, where in want.items():
                t.expect(got[name] == where,
                         f"for {name!r} it said {got[name]!r}; expected {where!r} (the function "
                         "and the line of the await it is suspended at: get_stack()[-1], "
                         "f_code.co_name and f_lineno)")
        finally:
            lock.release()
            event.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async with t.case("nothing else on the loop"):
        got = await t.run(fn(), limit=0.5)
        t.expect(got == {}, f"it returned {_sorted(got)!r}; expected {{}} when only the caller is running")

    async with t.case("three tasks asleep, named by create_task(name=...)"):
        tasks = [asyncio.create_task(_sleeps_long(), name=f"sleeper {i}") for i in range(3)]
        await _settle()
        try:
            got = await t.run(fn(), limit=0.5)
            want = {f"sleeper {i}": _where(_sleeps_long, 1) for i in range(3)}
            t.expect(got == want, f"it returned {_sorted(got)!r}; expected {want!r}")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
