"""Lesson 01 (coroutines and tasks): every claim the lesson makes, and its two checks.

(a) the claims, reproduced directly with asyncio.run (independent of the notebook), so that a
    Python release that changes one of them fails here;
(b) what the executed lesson (and its exercise / solution notebooks) printed;
(c) the checks: the solutions pass, wrong answers fail with a message that names the problem,
    and the stubs say "not solved".  Answers that misbehave in the same way for every exercise
    (hang, block the loop, raise anything, wrong kind or signature, wrong type) are tested for
    all exercises at once in test_checks_robust.py.

No timed assertion is tight: what is asserted comes from counts, from the scheduler itself, or from
margins of several times the delays involved.
"""

import asyncio
import gc
import inspect
import os
import re
import subprocess
import sys
import textwrap
import time
import warnings

import nbformat
import pytest

import asynclab
from asynclab.checks import check
from nbrun import ROOT, execute

LESSON = "notebooks/01-coroutines-and-tasks.ipynb"
SOLUTION = "solutions/01-coroutines-and-tasks.ipynb"
EXERCISE = "exercises/01-coroutines-and-tasks.ipynb"


def make_cook(log):
    """The lesson's `cook`, logging into `log`."""
    async def cook(dish, seconds):
        log.append(f"start {dish}")
        await asyncio.sleep(seconds)
        log.append(f"{dish} ready")
        return f"{dish} (cooked)"
    return cook


def code_cell(relpath, needle):
    """The source of the one code cell of a committed notebook that contains `needle`."""
    nb = nbformat.read(str(ROOT / relpath), as_version=4)
    found = [c.source for c in nb.cells if c.cell_type == "code" and needle in c.source]
    assert len(found) == 1, f"{relpath}: {len(found)} cells contain {needle!r}"
    return found[0]


def defined_in(relpath, name):
    """Execute the notebook cell that defines `name` and return the function it defines."""
    namespace = {"asyncio": asyncio}
    exec(code_cell(relpath, f"def {name}("), namespace)
    return namespace[name]


# ---------------------------------------------------------------------------------------------
# (a) the claims, directly
# ---------------------------------------------------------------------------------------------

def test_calling_a_coroutine_function_runs_nothing_until_awaited():
    log = []
    cook = make_cook(log)

    async def main():
        soup = cook("soup", 0.01)
        assert type(soup).__name__ == "coroutine" and log == []
        assert await soup == "soup (cooked)"
        return list(log)

    assert asyncio.run(main()) == ["start soup", "soup ready"]


def test_a_task_runs_without_being_awaited_and_not_inside_create_task():
    log = []
    cook = make_cook(log)

    async def main():
        pasta = asyncio.create_task(cook("pasta", 0.01), name="pasta")
        right_after = (pasta.done(), list(log))
        await asyncio.sleep(0.05)
        return right_after, pasta.done(), list(log)

    right_after, done, after = asyncio.run(main())
    assert right_after == (False, [])
    assert done and after == ["start pasta", "pasta ready"]


def test_a_task_starts_at_the_first_await_that_really_waits():
    """Awaiting a done Future or a coroutine that never suspends does not let a new task start."""
    async def main():
        order = []

        async def note(text):
            order.append(text)

        async def never_waits():
            return "returned"

        done = asyncio.get_running_loop().create_future()
        done.set_result("ready")
        task = asyncio.create_task(note("task: started"))
        order.append("created")
        await done
        order.append("after (1)")
        await never_waits()
        order.append("after (2)")
        await asyncio.sleep(0)
        order.append("after (3)")
        await task
        return order

    assert asyncio.run(main()) == ["created", "after (1)", "after (2)", "task: started", "after (3)"]


def test_awaiting_a_done_future_does_not_suspend():
    async def main():
        done = asyncio.get_running_loop().create_future()
        done.set_result("ready")
        steps = done.__await__()
        with pytest.raises(StopIteration) as stop:
            next(steps)                          # returns at once: nothing is yielded to the loop
        return stop.value.value

    assert asyncio.run(main()) == "ready"


