"""Lesson 05 (errors and cancellation): every claim the lesson makes, and its two checks.

(a) the claims, reproduced directly with asyncio.run (independent of the notebook);
(b) what the executed lesson printed;
(c) the checks: the solutions pass, wrong answers fail with a message that names the problem,
    and the stubs say "not solved".  Answers that misbehave (hang, block, raise anything, wrong
    kind or signature) are tested for all exercises at once in test_checks_robust.py.
"""

import asyncio
import inspect
import sys
import time

import pytest

import asynclab
from asynclab.checks import check
from asynclab.checks.core import CHECK_LIMIT
from nbrun import ROOT, execute, function_from

LESSON = "notebooks/05-errors-and-cancellation.ipynb"
SOLUTION = "solutions/05-errors-and-cancellation.ipynb"
EXERCISE = "exercises/05-errors-and-cancellation.ipynb"


def _states(tasks):
    out = {}
    for t in tasks:
        if not t.done():
            out[t.get_name()] = "running"
        elif t.cancelled():
            out[t.get_name()] = "cancelled"
        elif t.exception() is not None:
            out[t.get_name()] = "error"
        else:
            out[t.get_name()] = "result"
    return out


async def fail_now(exc):
    raise exc


# ---------------------------------------------------------------- (a) the claims, directly

def test_gather_raises_the_first_error_and_leaves_the_others_running():
    async def main():
        async with asynclab.trace() as tl:
            tasks = [asyncio.create_task(asynclab.fetch("A", 0.03, fail=True), name="A"),
                     asyncio.create_task(asynclab.fetch("B", 0.30), name="B"),
                     asyncio.create_task(asynclab.fetch("C", 0.35), name="C")]
            try:
                await asyncio.gather(*tasks)
            except ConnectionError as e:
                message, right_then = f"{type(e).__name__}: {e}", _states(tasks)
            for t in tasks[1:]:
                await t
        return message, right_then, _states(tasks), tl

    message, right_then, later, tl = asyncio.run(main())
    assert message == "ConnectionError: simulated failure fetching 'A'"
    assert right_then == {"A": "error", "B": "running", "C": "running"}
    assert later == {"A": "error", "B": "result", "C": "result"}
    assert {r.name: r.outcome for r in tl.tasks} == {"A": "error", "B": "result", "C": "result"}
    assert tl.by_name("B").finished > tl.by_name("A").finished


def test_return_exceptions_puts_the_exception_in_the_list_in_order():
    async def main():
        return await asyncio.gather(asynclab.fetch("A", 0.03, fail=True), asynclab.fetch("B", 0.06),
                                    asynclab.fetch("C", 0.09), return_exceptions=True)

    results = asyncio.run(main())
    assert repr(results[0]) == "ConnectionError(\"simulated failure fetching 'A'\")"
    assert results[1:] == ["<B>", "<C>"]


def test_taskgroup_cancels_siblings_and_raises_exceptiongroup():
    async def main():
        async with asynclab.trace() as tl:
            try:
                async with asyncio.TaskGroup() as tg:
                    tasks = [tg.create_task(asynclab.fetch("A", 0.03, fail=True), name="A"),
                             tg.create_task(asynclab.fetch("B", 0.30), name="B"),
                             tg.create_task(asynclab.fetch("C", 0.35), name="C")]
            except ExceptionGroup as eg:
                caught = eg
        return caught, _states(tasks), tl

    eg, states, tl = asyncio.run(main())
    assert f"{type(eg).__name__}: {eg}" == "ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)"
    assert [f"{type(e).__name__}: {e}" for e in eg.exceptions] == \
        ["ConnectionError: simulated failure fetching 'A'"]
    assert states == {"A": "error", "B": "cancelled", "C": "cancelled"}
    assert {r.name: r.outcome for r in tl.tasks} == {"A": "error", "B": "cancelled", "C": "cancelled"}
    assert tl.by_name("B").finished < 0.15 and tl.by_name("C").finished < 0.15


