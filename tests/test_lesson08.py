"""Lesson 08 (debugging and introspection): every claim the lesson makes, and its exercise's check.

(a) the claims reproduced directly with asyncio.run() or a subprocess, independent of the notebook;
(b) what the lesson printed when executed in a fresh kernel;
(c) the check of find_stuck: the solution passes, and wrong answers fail with a sentence that
    names the problem.  That no answer (hanging, blocking, raising) can stall it is tested for all
    exercises at once in test_checks_robust.py.
"""

import asyncio
import re
import subprocess
import sys
import textwrap
import threading

import pytest

from nbrun import ROOT, errors_in, execute, execute_twice, function_from

from asynclab import trace
from asynclab.checks import check

LESSON = "notebooks/08-debugging-and-introspection.ipynb"


# ---------------------------------------------------------------- (a) the claims, directly

def test_task_names():
    async def main():
        anonymous = asyncio.create_task(asyncio.sleep(0))
        named = asyncio.create_task(asyncio.sleep(0), name="download report")
        default = anonymous.get_name()
        anonymous.set_name("nap")
        text = repr(named)
        await asyncio.gather(anonymous, named)
        return default, anonymous.get_name(), named.get_name(), text

    default, renamed, named, text = asyncio.run(main())
    assert re.fullmatch(r"Task-\d+", default)
    assert renamed == "nap" and named == "download report"
    assert text.startswith("<Task pending name='download report' coro=<sleep() running at ")


def test_all_tasks_holds_only_unfinished_tasks_and_current_task_is_me():
    async def worker(delay):
        me = asyncio.current_task()
        await asyncio.sleep(delay)
        return me.get_name()

    async def main():
        workers = [asyncio.create_task(worker(d), name=f"worker-{i}")
                   for i, d in enumerate([0.03, 0.12, 0.20], 1)]
        await asyncio.sleep(0.06)
        mid = sorted(t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("worker-"))
        me_in = asyncio.current_task() in asyncio.all_tasks()
        names = await asyncio.gather(*workers)
        after = [t for t in asyncio.all_tasks() if t.get_name().startswith("worker-")]
        return mid, me_in, names, after

    mid, me_in, names, after = asyncio.run(main())
    assert mid == ["worker-2", "worker-3"]
    assert me_in
    assert names == ["worker-1", "worker-2", "worker-3"]
    assert after == []


async def _transfer(first, second):
    async with first:
        await asyncio.sleep(0.02)
        async with second:
            return "moved"


def test_deadlock_is_found_by_wait_get_stack_and_the_tracer():
    async def main():
        lock_a, lock_b = asyncio.Lock(), asyncio.Lock()
        async with trace() as tl:
            ab = asyncio.create_task(_transfer(lock_a, lock_b), name="A->B")
            ba = asyncio.create_task(_transfer(lock_b, lock_a), name="B->A")
            done, pending = await asyncio.wait({ab, ba}, timeout=0.2)
        lines = {t.get_name(): t.get_stack()[-1].f_lineno - _transfer.__code__.co_firstlineno + 1
                 for t in pending}
        for task in pending:
            task.cancel()
        results = await asyncio.gather(*pending, return_exceptions=True)
        return tl, done, pending, lines, results, lock_a.locked() or lock_b.locked()

    tl, done, pending, lines, results, locked = asyncio.run(main())
    assert done == set() and sorted(t.get_name() for t in pending) == ["A->B", "B->A"]
    for name in ("A->B", "B->A"):
        rec = tl.by_name(name)
        assert rec.outcome == "pending"
        assert rec.waiting[-1][2] == "Lock"
    assert lines == {"A->B": 4, "B->A": 4}            # `async with second:`
    assert [type(r).__name__ for r in results] == ["CancelledError", "CancelledError"]
    assert not locked