# What `await None` says: the message changed in 3.14.
AWAIT_NONE = ("'NoneType' object can't be awaited" if sys.version_info >= (3, 14)
              else "object NoneType can't be used in 'await' expression")


def test_await_time_sleep_blocks_then_raises_typeerror():
    async def main():
        ticks = []

        async def ticker():
            while True:
                ticks.append(len(ticks))
                await asyncio.sleep(0.005)

        tick_task = asyncio.create_task(ticker())
        await asyncio.sleep(0.02)
        before = len(ticks)
        with pytest.raises(TypeError) as info:
            await time.sleep(0.05)
        during = len(ticks) - before            # the ticker got no turn while time.sleep blocked
        tick_task.cancel()
        return str(info.value), during

    message, ticks_during = asyncio.run(main())
    assert message == AWAIT_NONE
    assert ticks_during == 0


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager_task_factory is new in 3.12")
def test_eager_task_factory_starts_the_task_inside_create_task():
    """The lesson's version note: on 3.12+ an eager factory runs the task up to its first wait."""
    log = []
    cook = make_cook(log)

    async def main():
        asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
        task = asyncio.create_task(cook("pasta", 0.01))
        right_after = list(log)
        await task
        return right_after

    assert asyncio.run(main()) == ["start pasta"]


def test_iscoroutine_isfuture_table():
    cook = make_cook([])

    async def main():
        coro = cook("salad", 0.01)
        task = asyncio.create_task(cook("salad", 0.01))
        rows = {label: (inspect.iscoroutinefunction(obj), asyncio.iscoroutine(obj),
                        asyncio.isfuture(obj), inspect.isawaitable(obj))
                for label, obj in [("function", cook), ("coroutine", coro), ("task", task)]}
        coro.close()
        await task
        return rows, isinstance(task, asyncio.Future)

    rows, task_is_future = asyncio.run(main())
    assert rows == {"function": (True, False, False, False),
                    "coroutine": (False, True, False, True),
                    "task": (False, False, True, True)}
    assert task_is_future


def test_awaiting_coroutines_one_by_one_is_sequential_tasks_first_is_concurrent():
    cook = make_cook([])

    async def main():
        async def one_by_one():
            for dish in ["soup", "pasta", "salad"]:
                await cook(dish, 0.05)
        async with asynclab.trace() as seq:
            await asyncio.create_task(one_by_one(), name="one_by_one")
        async with asynclab.trace() as con:
            tasks = [asyncio.create_task(cook(d, 0.05), name=d) for d in ["soup", "pasta", "salad"]]
            for t in tasks:
                await t
        return seq, con

    seq, con = asyncio.run(main())
    assert [r.name for r in seq.tasks] == ["one_by_one"] and seq.max_concurrency() == 1
    assert len(seq.by_name("one_by_one").running) == 4         # start, then one turn per dish
    assert con.max_concurrency() == 3
    assert seq.duration >= 3 * 0.05 * 0.95


def test_a_coroutine_cannot_be_awaited_twice():
    async def main():
        coro = make_cook([])("tea", 0.01)
        await coro
        with pytest.raises(RuntimeError) as info:
            await coro
        return str(info.value)

    assert asyncio.run(main()) == "cannot reuse already awaited coroutine"


def test_a_finished_task_gives_the_same_result_without_suspending():
    async def main():
        stew = asyncio.create_task(make_cook([])("stew", 0.01))
        first = await stew
        steps = stew.__await__()                # awaiting a done Task does not yield at all
        with pytest.raises(StopIteration) as stop:
            next(steps)
        return first, stop.value.value

    first, again = asyncio.run(main())
    assert again is first


def test_late_waiter_needs_one_turn_early_waiter_two():
    async def main():
        async def waiter(task):
            return await task
        async with asynclab.trace() as tl:
            stew = asyncio.create_task(make_cook([])("stew", 0.03), name="stew")
            asyncio.create_task(waiter(stew), name="early waiter")
            await asyncio.sleep(0.1)
            await asyncio.create_task(waiter(stew), name="late waiter")
        return tl

    tl = asyncio.run(main())
    early, late = tl.by_name("early waiter"), tl.by_name("late waiter")
    assert len(early.running) == 2 and [w for *_, w in early.waiting] == ["task stew"]
    assert len(late.running) == 1