def test_two_immediate_failures_make_two_sub_exceptions_and_both_except_star_run():
    async def group():
        async with asyncio.TaskGroup() as tg:
            tg.create_task(fail_now(ValueError("bad value")), name="V")
            tg.create_task(fail_now(ConnectionError("server gone")), name="N")
            tg.create_task(asynclab.fetch("slow", 0.2), name="slow")

    async def whole():
        try:
            await group()
        except ExceptionGroup as eg:
            return str(eg)

    async def star():
        ran = []
        try:
            await group()
        except* ValueError as eg:
            ran.append(repr(eg))
        except* ConnectionError as eg:
            ran.append(repr(eg))
        return ran

    assert asyncio.run(whole()) == "unhandled errors in a TaskGroup (2 sub-exceptions)"
    assert asyncio.run(star()) == [
        "ExceptionGroup('unhandled errors in a TaskGroup', [ValueError('bad value')])",
        "ExceptionGroup('unhandled errors in a TaskGroup', [ConnectionError('server gone')])"]


def test_cancel_runs_finally_then_the_awaiter_sees_cancelled_error():
    async def main():
        log = []

        async def download(name):
            log.append(f"{name}: started")
            try:
                await asyncio.sleep(1)
                log.append(f"{name}: finished")
            finally:
                log.append(f"{name}: cleanup in finally")

        task = asyncio.create_task(download("D"))
        await asyncio.sleep(0.03)
        returned = task.cancel()
        log.append("main: cancel requested")
        try:
            await task
        except asyncio.CancelledError:
            log.append("main: awaiting the task raised CancelledError")
        return returned, log, task.cancelled()

    returned, log, cancelled = asyncio.run(main())
    assert returned is True and cancelled is True
    assert log == ["D: started", "main: cancel requested", "D: cleanup in finally",
                   "main: awaiting the task raised CancelledError"]
    assert not issubclass(asyncio.CancelledError, Exception)
    assert issubclass(asyncio.CancelledError, BaseException)


def test_wait_for_cancels_the_task_it_times_out():
    async def main():
        async with asynclab.trace() as tl:
            slow = asyncio.create_task(asynclab.fetch("slow", 0.3), name="slow")
            try:
                await asyncio.wait_for(slow, timeout=0.06)
            except TimeoutError as e:
                err = e
            fast = asyncio.create_task(asynclab.fetch("fast", 0.02), name="fast")
            got = await asyncio.wait_for(fast, timeout=0.3)
        return err, slow.cancelled(), got, tl

    err, cancelled, got, tl = asyncio.run(main())
    assert type(err) is TimeoutError and str(err) == "" and repr(err) == "TimeoutError()"
    assert cancelled and got == "<fast>"
    assert {r.name: r.outcome for r in tl.tasks} == {"slow": "cancelled", "fast": "result"}
    assert asyncio.TimeoutError is TimeoutError


def test_wait_for_makes_a_task_of_a_coroutine_only_on_311():
    """The lesson's note on versions: 3.11 wraps the coroutine in a task, 3.12+ does not."""
    async def main():
        async with asynclab.trace() as tl:
            await asyncio.wait_for(asyncio.sleep(0.01), timeout=1)
        return len(tl.tasks)

    assert asyncio.run(main()) == (1 if sys.version_info < (3, 12) else 0)


def test_asyncio_timeout_is_one_deadline_for_the_block():
    async def main():
        steps = []

        async def two_steps():
            async with asyncio.timeout(0.3):
                await asynclab.fetch("step 1", 0.05)
                steps.append("step 1")
                await asynclab.fetch("step 2", 0.60)
                steps.append("step 2")

        job = asyncio.create_task(two_steps())
        try:
            await job
        except TimeoutError:
            pass
        return steps, type(job.exception())

    steps, exc_type = asyncio.run(main())
    assert steps == ["step 1"] and exc_type is TimeoutError


