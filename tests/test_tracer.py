"""The tracer, checked against independent timestamps and against asyncio's own behaviour."""

import asyncio
import gc
import logging
import sys
import time
import weakref

import pytest

import asynclab

MS = 0.003   # "within a few milliseconds"


def run(coro):
    return asyncio.run(coro)


def test_finished_matches_a_timestamp_taken_at_the_end_of_the_coroutine():
    stamps = {}

    async def work(name, delay):
        await asyncio.sleep(delay)
        stamps[name] = time.perf_counter()

    async def main():
        async with asynclab.trace() as tl:
            await asyncio.gather(*(asyncio.create_task(work(n, d), name=n)
                                   for n, d in [("A", 0.06), ("B", 0.02), ("C", 0.04)]))
        return tl

    tl = run(main())
    for name, stamp in stamps.items():
        rec = tl.by_name(name)
        assert rec.outcome == "result"
        assert abs((stamp - tl.origin) - rec.finished) < MS, (name, stamp - tl.origin, rec.finished)
        assert rec.created <= rec.started <= rec.finished
    assert tl.order("finished") == ["B", "C", "A"]


def test_cpu_time_in_a_step_shows_as_running():
    async def busy():
        await asyncio.sleep(0)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 0.03:     # 30 ms of CPU work in one step
            pass
        return time.perf_counter() - t0

    async def main():
        async with asynclab.trace() as tl:
            spent = await asyncio.create_task(busy(), name="busy")
        return tl, spent

    tl, spent = run(main())
    longest = max(b - a for a, b in tl.by_name("busy").running)
    assert spent - MS < longest < spent + MS
    assert len(tl.by_name("busy").running) == 2          # one step per resumption


def test_errors_and_cancellation_are_recorded():
    async def fails():
        await asyncio.sleep(0.01)
        raise ValueError("boom")

    async def sleeps():
        await asyncio.sleep(10)

    async def main():
        async with asynclab.trace() as tl:
            bad = asyncio.create_task(fails(), name="bad")
            slow = asyncio.create_task(sleeps(), name="slow")
            never = asyncio.create_task(sleeps(), name="never-ran")
            never.cancel()                               # cancelled before its first step
            await asyncio.sleep(0.02)
            slow.cancel()
            await asyncio.gather(bad, slow, never, return_exceptions=True)
            left = asyncio.create_task(sleeps(), name="left")
            await asyncio.sleep(0)
        left.cancel()
        return tl

    tl = run(main())
    assert tl.by_name("bad").outcome == "error"
    assert tl.by_name("slow").outcome == "cancelled"
    assert tl.by_name("never-ran").outcome == "cancelled"
    assert tl.by_name("left").outcome == "pending"
    assert tl.by_name("left").finished is None
    assert tl.by_name("slow").waiting[-1][2] == "sleep"


def test_the_loop_gets_its_task_factory_back_also_when_the_block_raises():
    def custom(loop, coro, **kw):
        return asyncio.Task(coro, loop=loop, **kw)

    async def main():
        loop = asyncio.get_running_loop()
        async with asynclab.trace():
            pass
        assert loop.get_task_factory() is None
        loop.set_task_factory(custom)
        with pytest.raises(KeyError):
            async with asynclab.trace():
                assert loop.get_task_factory() is custom       # the tracer does not touch it
                raise KeyError("inside the block")
        assert loop.get_task_factory() is custom
        assert loop.get_debug() is False

    run(main())


def test_an_existing_factory_is_chained():
    made = []

    def custom(loop, coro, **kw):
        made.append(coro)
        return asyncio.Task(coro, loop=loop, **kw)

    async def main():
        asyncio.get_running_loop().set_task_factory(custom)
        async with asynclab.trace() as tl:
            await asyncio.create_task(asyncio.sleep(0.001), name="x")
        asyncio.get_running_loop().set_task_factory(None)
        return tl

    tl = run(main())
    assert len(made) == 1 and asyncio.iscoroutine(made[0])     # the coroutine itself, not a wrapper
    assert tl.order("finished") == ["x"]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager_task_factory is new in 3.12")