def test_a_failed_task_raises_the_same_exception_object_each_time():
    async def main():
        async def burn():
            await asyncio.sleep(0.01)
            raise ValueError("the toast is burnt")
        toast = asyncio.create_task(burn())
        errors = []
        for _ in range(2):
            try:
                await toast
            except ValueError as e:
                errors.append(e)
        return errors

    errors = asyncio.run(main())
    assert len(errors) == 2 and errors[0] is errors[1]


def test_ensure_future_and_create_task():
    async def main():
        cook = make_cook([])
        rice = asyncio.ensure_future(cook("rice", 0.01))
        same = asyncio.ensure_future(rice) is rice
        with pytest.raises(TypeError) as not_awaitable:
            asyncio.ensure_future(42)
        with pytest.raises(TypeError) as not_a_coroutine:
            asyncio.create_task(rice)
        beans = asyncio.create_task(cook("beans", 0.01), name="beans")
        await asyncio.gather(rice, beans)
        return (type(rice), same, str(not_awaitable.value), str(not_a_coroutine.value),
                beans.get_name())

    kind, same, msg_awaitable, msg_coroutine, name = asyncio.run(main())
    assert kind is asyncio.Task and same and name == "beans"
    assert msg_awaitable == "An asyncio.Future, a coroutine or an awaitable is required"
    assert msg_coroutine.startswith("a coroutine was expected, got <Task pending name='Task-")


def test_forgetting_await_warns_never_awaited():
    gc.collect()            # what earlier tests left behind warns now, not inside the block below
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_cook([])("toast", 0.01)
        gc.collect()
    assert [(w.category, str(w.message)) for w in caught] == [
        (RuntimeWarning, "coroutine 'make_cook.<locals>.cook' was never awaited")]


def test_dev_mode_says_where_the_forgotten_coroutine_was_created(tmp_path):
    script = tmp_path / "forgot.py"
    script.write_text(textwrap.dedent("""\
        import asyncio
        async def cook():
            pass
        async def main():
            cook()
        asyncio.run(main())
    """))
    for extra_args, env in [(["-X", "dev"], {}), ([], {"PYTHONASYNCIODEBUG": "1"})]:
        done = subprocess.run([sys.executable, *extra_args, str(script)], capture_output=True,
                              text=True, timeout=60, env={**os.environ, **env})
        assert "RuntimeWarning: coroutine 'cook' was never awaited" in done.stderr
        assert "Coroutine created at (most recent call last)" in done.stderr, done.stderr


def test_the_lessons_forgotten_task_script():
    """Run the lesson's own script (its cell, as written) in subprocesses: lose vs keep."""
    namespace = {}
    source = code_cell(LESSON, 'SCRIPT = """')
    setup = source[:source.index('lost_output = run_script("lose")')]
    exec("import subprocess, sys, tempfile\nfrom pathlib import Path\n" + setup, namespace)
    lost, kept = namespace["run_script"]("lose"), namespace["run_script"]("keep")
    lost_lines = lost.splitlines()
    assert lost_lines[0] == "main: collecting garbage"
    assert "Task was destroyed but it is pending!" in lost_lines
    assert lost_lines[-1] == "main: tasks still alive: ['Task-1']"
    assert "wait_for_reply: its finally block ran" in lost_lines
    assert kept.splitlines() == ["main: collecting garbage",
                                 "main: tasks still alive: ['Task-1', 'wait_for_reply']",
                                 "wait_for_reply: its finally block ran"]


@pytest.mark.skipif(sys.version_info < (3, 14), reason="the deprecation is new in 3.14")
def test_asyncio_iscoroutinefunction_is_deprecated_on_314():
    with pytest.warns(DeprecationWarning):
        asyncio.iscoroutinefunction(make_cook([]))