def test_swallowing_cancelled_error_breaks_the_timeout_and_reraising_fixes_it():
    async def stubborn(seconds):
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            return "pretended nothing happened"

    async def well_behaved(seconds):
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            raise

    async def limited(step):
        started = time.perf_counter()
        try:
            async with asyncio.timeout(0.05):
                await step(0.2)
                await asyncio.sleep(0.1)
            return ("no TimeoutError", time.perf_counter() - started >= 0.1)
        except TimeoutError:
            return ("TimeoutError", None)

    async def cancelled_stubborn():
        t = asyncio.create_task(stubborn(0.2))
        await asyncio.sleep(0.03)
        t.cancel()
        return await t, t.cancelled()

    assert asyncio.run(cancelled_stubborn()) == ("pretended nothing happened", False)
    assert asyncio.run(limited(stubborn)) == ("no TimeoutError", True)
    assert asyncio.run(limited(well_behaved)) == ("TimeoutError", None)


def test_a_task_cancelled_before_its_first_step_runs_no_body_and_no_finally():
    async def main():
        log = []
        connection = {"open": True}

        async def use_then_close(conn):
            log.append("started")
            try:
                await asyncio.sleep(1)
            finally:
                conn["open"] = False
                log.append("finally")

        task = asyncio.create_task(use_then_close(connection))
        task.cancel()
        await asyncio.wait([task])
        return task.cancelled(), log, connection["open"]

    assert asyncio.run(main()) == (True, [], True)


def test_cancelled_after_its_first_step_the_finally_runs():
    """The contrast: one turn later, the body has started, so its finally runs."""
    async def main():
        log = []

        async def body():
            log.append("started")
            try:
                await asyncio.sleep(1)
            finally:
                log.append("finally")

        task = asyncio.create_task(body())
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.wait([task])
        return log

    assert asyncio.run(main()) == ["started", "finally"]


async def _ignores_one_cancel(also_uncancel, said):
    async with asyncio.timeout(0.15):
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if also_uncancel:
                asyncio.current_task().uncancel()
        said.append(asyncio.current_task().cancelling())
        await asyncio.sleep(10)


def test_swallowing_leaves_cancelling_at_one_and_a_later_deadline_cancels_instead_of_timing_out():
    async def main(also_uncancel):
        said = []
        job = asyncio.create_task(_ignores_one_cancel(also_uncancel, said))
        await asyncio.sleep(0)
        job.cancel()
        await asyncio.wait([job])
        return said, job.cancelled(), None if job.cancelled() else type(job.exception())

    assert asyncio.run(main(False)) == ([1], True, None)
    assert asyncio.run(main(True)) == ([0], False, TimeoutError)


def test_uncancel_returns_the_count_left():
    async def main():
        async def victim():
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                me = asyncio.current_task()
                return me.cancelling(), me.uncancel(), me.cancelling()

        t = asyncio.create_task(victim())
        await asyncio.sleep(0)
        t.cancel()
        return await t

    assert asyncio.run(main()) == (1, 0, 0)


# Under the eager task factory, a TaskGroup whose first child fails at once refuses the next
# create_task only before the fix of CPython gh-128550 (3.12.9, 3.13.2, 3.14); measured on 3.12.1
# and 3.13.0 (refuse) and 3.14.10, 3.15.2 (accept).
V = sys.version_info[:3]
EAGER_GROUP_REFUSES = (3, 12) <= V < (3, 12, 9) or (3, 13) <= V < (3, 13, 2)
SHUTTING_DOWN = "TaskGroup <TaskGroup errors=1 cancelling> is shutting down"


async def _fails_at_once():
    raise ValueError("bad input")


async def _second_job():
    await asyncio.sleep(0.1)


async def _two_children(said):
    second = None
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(_fails_at_once())
            job = _second_job()
            try:
                second = tg.create_task(job)
                said.append("accepted")
            except RuntimeError as e:
                job.close()
                said.append(f"refused: {e}")
                raise
    except* (ValueError, RuntimeError) as eg:
        said.append([f"{type(e).__name__}: {e}" for e in eg.exceptions])
    if second is not None:
        said.append("second cancelled" if second.cancelled() else "second not cancelled")


def _run_two_children(eager):
    async def main():
        said = []
        loop = asyncio.get_running_loop()
        if eager:
            loop.set_task_factory(asyncio.eager_task_factory)
        runner = asyncio.create_task(_two_children(said))
        loop.set_task_factory(None)
        await asyncio.wait([runner])
        return said, runner.cancelled()
    return asyncio.run(main())