def test_the_tracer_names_the_stuck_line_and_the_parent_of_a_deadlock():
    async def main():
        lock_a, lock_b = asyncio.Lock(), asyncio.Lock()

        async def start_both():                  # a parent task, to see the parent recorded
            lock_c, lock_d = asyncio.Lock(), asyncio.Lock()     # a deadlock of their own
            return [asyncio.create_task(_transfer(lock_c, lock_d), name="A->B"),
                    asyncio.create_task(_transfer(lock_d, lock_c), name="B->A")]

        async with trace() as tl:
            ab = asyncio.create_task(_transfer(lock_a, lock_b), name="own A->B")
            ba = asyncio.create_task(_transfer(lock_b, lock_a), name="own B->A")
            pair = await asyncio.create_task(start_both(), name="starter")
            done, pending = await asyncio.wait({ab, ba, *pair}, timeout=0.2)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return tl

    tl = asyncio.run(main())
    for name, parent in [("own A->B", None), ("own B->A", None), ("A->B", "starter"), ("B->A", "starter")]:
        rec = tl.by_name(name)
        assert rec.outcome == "pending" and rec.parent == parent, (name, rec.parent)
        site = rec.waiting[-1].site
        assert rec.waiting[-1].what == "Lock" and site.function == "_transfer", site
        assert site.line - _transfer.__code__.co_firstlineno + 1 == 4            # `async with second:`
        assert str(site) == f"_transfer:{site.line}"

def test_one_lock_order_does_not_deadlock():
    async def main():
        lock_a, lock_b = asyncio.Lock(), asyncio.Lock()
        async with trace() as tl:
            ab = asyncio.create_task(_transfer(lock_a, lock_b), name="A->B")
            ba = asyncio.create_task(_transfer(lock_a, lock_b), name="B->A")
            done, pending = await asyncio.wait({ab, ba}, timeout=1.0)
        return tl, done, pending

    tl, done, pending = asyncio.run(main())
    assert len(done) == 2 and not pending
    assert tl.order("finished") == ["A->B", "B->A"]
    assert [w for _, _, w in tl.by_name("B->A").waiting][0] == "Lock"


def _run_script(source, *options):
    done = subprocess.run([sys.executable, *options, "-c", textwrap.dedent(source)],
                          capture_output=True, text=True, timeout=30)
    return done.stdout + done.stderr


DESTROYED = """
    import asyncio, gc

    async def wait_for_ever(future):
        await future

    async def main():
        loop = asyncio.get_running_loop()
        asyncio.create_task(wait_for_ever(loop.create_future()), name="orphan")
        await asyncio.sleep(0.01)
        gc.collect()

    asyncio.run(main())
"""


def test_task_destroyed_but_pending_message():
    out = _run_script(DESTROYED)
    assert out.startswith("Task was destroyed but it is pending!\ntask: <Task pending name='orphan' "
                          "coro=<wait_for_ever() ")
    assert "wait_for=<Future pending cb=[Task.task_wakeup()]>" in out


def test_debug_mode_says_where_the_task_was_created():
    out = _run_script(DESTROYED, "-X", "dev")
    assert out.startswith("Task was destroyed but it is pending!\n"
                          "source_traceback: Object created at (most recent call last):")
    assert 'File "<string>", line 9, in main\n' in out, out     # the create_task line


def test_task_exception_never_retrieved_message():
    out = _run_script("""
        import asyncio, gc

        async def fail():
            raise ValueError("nobody looked at me")

        async def main():
            task = asyncio.create_task(fail(), name="fails")
            await asyncio.sleep(0.01)
            del task
            gc.collect()
            print("main() finished normally")

        asyncio.run(main())
    """)
    assert "main() finished normally" in out
    assert ("Task exception was never retrieved\nfuture: <Task finished name='fails' coro=<fail() done, "
            "defined at") in out
    assert "exception=ValueError('nobody looked at me')>" in out
    assert out.rstrip().endswith("ValueError: nobody looked at me")


def test_all_tasks_and_current_task_need_a_running_loop():
    said = []

    def outside():
        for call in (asyncio.all_tasks, asyncio.current_task):
            try:
                call()
            except RuntimeError as e:
                said.append(f"{call.__name__}(): {type(e).__name__}: {e}")

    t = threading.Thread(target=outside)
    t.start()
    t.join(10)
    assert said == ["all_tasks(): RuntimeError: no running event loop",
                    "current_task(): RuntimeError: no running event loop"]


def test_call_graph_exists_only_from_3_14():
    assert hasattr(asyncio, "capture_call_graph") == (sys.version_info >= (3, 14))
    assert hasattr(asyncio, "format_call_graph") == (sys.version_info >= (3, 14))
    assert hasattr(asyncio, "print_call_graph") == (sys.version_info >= (3, 14))