def test_eager_task_factory_stays_eager():
    seen = []

    async def note():
        seen.append("task ran")
        await asyncio.sleep(0)

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_task_factory(asyncio.eager_task_factory)
        async with asynclab.trace() as tl:
            task = asyncio.create_task(note(), name="eager")
            seen.append("create_task returned")
            await task
        assert loop.get_task_factory() is asyncio.eager_task_factory
        return tl

    tl = run(main())
    assert seen == ["task ran", "create_task returned"]
    assert tl.by_name("eager").started is not None


def test_names_given_to_create_task_and_set_name_show():
    async def main():
        async with asynclab.trace() as tl:
            t = asyncio.create_task(asyncio.sleep(0.001), name="given")
            u = asyncio.create_task(asyncio.sleep(0.001))
            u.set_name("renamed")
            await asyncio.gather(t, u, asyncio.sleep(0.001))
        return tl

    tl = run(main())
    names = [r.name for r in tl.tasks]
    assert names[:2] == ["given", "renamed"]
    assert names[2].startswith("Task-")
    assert tl.tasks[2].display_name == f"{names[2]} sleep()"


def test_waiting_spans_say_what_the_task_waited_for():
    async def main():
        sem, lock, event, queue = asyncio.Semaphore(1), asyncio.Lock(), asyncio.Event(), asyncio.Queue()

        async def hold(prim, seconds):
            async with prim:
                await asyncio.sleep(seconds)

        async def waiter():
            await child

        async with asynclab.trace() as tl:
            h1 = asyncio.create_task(hold(sem, 0.02), name="sem-holder")
            h2 = asyncio.create_task(hold(sem, 0.0), name="sem-waiter")
            l1 = asyncio.create_task(hold(lock, 0.02), name="lock-holder")
            l2 = asyncio.create_task(hold(lock, 0.0), name="lock-waiter")
            e = asyncio.create_task(event.wait(), name="event-waiter")
            q = asyncio.create_task(queue.get(), name="queue-waiter")
            child = asyncio.create_task(asyncio.sleep(0.02), name="child")
            w = asyncio.create_task(waiter(), name="parent")
            await asyncio.sleep(0.01)
            event.set()
            queue.put_nowait(1)
            await asyncio.gather(h1, h2, l1, l2, e, q, w)
        return tl

    tl = run(main())
    label = {r.name: [w for _, _, w in r.waiting] for r in tl.tasks}
    assert "Semaphore" in label["sem-waiter"]
    assert "Lock" in label["lock-waiter"]
    assert "Event" in label["event-waiter"]
    assert "Queue.get" in label["queue-waiter"]
    assert "task child" in label["parent"]
    assert label["sem-holder"] == ["sleep"]


def test_the_tracer_keeps_no_task_alive():
    """The loop holds tasks weakly; a traced task must vanish just like an untraced one."""
    async def main():
        async with asynclab.trace() as tl:
            ref = weakref.ref(asyncio.create_task(asyncio.sleep(10)))
            await asyncio.sleep(0)           # the task is now suspended in its sleep
        return tl, ref

    async def outer():
        loop = asyncio.get_running_loop()
        handler_calls = []
        loop.set_exception_handler(lambda loop, ctx: handler_calls.append(ctx["message"]))
        tl, ref = await main()
        return tl, ref, handler_calls

    tl, ref, _ = run(outer())
    gc.collect()
    assert ref() is None
    assert tl.tasks[0].outcome == "pending"


def test_an_unretrieved_exception_is_still_reported(caplog):
    async def fails():
        raise RuntimeError("nobody looks at me")

    async def main():
        async with asynclab.trace() as tl:
            t = asyncio.create_task(fails())
            await asyncio.sleep(0.01)
            del t
        return tl

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        tl = run(main())
        gc.collect()
    assert tl.tasks[0].outcome == "error"
    assert "Task exception was never retrieved" in caplog.text