def test_taskgroup_with_ordinary_tasks_accepts_the_second_child_and_cancels_it():
    assert _run_two_children(eager=False) == (
        ["accepted", ["ValueError: bad input"], "second cancelled"], False)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager_task_factory is new in 3.12")
def test_taskgroup_under_eager_tasks_refuses_or_accepts_the_second_child_per_version():
    said, runner_cancelled = _run_two_children(eager=True)
    if EAGER_GROUP_REFUSES:
        assert said == [f"refused: {SHUTTING_DOWN}",
                        ["ValueError: bad input", f"RuntimeError: {SHUTTING_DOWN}"]]
        # gh-128588: on 3.12 the task that ran the group is left cancelled as well
        assert runner_cancelled is (V < (3, 13))
    else:
        assert (said, runner_cancelled) == (
            ["accepted", ["ValueError: bad input"], "second cancelled"], False)


def test_taskgroup_refuses_create_task_while_shutting_down_on_every_version():
    """Without eager tasks: a child adds a sibling after the group began to abort.

    3.13+ also closes the refused coroutine (gh-115957); 3.11 and 3.12 leave that to the caller."""
    async def main():
        seen = []

        async def late_adder(tg):
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                coro = _second_job()
                try:
                    tg.create_task(coro)
                except RuntimeError as e:
                    seen.extend([str(e), inspect.getcoroutinestate(coro)])
                    coro.close()
                raise

        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(late_adder(tg))
                tg.create_task(_fails_at_once())
        except* ValueError:
            pass
        return seen

    closed = "CORO_CLOSED" if sys.version_info >= (3, 13) else "CORO_CREATED"
    assert asyncio.run(main()) == ["TaskGroup <TaskGroup tasks=1 errors=1 cancelling> is shutting down", closed]


def test_async_timeout_equivalents_in_asyncio():
    async def main():
        loop = asyncio.get_running_loop()

        async def step_under(make, adjust=None):
            try:
                async with make() as cm:
                    if adjust:
                        adjust(cm)
                    await asyncio.sleep(0.1)
                outcome = "finished"
            except TimeoutError:
                outcome = "TimeoutError"
            return outcome, cm.expired()

        async def when_is_the_deadline():
            async with asyncio.timeout(None) as cm:
                none = cm.when()
                cm.reschedule(loop.time() + 5)
                return none, cm.when() > loop.time()

        return [await step_under(lambda: asyncio.timeout(0.05)),
                await step_under(lambda: asyncio.timeout_at(loop.time() + 0.05)),
                await step_under(lambda: asyncio.timeout(0.05), lambda cm: cm.reschedule(cm.when() + 0.4)),
                await step_under(lambda: asyncio.timeout(None), lambda cm: cm.reschedule(loop.time() + 0.05)),
                await step_under(lambda: asyncio.timeout(0.05), lambda cm: cm.reschedule(None)),
                await when_is_the_deadline()]

    assert asyncio.run(main()) == [("TimeoutError", True), ("TimeoutError", True), ("finished", False),
                                   ("TimeoutError", True), ("finished", False), (None, True)]


def test_mixing_except_and_except_star_is_a_syntax_error():
    source = "try:\n    pass\nexcept* ValueError:\n    pass\nexcept TypeError:\n    pass\n"
    with pytest.raises(SyntaxError) as info:
        compile(source, "<cell>", "exec")
    assert info.value.msg == "cannot have both 'except' and 'except*' on the same 'try'"


def test_except_valueerror_does_not_catch_a_taskgroup_failure():
    async def main():
        try:
            try:
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(fail_now(ValueError("bad value")))
            except ValueError:
                return "handled"
        except Exception as e:
            return f"{type(e).__name__}: {e}"

    assert asyncio.run(main()) == "ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)"