# ---------------------------------------------------------------------------------------------
# (b) what the lesson printed
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lesson():
    return execute(LESSON)


def test_lesson_coroutine_object_runs_nothing(lesson):
    text = lesson.text_of('soup = cook("soup", 0.03)')
    assert "soup is a coroutine object" in text
    assert "log after the call:  []" in text
    assert "log after the await: ['start soup', 'soup ready']" in text


def test_lesson_task_runs_on_its_own(lesson):
    text = lesson.text_of('pasta = asyncio.create_task(cook("pasta"')
    assert "right after create_task: done = False | log = []" in text
    assert "after the cell waited:   done = True | log = ['start pasta', 'pasta ready']" in text


def test_lesson_task_starts_at_the_first_await_that_waits(lesson):
    assert lesson.text_of("async def never_waits():") == (
        "cell: created the task\n"
        "cell: after (1) await on a done Future\n"
        "cell: after (2) await on a coroutine that never waits\n"
        "task: started\n"
        "cell: after (3) await asyncio.sleep(0)\n"
        "You made no prediction. What happened: 3.\n")


def test_lesson_predictions_are_questions_answered_by_reveal(lesson):
    """Each Predict is a `guess_... = ...` cell; run as committed (no guess), reveal says what happened."""
    names = [line.split("=")[0].strip() for c in lesson.nb.cells if c.cell_type == "code"
             for line in c.source.splitlines() if line.startswith("guess_")]
    assert len(names) >= 9, names
    for name in names:
        assert len(lesson.cells_with(f"asynclab.reveal({name},")) == 1, name
    assert lesson.text.count("You made no prediction. What happened:") == len(names)
    assert "You made no prediction. What happened: 2 1." in lesson.text_of("async def waiter(task):")
    assert "You made no prediction. What happened: RuntimeError." in lesson.text_of('tea = cook("tea", 0.03)')


def test_lesson_await_time_sleep(lesson):
    text = lesson.text_of("await time.sleep(0.05)")
    assert text.startswith(f"TypeError: {AWAIT_NONE}\n... raised after time.sleep had already blocked the loop for ")
    assert "3.11-3.13 say \"object NoneType can't be used in 'await' expression\", " \
           "3.14+ say \"'NoneType' object can't be awaited\"." in text
    assert "other tasks could run meanwhile" in lesson.text_of("await asyncio.sleep(0.05)\nprint")


def test_lesson_weak_references_are_going_further_at_the_end(lesson):
    headings = [c.source.splitlines()[0] for c in lesson.nb.cells
                if c.cell_type == "markdown" and c.source.startswith("#")]
    assert headings[-2:] == ["## Summary", "## Going further (optional): watching a forgotten task vanish"]
    assert not any(h.startswith("## 5.") for h in headings)
    script_cell = lesson.cells_with('lost_output = run_script("lose")')[0]
    summary_cell = [i for i, c in enumerate(lesson.nb.cells) if c.source.startswith("## Summary")][0]
    assert script_cell > summary_cell
    assert "What happened: 1." in lesson.text_of('lost_output = run_script("lose")')


def test_lesson_table(lesson):
    lines = [line.split() for line in lesson.text_of("iscoroutinefunction(obj)").splitlines()]
    assert ["cook", "True", "False", "False", "False"] in lines
    assert ["cook(\"salad\",", "0.03)", "False", "True", "False", "True"] in lines
    assert ["create_task(...)", "False", "False", "True", "True"] in lines


def test_lesson_sequential_vs_concurrent(lesson):
    text = lesson.text_of("tasks first: {len(tl_con.tasks)}")
    assert "one by one:  1 task,  at most 1 in progress" in text
    assert "tasks first: 3 tasks, at most 3 in progress" in text
    assert "log: ['start soup', 'start pasta', 'start salad', 'soup ready', 'pasta ready', 'salad ready']" \
        in lesson.text_of("async with asynclab.trace() as tl_con:")