@pytest.mark.skipif(sys.version_info < (3, 14), reason="capture_call_graph is new in 3.14")
def test_capture_call_graph_names_the_awaiting_task():
    async def inner_work(event):
        await event.wait()

    async def outer_work(event):
        await asyncio.create_task(inner_work(event), name="inner")

    async def main():
        event = asyncio.Event()
        outer = asyncio.create_task(outer_work(event), name="outer")
        await asyncio.sleep(0.01)
        inner = next(t for t in asyncio.all_tasks() if t.get_name() == "inner")
        graph = asyncio.capture_call_graph(inner)
        text = asyncio.format_call_graph(inner)
        event.set()
        await outer
        return graph, text

    graph, text = asyncio.run(main())
    assert graph.future.get_name() == "inner"
    assert [e.frame.f_code.co_name for e in graph.call_stack] == ["wait", "inner_work"]
    assert [g.future.get_name() for g in graph.awaited_by] == ["outer"]
    assert text.startswith("* Task(name='inner', id=0x")
    assert "in async Event.wait()\n" in text and re.search(r"in async \S*inner_work\(\)\n", text), text
    assert "+ Awaited by:\n    * Task(name='outer', id=0x" in text


STUCK = """
    import asyncio, os, threading

    threading.Timer(60, os._exit, [1]).start()

    async def transfer(first, second):
        async with first:
            await asyncio.sleep(0.02)
            async with second:
                return "moved"

    async def main():
        lock_a, lock_b = asyncio.Lock(), asyncio.Lock()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(transfer(lock_a, lock_b), name="A->B")
            tg.create_task(transfer(lock_b, lock_a), name="B->A")
            await asyncio.sleep(0.1)
            print("stuck", flush=True)

    asyncio.run(main())
"""


def _inspect_stuck_script(tmp_path, *commands):
    """Start the deadlocked script, run `python -m asyncio COMMAND PID` for each command, kill it."""
    path = tmp_path / "stuck.py"
    path.write_text(textwrap.dedent(STUCK))
    with subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout.readline().strip() == "stuck"
            return [subprocess.run([sys.executable, "-m", "asyncio", c, str(proc.pid)],
                                   capture_output=True, text=True, timeout=30) for c in commands]
        finally:
            proc.kill()


def _check_tree(tree):
    """The pstree of STUCK: Task-1 -> main -> TaskGroup -> A->B and B->A, each stuck on its second Lock."""
    assert tree[0] == "└── (T) Task-1", tree
    assert re.fullmatch(r"    └──  main .*stuck\.py:14", tree[1]), tree
    assert tree[4].endswith("├── (T) A->B") and tree[8].endswith("└── (T) B->A"), tree
    for first in (5, 9):      # each stuck task's coroutine stack: transfer at `async with second:`, the Lock
        assert re.search(r"└──  transfer .*stuck\.py:9$", tree[first]), tree
        assert "└──  _ContextManagerMixin.__aenter__ " in tree[first + 1], tree
        assert re.search(r"└──  Lock\.acquire .*asyncio/locks\.py:\d+$", tree[first + 2]), tree
    assert len(tree) == 12, tree


@pytest.mark.skipif(sys.version_info < (3, 14), reason="python -m asyncio ps/pstree are new in 3.14")
def test_pstree_shows_the_stuck_tasks_coroutine_stacks(tmp_path):
    # Reading another process's memory needs privileges (root here; the lesson says so in one line).
    ps, pstree = _inspect_stuck_script(tmp_path, "ps", "pstree")
    assert ps.returncode == 0 and pstree.returncode == 0, ps.stdout + ps.stderr + pstree.stdout + pstree.stderr
    _check_tree([line.rstrip() for line in pstree.stdout.splitlines()])
    rows = {line.split()[2]: line for line in ps.stdout.splitlines()[2:]}
    assert sorted(rows) == ["A->B", "B->A", "Task-1"], ps.stdout
    for name in ("A->B", "B->A"):
        assert "Lock.acquire -> _ContextManagerMixin.__aenter__ -> transfer" in rows[name], rows[name]


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="3.14 has ps/pstree")
def test_before_3_14_asyncio_has_no_ps_tool():
    import importlib.util
    assert importlib.util.find_spec("asyncio.tools") is None


def test_shielded_timeout_leaves_the_inspected_task_alone():
    async def main():
        stuck = asyncio.create_task(asyncio.Event().wait(), name="waits for ever")
        try:
            async with asyncio.timeout(0.05):
                await asyncio.shield(stuck)
        except TimeoutError as e:
            kind = type(e).__name__
        alive = not stuck.done()
        stuck.cancel()
        return kind, alive

    assert asyncio.run(main()) == ("TimeoutError", True)