def test_introspection_still_sees_the_users_coroutine():
    async def named_coroutine():
        await asyncio.sleep(1)

    async def main():
        async with asynclab.trace():
            task = asyncio.create_task(named_coroutine())
            await asyncio.sleep(0)
            text, stack = repr(task), task.get_stack()
            task.cancel()
        return text, stack

    text, stack = run(main())
    assert "named_coroutine" in text
    assert stack and stack[0].f_code.co_name == "named_coroutine"


def test_steps_after_the_block_are_not_recorded_and_nothing_changes_for_the_program():
    async def tick(out):
        for i in range(3):
            out.append(i)
            await asyncio.sleep(0.005)
        return "done"

    async def main():
        out = []
        async with asynclab.trace() as tl:
            task = asyncio.create_task(tick(out), name="tick")
            await asyncio.sleep(0)
        steps_at_exit = len(tl.by_name("tick").running)
        assert await task == "done"
        assert out == [0, 1, 2]
        assert len(tl.by_name("tick").running) == steps_at_exit
        return tl

    run(main())


def test_nested_traces_both_record():
    async def main():
        async with asynclab.trace() as outer:
            async with asynclab.trace() as inner:
                await asyncio.create_task(asyncio.sleep(0.001), name="both")
            await asyncio.create_task(asyncio.sleep(0.001), name="outer-only")
        return outer, inner

    outer, inner = run(main())
    assert [r.name for r in inner.tasks] == ["both"]
    assert [r.name for r in outer.tasks] == ["both", "outer-only"]


def test_max_concurrency_and_order():
    async def main():
        sem = asyncio.Semaphore(2)

        async def job():
            async with sem:
                await asyncio.sleep(0.01)

        async with asynclab.trace() as tl:
            await asyncio.gather(*(asyncio.create_task(job(), name=f"j{i}") for i in range(6)))
        return tl

    tl = run(main())
    assert tl.max_concurrency() == 6                  # all alive at once (most waiting)
    assert tl.order("created") == [f"j{i}" for i in range(6)]
    with pytest.raises(ValueError):
        tl.order("bogus")
    with pytest.raises(KeyError, match="no traced task named"):
        tl.by_name("nope")


def test_fetch_labels_rows_and_validates_its_input():
    async def main():
        async with asynclab.trace() as tl:
            got = await asyncio.gather(asynclab.fetch("a", 0.001), asynclab.fetch("b", 0, result=7),
                                       asynclab.fetch("c", 0, fail=True), return_exceptions=True)
        return tl, got

    tl, got = run(main())
    assert got[:2] == ["<a>", 7]
    assert isinstance(got[2], ConnectionError)
    assert [r.display_name for r in tl.tasks] == ["fetch a", "fetch b", "fetch c"]
    with pytest.raises(ValueError, match="delay must be"):
        run(asynclab.fetch("x", -1))


def test_create_task_of_a_non_coroutine_raises_as_usual():
    async def main():
        async with asynclab.trace() as tl:
            task = asyncio.create_task(asyncio.sleep(0))
            with pytest.raises(TypeError) as traced_error:
                asyncio.create_task(task)
            await task
        with pytest.raises(TypeError) as bare_error:
            asyncio.create_task(task)
        return tl, str(traced_error.value), str(bare_error.value)

    tl, traced, bare = run(main())
    assert traced.startswith("a coroutine was expected, got <Task") and bare.startswith(traced[:30])
    assert len(tl.tasks) == 1


def test_tasks_created_elsewhere_on_the_loop_are_not_recorded():
    """A kernel starts tasks of its own on the same loop (ipykernel does, for queued cells)."""
    async def main():
        loop = asyncio.get_running_loop()
        outsider = []
        # A callback registered before the trace: it runs in the context it was registered in.
        loop.call_later(0.01, lambda: outsider.append(asyncio.ensure_future(asyncio.sleep(0))))
        async with asynclab.trace() as tl:
            async def parent():
                await asyncio.create_task(asyncio.sleep(0.001), name="grandchild")
            await asyncio.create_task(parent(), name="child")
            await asyncio.sleep(0.03)
        await outsider[0]
        return tl

    tl = run(main())
    assert [r.name for r in tl.tasks] == ["child", "grandchild"]