def test_a_coroutine_given_to_gather_runs_on_after_the_error_but_not_in_a_taskgroup():
    async def main(use_group):
        writes = []

        async def save(value, delay):
            await asyncio.sleep(delay)
            writes.append(value)

        try:
            if use_group:
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(asynclab.fetch("A", 0.02, fail=True))
                    tg.create_task(save("saved", 0.15))
            else:
                await asyncio.gather(asynclab.fetch("A", 0.02, fail=True), save("saved", 0.15))
        except* ConnectionError:
            pass
        right_after = list(writes)
        await asyncio.sleep(0.3)
        return right_after, writes

    assert asyncio.run(main(False)) == ([], ["saved"])
    assert asyncio.run(main(True)) == ([], [])


# ---------------------------------------------------------------- (b) the lesson, executed

@pytest.fixture(scope="module")
def run():
    return execute(LESSON)


def test_lesson_links():
    text = (ROOT / LESSON).read_text(encoding="utf-8")
    for link in ("04-asyncio-run-in-jupyter.ipynb", "06-waiting-and-racing.ipynb",
                 "../exercises/05-errors-and-cancellation.ipynb"):
        assert link in text


def test_lesson_printed_what_it_claims(run):
    g = run.text_of("await asyncio.gather(*tasks)\n")
    assert "gather raised ConnectionError: simulated failure fetching 'A'" in g
    assert "right then: {'A': 'error (ConnectionError)', 'B': 'still running', 'C': 'still running'}" in g
    assert "later:      {'A': 'error (ConnectionError)', 'B': \"result '<B>'\", 'C': \"result '<C>'\"}" in g
    assert "outcomes: {'A': 'error', 'B': 'result', 'C': 'result'}" in run.text_of("outcome = {r.name: r.outcome for r in tl_gather")
    r = run.text_of("return_exceptions=True)\nfor name")
    assert r == ("A -> ConnectionError(\"simulated failure fetching 'A'\")\nB -> '<B>'\nC -> '<C>'\n"
                 "You made no prediction. What happened: 1.\n")
    tg = run.text_of("async with asynclab.trace() as tl_tg")
    assert tg.startswith("ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)\n")
    assert "states:    {'A': 'error (ConnectionError)', 'B': 'cancelled', 'C': 'cancelled'}" in tg
    assert "outcomes: {'A': 'error', 'B': 'cancelled', 'C': 'cancelled'}" in run.text_of("outcome = {r.name: r.outcome for r in tl_tg")
    star = run.text_of('tg.create_task(fail_now(ConnectionError("server gone")), name="N")')
    assert star == ("except* ValueError got: ExceptionGroup('unhandled errors in a TaskGroup', [ValueError('bad value')])\n"
                    "except* ConnectionError got: ExceptionGroup('unhandled errors in a TaskGroup', "
                    "[ConnectionError('server gone')])\n"
                    "You made no prediction. What happened: 2.\n")
    cancel = run.text_of("async def download(name)")
    assert cancel.startswith("task.cancel() returned True\nD: started\nmain: cancel requested\n"
                             "D: cleanup in finally\nmain: awaiting the task raised CancelledError\n"
                             "task.cancelled(): True\nCancelledError is an Exception? False\n")
    wf = run.text_of("tl_wait_for")
    assert wf.startswith("wait_for raised TimeoutError(), with an empty message: str(e) == ''\nslow.cancelled(): True\n"
                         "fast, in time: <fast>\nasyncio.TimeoutError is TimeoutError: True\n"
                         "outcomes: {'slow': 'cancelled', 'fast': 'result'}\n")
    block = run.text_of("async def two_steps")
    assert block.startswith("awaiting the job raised TimeoutError\nsteps done: ['step 1']\n")
    pg = run.text_of("pg.set(")
    assert pg == ("gather: the caller got ConnectionError. Of the 4 other tasks, 4 finished with a "
                  "result and 0 were cancelled.\nTaskGroup: the caller got an ExceptionGroup. Of the "
                  "4 other tasks, 1 finished with a result and 3 were cancelled.\n")


def test_lesson_predictions_are_answered_by_reveal(run):
    names = [line.split("=")[0].strip() for c in run.nb.cells if c.cell_type == "code"
             for line in c.source.splitlines() if line.startswith("guess_")]
    assert len(names) == 8, names
    for name in names:
        assert len(run.cells_with(f"asynclab.reveal({name},")) == 1, name
    assert run.text.count("You made no prediction. What happened:") == len(names)
    assert "You made no prediction. What happened: a b c d." in run.text_of("async def download(name)")
    assert "You made no prediction. What happened: 2." in run.text_of("outcome = {r.name: r.outcome for r in tl_gather")
    assert "You made no prediction. What happened: 0." in run.text_of("outcome = {r.name: r.outcome for r in tl_tg")