def test_a_timeout_around_await_task_cancels_the_task():
    async def main():
        stuck = asyncio.create_task(asyncio.Event().wait(), name="waits for ever")
        try:
            async with asyncio.timeout(0.05):
                await stuck
        except TimeoutError as e:
            kind = type(e).__name__
        return kind, stuck.cancelled()

    assert asyncio.run(main()) == ("TimeoutError", True)


# ---------------------------------------------------------------- (b) what the lesson printed

@pytest.fixture(scope="module")
def run():
    return execute(LESSON)


def test_lesson_evidence(run):
    text = run.text
    assert run.images() >= 2
    for line in [
        "with a name:    download report",
        "<Task pending name='download report' coro=<fetch() running at",
        "renamed:        nap",
        "default names look like Task-<number>: True",
        "[None, '<report>']",
        "still in all_tasks() after 60 ms: ['worker-2', 'worker-3']",
        "the cell itself runs in a task: True",
        "each worker's current_task() was itself: ['worker-1', 'worker-2', 'worker-3']",
        "after they finished: []",
        "done: []  pending: ['A->B', 'B->A']",
        "A->B: outcome 'pending', waiting for 'Lock'",
        "B->A: outcome 'pending', waiting for 'Lock'",
        "A->B is suspended in transfer(), line 4 of it",
        "B->A is suspended in transfer(), line 4 of it",
        "['CancelledError', 'CancelledError']",
        "locks free again: True",
        "done: 2  pending: 0  finished in order: ['A->B', 'B->A (now takes A first)']",
        "B->A first waited for: Lock",
        "all_tasks(): RuntimeError: no running event loop",
        "current_task(): RuntimeError: no running event loop",
        "TimeoutError after 50 ms",
        "the task we only wanted to look at was cancelled: True",
        "the task is still there, not cancelled: True",
    ]:
        assert line in text, line



def test_lesson_wait_sites_and_parents(run):
    text = run.text_of("# where each pending task waits, from the recording alone")
    for name in ("A->B", "B->A"):
        assert re.search(rf"^{re.escape(name)} waits for Lock at transfer:(\d+) \(line 4 of transfer\); "
                         r"parent: None \(created by the cell's own code\)$", text, re.M), text
    assert len(text.splitlines()) == 2, text

def test_lesson_print_stack(run):
    text = run.text_of("ab.print_stack(file=sys.stdout)")
    assert re.search(r"Stack for <Task pending name='A->B' coro=<transfer\(\) running at .*> "
                     r"\(most recent call last\):\n  File .*, line \d+, in transfer\n"
                     r"    async with second:", text), text


def test_lesson_playground(run):
    text = run.text_of('pg.set(order=order, tasks=4, hold_ms=20)')
    assert ("ring (deadlock)  -> finished: 0; stuck and cancelled after 300 ms: "
            "transfer 0, transfer 1, transfer 2, transfer 3") in text
    assert "lowest first     -> finished: 4; stuck and cancelled after 300 ms: none" in text


def test_lesson_messages_from_subprocesses(run):
    destroyed = run.text_of('print(run_script("destroyed.py", DESTROYED))')
    assert destroyed.startswith("Task was destroyed but it is pending!\ntask: <Task pending name='orphan'")
    never = run.text_of('print(run_script("never_retrieved.py", NEVER_RETRIEVED))')
    assert "Task exception was never retrieved\nfuture: <Task finished name='fails'" in never
    assert "exception=ValueError('nobody looked at me')>" in never
    debug = run.text_of('DESTROYED, "-X", "dev"')
    assert "source_traceback: Object created at (most recent call last):" in debug
    assert re.search(r"destroyed.py\", line 9, in main\n\s+asyncio.create_task", debug), debug


def test_lesson_call_graph_cell(run):
    text = run.text_of("graph = asyncio.capture_call_graph(inner)")
    if sys.version_info >= (3, 14):
        assert text.startswith("task: inner\nits frames, innermost first: ['wait', 'inner_work']\n"
                               "awaited by: ['outer']\n\n* Task(name='inner', id=0x"), text
        assert "+ Awaited by:\n    * Task(name='outer', id=0x" in text, text
    else:
        assert text == (f"Python 3.{sys.version_info.minor} has no asyncio.capture_call_graph() (new in 3.14).\n"
                        "On 3.14+ this cell prints: task: inner; its frames, innermost first: ['wait', "
                        "'inner_work']; awaited by: ['outer'], then the same as a small tree.\n"), text