def test_lesson_await_twice(lesson):
    assert "second await: RuntimeError: cannot reuse already awaited coroutine" in \
        lesson.text_of('tea = cook("tea", 0.03)')
    assert "the same object both times: True" in lesson.text_of("second = await stew")
    text = lesson.text_of("async def waiter(task):")
    assert "early waiter: 2 turn(s) on the loop, waited for ['task stew']" in text
    assert "late waiter: 1 turn(s) on the loop, waited for []" in text
    assert "the same exception object both times: True" in lesson.text_of("async def burn():")
    assert "await number 2: ValueError: the toast is burnt" in lesson.text_of("async def burn():")


def test_lesson_ensure_future(lesson):
    text = lesson.text_of("asyncio.ensure_future(rice) is rice")
    assert "ensure_future(coroutine)  -> Task named Task-" in text
    assert "ensure_future(rice) is rice -> True" in text
    assert "TypeError: An asyncio.Future, a coroutine or an awaitable is required" in text
    assert "create_task(coroutine, name='beans') -> Task named beans" in text


def test_lesson_forgotten_task(lesson):
    lost = lesson.text_of('lost_output = run_script("lose")')
    assert "Task was destroyed but it is pending!" in lost
    assert "main: tasks still alive: ['Task-1']" in lost
    kept = lesson.text_of('kept_output = run_script("keep")')
    assert "Task was destroyed" not in kept
    assert "main: tasks still alive: ['Task-1', 'wait_for_reply']" in kept


def test_lesson_playground(lesson):
    text = lesson.text_of("for strategy in STRATEGIES:")
    assert re.search(r"await coroutines one by one\s+at most 1 in progress", text)
    assert re.search(r"create a task, await it, repeat\s+at most 1 in progress", text)
    assert re.search(r"create all tasks first, then await\s+at most 4 in progress", text)
    assert "VBox" in lesson.text_of("pg = asynclab.playground(")


def test_lesson_common_mistakes(lesson):
    text = lesson.text_of("# the mistake: no await")
    assert "RuntimeWarning: coroutine 'cook' was never awaited" in text
    assert "log: []" in text
    text = lesson.text_of("asyncio.create_task(pie)")
    assert re.search(r"TypeError: a coroutine was expected, got <Task pending name='pie' coro=<cook\(\)", text)
    assert "shared run: ['tea (cooked)', 'tea (cooked)'] | same object: True" in \
        lesson.text_of("shared_task = asyncio.create_task")


def test_lesson_draws_its_timelines_and_stays_clean(lesson):
    assert lesson.images() >= 3
    for cell in lesson.nb.cells:
        if cell.cell_type == "code":
            for out in cell.outputs:
                assert not (out.output_type == "stream" and out.name == "stderr"), \
                    f"the lesson wrote to stderr: {out.text!r} (cell: {cell.source[:60]!r})"
                assert out.output_type != "error"
    assert lesson.seconds < 60


def test_lesson_links():
    text = (ROOT / LESSON).read_text(encoding="utf-8")
    for target in ["00-start-here.ipynb", "02-gather-vs-create-task.ipynb",
                   "../exercises/01-coroutines-and-tasks.ipynb"]:
        assert target in text


def test_exercise_and_solution_notebooks_print_what_they_should():
    solved = execute(SOLUTION)
    assert "load_settings ran 1 time(s)" in solved.text
    assert "the same object for all four calls: True" in solved.text
    assert "in background after it finished: False" in solved.text
    stub = execute(EXERCISE)
    assert stub.text.count("not solved yet") >= 2
    assert "once is not written yet" in stub.text and "spawn is not written yet" in stub.text


# ---------------------------------------------------------------------------------------------
# (c) the checks
# ---------------------------------------------------------------------------------------------

def test_solutions_pass():
    for name in ["once", "spawn"]:
        result = check(defined_in(SOLUTION, name))
        assert result.passed, result.message
        assert result.seconds < 2.5, f"{name}: the check took {result.seconds:.1f} s"


def test_stubs_are_not_solved():
    for name in ["once", "spawn"]:
        result = check(defined_in(EXERCISE, name))
        assert result.status == "not solved", result.message
        assert "not solved yet" in result.message