def test_lesson_cancelled_before_first_step(run):
    assert run.text_of("async def use_then_close(conn)") == (
        "task.cancelled(): True\nlog: []\nconnection still open: True\n"
        "You made no prediction. What happened: 0.\n")


def test_lesson_eager_taskgroup_per_version(run):
    text = run.text_of("async def fails_at_once()")
    ordinary = ("ordinary tasks:\n    second create_task accepted\n"
                "    the group raised ['ValueError: bad input']\n    the second task was cancelled\n")
    if sys.version_info < (3, 12):
        eager = ""
        assert text.startswith("Python 3.11 has no eager task factory "
                               "(asyncio.eager_task_factory is new in 3.12).\n" + ordinary)
    elif EAGER_GROUP_REFUSES:
        eager = (f"eager tasks:\n    second create_task refused: RuntimeError: {SHUTTING_DOWN}\n"
                 f"    the group raised ['ValueError: bad input', 'RuntimeError: {SHUTTING_DOWN}']\n")
        if V < (3, 13):
            eager += "    and the task that ran the group was left cancelled (a bug of 3.12)\n"
    else:
        eager = ("eager tasks:\n    second create_task accepted\n"
                 "    the group raised ['ValueError: bad input']\n    the second task was cancelled\n")
    assert ordinary + eager + "On other Pythons, with eager tasks: 3.12.0-3.12.8 and 3.13.0-3.13.1 refuse" in text


def test_lesson_async_timeout_equivalents(run):
    lines = [line.split("->") for line in run.text_of("async def step_under(make_deadline").splitlines()]
    assert [(a.split()[0], b.strip()) for a, b in lines] == [
        ("timeout(0.05)", "TimeoutError, expired() = True"),
        ("timeout_at(loop.time()", "TimeoutError, expired() = True"),
        ("timeout(0.05),", "finished, expired() = False"),
        ("timeout(None),", "TimeoutError, expired() = True"),
        ("timeout(0.05),", "finished, expired() = False")]
    assert [a.split()[-1] for a, _ in lines[2:]] == ["[shift]", "[update]", "[reject]"]


def test_lesson_uncancel(run):
    assert run.text_of("async def ignores_one_cancel(") == (
        "swallowed without uncancel():\n"
        "    cancelling() after the swallowed cancel: 1\n"
        "    at the deadline the job ended cancelled\n"
        "swallowed with uncancel():\n"
        "    cancelling() after the swallowed cancel: 0\n"
        "    at the deadline the job raised TimeoutError\n")


def test_lesson_mistakes_print_real_errors(run):
    assert run.text_of('print("handled the ValueError")').strip() == \
        "ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)"
    assert run.text_of('print("handled:"').strip() == "handled: ['bad value']"
    assert run.text_of('compile(source, "<cell>", "exec")').strip() == \
        "SyntaxError: cannot have both 'except' and 'except*' on the same 'try'"
    assert run.text_of("async def stubborn") == (
        "await t -> 'pretended nothing happened' | t.cancelled(): False\n"
        "swallowing: no TimeoutError; the block with a 50 ms deadline ran on for 100 ms or more: True\n")
    assert run.text_of("async def well_behaved").strip() == "re-raising: TimeoutError raised, as the deadline asked"
    assert run.text_of("async def save(value, delay)") == (
        "ConnectionError: simulated failure fetching 'A'\nwrites right after the error: []\n"
        "writes 300 ms later:          ['saved after the error']\n")
    assert run.text_of('tg.create_task(save("saved after the error", 0.15))').endswith(
        "writes 300 ms later: []\n")


def test_lesson_draws_its_timelines(run):
    assert run.images() >= 5


# ---------------------------------------------------------------- (c) the checks