def test_lesson_pstree_of_a_live_script(run):
    text = run.text_of("STUCK = '''")
    if sys.version_info >= (3, 14):
        assert text.startswith("the script says: stuck\n\n$ python -m asyncio ps "), text
        table = text[:text.index("$ python -m asyncio pstree")].splitlines()[5:8]
        assert [row.split()[2] for row in table] == ["Task-1", "A->B", "B->A"], text
        _check_tree(text[text.index("$ python -m asyncio pstree"):].splitlines()[1:13])
        assert text.endswith("You made no prediction. What happened: 9.\n"), text
        # line 9 of the script the lesson wrote is where both transfers wait
        source = run.nb.cells[run.cells_with("STUCK = '''")[0]].source
        assert textwrap.dedent(source.split("'''")[1]).splitlines()[8].strip().startswith("async with second:")
    else:
        assert text.startswith(f"Python 3.{sys.version_info.minor} has no `python -m asyncio ps` or `pstree` "
                               "(new in 3.14; here `python -m asyncio` starts an asyncio REPL instead).\n"), text


def test_lesson_predictions_are_answered(run):
    text = run.text
    for line in ["You made no prediction. What happened: worker-2 worker-3.",
                 "You made no prediction. What happened: none.",
                 "You made no prediction. What happened: A->B B->A.",
                 "You made no prediction. What happened: no."]:
        assert line in text, line
    assert run.text_of('DESTROYED, "-X", "dev"').endswith("You made no prediction. What happened: 9.\n")
    assert "exit status: 0" in run.text_of('print(run_script("destroyed.py", DESTROYED))')


def test_every_cell_can_run_twice_and_nothing_is_orphaned():
    """Re-running the deadlock cell used to orphan the first deadlocked pair; checked on every
    Python (test_rerun.py checks all lessons on one), on stdout as well as stderr."""
    for _, source, first, second in execute_twice(LESSON).pairs():
        if "run_script(" in source:
            continue            # those cells show the messages on purpose, from a subprocess
        assert not errors_in(second), (source[:80], errors_in(second))
        for outputs in (first, second):
            out = "".join(o.text for o in outputs if o.output_type == "stream")
            assert "Task was destroyed but it is pending" not in out, (source[:80], out)
            assert "Task exception was never retrieved" not in out, (source[:80], out)


def test_lesson_links(run):
    text = (ROOT / LESSON).read_text(encoding="utf-8")
    for target in ("07-blocking-the-loop.ipynb", "09-patterns.ipynb",
                   "../exercises/08-debugging-and-introspection.ipynb"):
        assert target in text


# ---------------------------------------------------------------- (c) the exercise's check




def test_solution_passes():
    result = check(function_from("solutions/08-debugging-and-introspection.ipynb", "find_stuck"))
    assert result.passed, result.message
    assert result.seconds < 2.0


async def _includes_itself():
    return {t.get_name(): f"{t.get_stack()[-1].f_code.co_name}:{t.get_stack()[-1].f_lineno}"
            for t in asyncio.all_tasks()}


async def _first_line_of_the_function():
    me = asyncio.current_task()
    return {t.get_name(): f"{t.get_coro().__name__}:{t.get_coro().cr_code.co_firstlineno}"
            for t in asyncio.all_tasks() if t is not me}


async def _returns_a_list():
    me = asyncio.current_task()
    return [t.get_name() for t in asyncio.all_tasks() if t is not me]


async def _names_only():
    me = asyncio.current_task()
    return {t.get_name(): t.get_coro().__name__ for t in asyncio.all_tasks() if t is not me}


@pytest.mark.parametrize("wrong, words", [
    (_includes_itself, "which is running, not stuck"),
    (_first_line_of_the_function, "expected '_waits_on_event:"),
    (_returns_a_list, "expected a dict {task name: where}"),
    (_names_only, "it said '_waits_on_event'; expected '_waits_on_event:"),
])
def test_wrong_answers_fail_with_a_sentence(wrong, words):
    wrong.__name__ = "find_stuck"
    result = check(wrong)
    assert result.status == "failed", result.message
    assert words in result.message, result.message
    assert "Traceback" not in result.message