# Wrong answers to `once`, each with words its check's message must contain.
def once_fresh_task_each_call(fn):
    async def call():
        return await asyncio.create_task(fn())
    return call


def once_started_in_once(fn):
    task = asyncio.create_task(fn())

    async def call():
        return await task
    return call


def once_caches_the_result(fn):
    result = None

    async def call():
        nonlocal result
        if result is None:
            result = await fn()
        return result
    return call


def once_shares_the_coroutine(fn):
    coro = fn()

    async def call():
        return await coro
    return call


def once_retries_after_an_error(fn):
    task = None

    async def call():
        nonlocal task
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.create_task(fn())
        return await task
    return call


def once_runs_fn_in_the_first_caller(fn):
    shared = None

    async def call():
        nonlocal shared
        if shared is None:
            shared = asyncio.get_running_loop().create_future()
            try:
                shared.set_result(await fn())
            except Exception as err:
                shared.set_exception(err)
        return await shared
    return call


def once_wraps_the_error(fn):
    task = None

    async def call():
        nonlocal task
        if task is None:
            task = asyncio.create_task(fn())
        try:
            return await task
        except Exception as err:
            raise RuntimeError("fn failed") from err
    return call


def once_returns_fn(fn):
    async def call():
        return fn
    return call


ONCE_WRONG = [
    (once_fresh_task_each_call, "fn ran 5 times for 5 callers"),
    (once_started_in_once, "fn already ran once before anyone called"),
    (once_caches_the_result, "when its result was None"),
    (once_shares_the_coroutine, "cannot reuse already awaited coroutine"),
    (once_retries_after_an_error, "fn ran 2 times; expected once, also when it raises"),
    (once_runs_fn_in_the_first_caller, "fn ran inside the first caller's own task"),
    (once_wraps_the_error, "expected each to have fn's exception"),
    (once_returns_fn, "expected fn's result"),
]


@pytest.mark.parametrize("answer, words", ONCE_WRONG, ids=[f.__name__ for f, _ in ONCE_WRONG])
def test_wrong_once_fails_and_says_why(answer, words):
    result = check(answer, exercise="once")
    assert result.status == "failed", result.message
    assert words in result.message, result.message
    assert "Traceback" not in result.message


def spawn_keeps_nothing(coro, keep):
    return asyncio.create_task(coro)


def spawn_never_removes(coro, keep):
    task = asyncio.create_task(coro)
    keep.add(task)
    return task


def spawn_removes_only_on_success(coro, keep):
    async def run():
        result = await coro
        keep.discard(task)
        return result
    task = asyncio.create_task(run())
    keep.add(task)
    return task


def spawn_returns_the_coroutine(coro, keep):
    keep.add(coro)
    return coro


def spawn_keeps_the_coroutine(coro, keep):
    keep.add(coro)
    return asyncio.create_task(coro)


SPAWN_WRONG = [
    (spawn_keeps_nothing, "the running task was garbage-collected (asyncio said: "
                          "'Task was destroyed but it is pending!')"),
    (spawn_never_removes, "the finished task was still in keep"),
    (spawn_removes_only_on_success, "a task that raised was still in keep"),
    (spawn_returns_the_coroutine, "expected the asyncio.Task it created"),
    (spawn_keeps_the_coroutine, "expected it to hold the task"),
]


@pytest.mark.parametrize("answer, words", SPAWN_WRONG, ids=[f.__name__ for f, _ in SPAWN_WRONG])
def test_wrong_spawn_fails_and_says_why(answer, words):
    result = check(answer, exercise="spawn")
    assert result.status == "failed", result.message
    assert words in result.message, result.message


def test_once_check_fails_a_plain_inner_function_that_returns_nothing_awaitable():
    def once(fn):
        def call():
            return 42
        return call
    result = check(once)
    assert result.status == "failed" and "not something to await" in result.message


def test_once_check_fails_when_once_returns_nothing():
    def once(fn):
        return None
    result = check(once)
    assert result.status == "failed" and "once(fn) returned None" in result.message