@pytest.mark.parametrize("name", ["gather_settled", "with_timeout"])
def test_solution_passes(name):
    result = check(function_from(SOLUTION, name))
    assert result.passed, result.message
    assert result.seconds < 2.5, result.seconds


@pytest.mark.parametrize("name", ["gather_settled", "with_timeout"])
def test_stub_is_not_solved(name):
    result = check(function_from(EXERCISE, name))
    assert result.status == "not solved" and "not solved yet" in result.message


# -- wrong answers to gather_settled

async def gs_sequential(*aws):
    out = []
    for aw in aws:
        try:
            out.append(("ok", await aw))
        except Exception as e:
            out.append(("error", e))
    return out


async def gs_completion_order(*aws):
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    out = []
    for fut in asyncio.as_completed(tasks):
        try:
            out.append(("ok", await fut))
        except Exception as e:
            out.append(("error", e))
    return out


async def gs_raises(*aws):
    return [("ok", x) for x in await asyncio.gather(*aws)]


async def gs_leaks_on_cancel(*aws):
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    if tasks:
        await asyncio.wait(tasks)            # cancelling wait() leaves the tasks running
    return [("error", t.exception()) if t.exception() else ("ok", t.result()) for t in tasks]


async def gs_swallows_cancel(*aws):
    try:
        return [("error", x) if isinstance(x, BaseException) else ("ok", x)
                for x in await asyncio.gather(*aws, return_exceptions=True)]
    except asyncio.CancelledError:
        return []


async def gs_strings(*aws):
    return [("error", str(x)) if isinstance(x, BaseException) else ("ok", x)
            for x in await asyncio.gather(*aws, return_exceptions=True)]


# -- wrong answers to with_timeout

async def wt_no_limit(aw, seconds, default=None):
    return await aw


async def wt_does_not_cancel(aw, seconds, default=None):
    task = asyncio.ensure_future(aw)
    done, _ = await asyncio.wait([task], timeout=seconds)
    return task.result() if done else default


async def wt_swallows_errors(aw, seconds, default=None):
    try:
        return await asyncio.wait_for(aw, seconds)
    except Exception:
        return default


async def wt_ignores_default(aw, seconds, default=None):
    try:
        return await asyncio.wait_for(aw, seconds)
    except TimeoutError:
        return None


async def wt_shielded(aw, seconds, default=None):
    try:
        return await asyncio.wait_for(asyncio.shield(aw), seconds)
    except TimeoutError:
        return default


WRONG = [
    (gs_sequential, "gather_settled", "at most 1 of the 3 ran at once"),
    (gs_completion_order, "gather_settled", "in the wrong order"),
    (gs_raises, "gather_settled", "it raised ValueError: boom"),
    (gs_leaks_on_cancel, "gather_settled", "children were still running"),
    (gs_swallows_cancel, "gather_settled", "it should end cancelled"),
    (gs_strings, "gather_settled", "the exception object itself"),
    (wt_no_limit, "with_timeout", "did not finish within"),
    (wt_does_not_cancel, "with_timeout", "the timed-out work was not cancelled"),
    (wt_swallows_errors, "with_timeout", "expected the work's ValueError('bad input') to be raised"),
    (wt_ignores_default, "with_timeout", "expected 'fallback'"),
    (wt_shielded, "with_timeout", "not cancelled"),
]


@pytest.mark.parametrize("wrong, name, says", WRONG, ids=[w.__name__ for w, _, _ in WRONG])
def test_wrong_answers_fail_and_say_why(wrong, name, says):
    result = check(wrong, name)
    assert result.status == "failed", result.message
    assert says in result.message, result.message
    assert "Traceback" not in result.message and 'File "' not in result.message
    assert result.seconds < CHECK_LIMIT


async def wt_lets_timeout_escape(aw, seconds, default=None):
    return await asyncio.wait_for(aw, seconds)


def test_a_timeout_error_from_the_answer_is_not_mistaken_for_a_hang():
    result = check(wt_lets_timeout_escape, "with_timeout")
    assert result.status == "failed", result.message
    assert "it raised TimeoutError(); expected None" in result.message, result.message
    assert "did not finish" not in result.message
