"""Lesson 04, asyncio.run inside a running loop: every claim the lesson makes, and the run_sync check.

Three kinds of test:
- the claims reproduced directly (plain asyncio, subprocesses, throwaway kernels), so a Python or
  ipykernel release that changes the behaviour fails here even if the notebook still runs;
- what the executed lesson printed (the same claims, as the learner sees them);
- the exercise check: the solution passes, wrong answers fail with a sentence that names the
  problem, and the stub reports "not solved".  That no answer can make the check hang or leak a
  traceback is tested for all exercises at once in test_checks_robust.py.

Anything that patches asyncio (nest_asyncio) runs in a subprocess, never in the pytest process.
"""

import asyncio
import concurrent.futures
import gc
import importlib.util
import inspect
import queue
import re
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from importlib import metadata
from pathlib import Path

import nbformat
import pytest

import asynclab
from nbclient import NotebookClient

from nbrun import ROOT, execute

# Where ipykernel 6 (Google Colab's) and 7 differ, the lesson shows what its kernel does.
IPYKERNEL_6 = metadata.version("ipykernel").startswith("6.")
KERNEL_TASK = "Kernel.dispatch_queue" if IPYKERNEL_6 else "Kernel.shell_main"
NEST = "nest_asyncio" if IPYKERNEL_6 else "nest_asyncio2"       # what ipykernel's Tk loop applies
HAS_NEST2 = importlib.util.find_spec("nest_asyncio2") is not None

LESSON = "notebooks/04-asyncio-run-in-jupyter.ipynb"
SOLUTION = "solutions/04-asyncio-run-in-jupyter.ipynb"
EXERCISE = "exercises/04-asyncio-run-in-jupyter.ipynb"

RUN_ERROR = "asyncio.run() cannot be called from a running event loop"
RUNNING_ERROR = "This event loop is already running"


async def answer():
    await asyncio.sleep(0.01)
    return 42


# --------------------------------------------------------------------------------------------
# (a) the claims, reproduced directly


def test_asyncio_run_refuses_inside_a_running_loop_before_starting_the_coroutine():
    async def main():
        coro = answer()
        with pytest.raises(RuntimeError) as info:
            asyncio.run(coro)
        assert str(info.value) == RUN_ERROR
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CREATED
        coro.close()
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED

    asyncio.run(main())


def _warnings_from(make_and_drop):
    gc.collect()    # what earlier tests left (kernel clients' sockets) warns now, not in the block
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_and_drop()
        gc.collect()
    return [f"{w.category.__name__}: {w.message}" for w in caught]


def test_the_refused_coroutine_warns_unless_closed():
    def refused(close):
        async def main():
            coro = answer()
            try:
                asyncio.run(coro)
            except RuntimeError:
                pass
            if close:
                coro.close()
        asyncio.run(main())

    assert _warnings_from(lambda: refused(False)) == [
        "RuntimeWarning: coroutine 'answer' was never awaited"]
    assert _warnings_from(lambda: refused(True)) == []


def test_run_until_complete_refuses_and_get_event_loop_returns_the_running_loop():
    async def main():
        loop = asyncio.get_running_loop()
        assert asyncio.get_event_loop() is loop          # the "old tutorial" spelling
        coro = answer()
        with pytest.raises(RuntimeError) as info:
            loop.run_until_complete(coro)
        coro.close()
        assert str(info.value) == RUNNING_ERROR

    asyncio.run(main())


OLD_RECIPE = textwrap.dedent('''
    import asyncio

    async def main():
        await asyncio.sleep(0.01)
        return 42

    loop = asyncio.get_event_loop()
    print("result:", loop.run_until_complete(main()))
''')


def test_the_old_recipe_in_a_script_runs_warns_or_raises_by_version(tmp_path):
    script = tmp_path / "old.py"
    script.write_text(OLD_RECIPE)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    if sys.version_info >= (3, 14):
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.splitlines()[-1] == \
            "RuntimeError: There is no current event loop in thread 'MainThread'."
    elif sys.version_info >= (3, 12):
        assert done.returncode == 0 and done.stdout == "result: 42\n"
        assert f"{script}:8: DeprecationWarning: There is no current event loop" in done.stderr
    else:
        assert (done.returncode, done.stdout, done.stderr) == (0, "result: 42\n", "")


def test_a_runner_keeps_one_loop_for_every_call_until_closed():
    async def loop_of():
        await asyncio.sleep(0)
        return asyncio.get_running_loop()

    with asyncio.Runner() as runner:
        first, second = runner.run(loop_of()), runner.run(loop_of())
        assert first is second and not first.is_closed()
    assert first.is_closed()
    assert asyncio.run(loop_of()) is not asyncio.run(loop_of())


def test_a_new_thread_has_no_running_loop():
    seen = []

    def look():
        try:
            asyncio.get_running_loop()
            seen.append("a loop")
        except RuntimeError as e:
            seen.append(str(e))

    thread = threading.Thread(target=look)
    thread.start()
    thread.join(5)
    assert seen == ["no running event loop"]


def test_a_worker_thread_runs_the_coroutine_on_another_loop_which_is_closed_afterwards():
    async def where():
        await asyncio.sleep(0.01)
        return threading.current_thread(), asyncio.get_running_loop()

    async def main():
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            thread, loop = pool.submit(asyncio.run, where()).result(timeout=10)
        assert thread is not threading.current_thread()
        assert loop is not asyncio.get_running_loop()
        assert loop.is_closed()

    asyncio.run(main())


async def _heartbeat(ticks):
    while True:
        ticks.append(time.perf_counter())
        await asyncio.sleep(0.02)


def _ticks_during(blocking):
    """How often a 20 ms heartbeat ticks while 250 ms of work runs awaited or in a blocked worker."""
    async def work():
        return await asyncio.gather(asyncio.sleep(0.05), asyncio.sleep(0.25), asyncio.sleep(0.15))

    async def main():
        ticks, span = [], {}
        beat = asyncio.create_task(_heartbeat(ticks))
        await asyncio.sleep(0.05)

        async def the_work():
            span["start"] = time.perf_counter()
            if blocking:
                with concurrent.futures.ThreadPoolExecutor(1) as pool:
                    pool.submit(asyncio.run, work()).result(timeout=10)
            else:
                await work()
            span["end"] = time.perf_counter()

        await asyncio.create_task(the_work())
        beat.cancel()
        return sum(span["start"] < t < span["end"] for t in ticks)

    return asyncio.run(main())


def test_the_heartbeat_sleeps_20_ms_then_is_ready_while_the_worker_blocks_the_loop():
    """Section 5's second picture: the heartbeat's bar is a short sleep, then a long ready span
    (its timer fired, but the loop sat in .result()), not one long sleep."""
    async def main():
        ticks = []
        async with asynclab.trace() as tl:
            beat = asyncio.create_task(_heartbeat(ticks), name="heartbeat")
            await asyncio.sleep(0.05)

            def work():
                with concurrent.futures.ThreadPoolExecutor(1) as pool:
                    pool.submit(asyncio.run, asyncio.sleep(0.25)).result(timeout=10)
            started = time.perf_counter()
            work()
            ended = time.perf_counter()
            await asyncio.sleep(0.05)       # the heartbeat's late tick runs, then a normal one
            beat.cancel()
        return tl, started - tl.origin, ended - tl.origin
    tl, started, ended = asyncio.run(main())
    heartbeat = tl.by_name("heartbeat")
    ready = [(a, b) for a, b in heartbeat.ready if a < ended and b > started]
    assert ready and max(b - a for a, b in ready) > 0.15, heartbeat.ready
    sleeps = [(a, b) for a, b, what in heartbeat.waiting if what == "sleep" and a < ended and b > started]
    assert sleeps and all(b - a < 0.1 for a, b in sleeps), heartbeat.waiting


def test_a_blocking_worker_thread_stops_the_callers_loop_and_await_does_not():
    assert _ticks_during(blocking=True) == 0          # deterministic: one step, no yield
    assert _ticks_during(blocking=False) > 0          # ~12 expected: a wide margin, even under load


def test_awaiting_a_task_from_another_loop_fails_and_poisons_it_for_its_own_loop():
    async def main():
        slow = asyncio.create_task(asyncio.sleep(0.5, result="S"), name="S")

        async def wait_for_it(aw):
            return await aw

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            with pytest.raises(RuntimeError) as info:
                pool.submit(asyncio.run, wait_for_it(slow)).result(timeout=10)
        assert re.fullmatch(r"Task <Task pending name='Task-\d+' coro=<.*wait_for_it\(\).*> "
                            r"got Future <Task pending name='S' coro=<sleep\(\).*>> "
                            r"attached to a different loop", str(info.value)), str(info.value)
        with pytest.raises(RuntimeError) as again:
            await slow
        assert str(again.value) == "await wasn't used with future"
        await asyncio.wait([slow])
        assert slow.result() == "S"

    asyncio.run(main())


def test_run_coroutine_threadsafe_deadlocks_when_the_caller_blocks_and_works_when_it_awaits():
    async def main():
        loop = asyncio.get_running_loop()

        def worker():
            future = asyncio.run_coroutine_threadsafe(asyncio.sleep(0.01, result="K"), loop)
            try:
                return future.result(timeout=0.5)
            except concurrent.futures.TimeoutError:
                future.cancel()
                raise

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            with pytest.raises(concurrent.futures.TimeoutError):
                pool.submit(worker).result(timeout=10)        # blocks this loop: deadlock
        assert await asyncio.to_thread(worker) == "K"

    asyncio.run(main())


def test_jupyter_core_run_sync_keeps_a_runner_thread():
    from jupyter_core.utils import run_sync

    async def name():
        return threading.current_thread().name

    def in_thread():
        async def main():
            return run_sync(name)()
        out.append(asyncio.run(main()))

    out = []
    caller = threading.Thread(target=in_thread, name="lesson04-caller")
    caller.start()
    caller.join(10)
    assert out == ["lesson04-caller - runner"]
    assert "lesson04-caller - runner" in [t.name for t in threading.enumerate()]


NEST_SCRIPT = textwrap.dedent('''
    import asyncio, importlib, inspect, sys
    nest = importlib.import_module(sys.argv[1])
    counter = 0

    async def ticker():
        global counter
        while True:
            counter += 1
            await asyncio.sleep(0)

    def facts(loop):
        task = loop.create_task(asyncio.sleep(0))
        task.cancel()
        return [asyncio.run.__module__, type(loop).run_until_complete.__module__,
                type(loop)._check_running.__module__,
                asyncio.Task is asyncio.tasks._PyTask, hasattr(asyncio, "_nest_patched"),
                type(task).__module__, asyncio.Future is asyncio.futures._PyFuture]

    async def timeout_in_a_task():
        try:
            async with asyncio.timeout(1):
                await asyncio.sleep(0)
            return "works"
        except RuntimeError as e:
            return f"{type(e).__name__}: {e}"

    async def main():
        loop = asyncio.get_running_loop()
        print(facts(loop))
        nest.apply()
        print(facts(loop))
        t = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = counter
        print(asyncio.run(asyncio.sleep(0.05, result=42)), counter - before > 0)
        t.cancel()
        print("loop_factory" in inspect.signature(asyncio.run).parameters)
        print(await asyncio.create_task(timeout_in_a_task()))

    asyncio.run(main())
''')


@pytest.mark.parametrize("module", ["nest_asyncio", "nest_asyncio2"])
def test_nest_asyncio_patches_asyncio_and_lets_other_tasks_run_inside_a_plain_call(module, tmp_path):
    if module == "nest_asyncio2" and not HAS_NEST2:
        pytest.skip("nest-asyncio2 is not installed (ipykernel 6 does not depend on it)")
    script = tmp_path / "nest.py"
    script.write_text(NEST_SCRIPT)
    done = subprocess.run([sys.executable, str(script), module], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == ("['asyncio.runners', 'asyncio.base_events', 'asyncio.base_events', False, False, "
                        "'_asyncio', False]")
    # nest_asyncio 1.6.0 swaps in the pure-Python Task and Future on every version; nest-asyncio2
    # keeps the C ones from 3.14 on.
    pure_python_task = module == "nest_asyncio" or sys.version_info < (3, 14)
    task_module = "asyncio.tasks" if pure_python_task else "_asyncio"
    assert lines[1] == (f"['{module}', '{module}', '{module}', {pure_python_task}, True, '{task_module}', "
                        f"{pure_python_task}]")
    assert lines[2] == "42 True"
    # 3.12 added asyncio.run(..., loop_factory=...): nest_asyncio 1.6.0's replacement lacks it.
    expected = sys.version_info >= (3, 12) and module == "nest_asyncio2"
    assert lines[3] == str(expected)
    # 3.14: current_task() no longer sees pure-Python tasks, so asyncio.timeout() refuses to work.
    broken = module == "nest_asyncio" and sys.version_info >= (3, 14)
    assert lines[4] == ("RuntimeError: Timeout should be used inside a task" if broken else "works")


def test_ipykernel_depends_on_nest_asyncio2_and_applies_it_only_for_tk():
    import ipykernel
    import ipykernel.eventloops

    needs = [r for r in metadata.requires("ipykernel") if r.lower().startswith("nest")]
    assert needs == (["nest-asyncio"] if IPYKERNEL_6 else ["nest-asyncio2>=1.7.0"]), needs
    assert metadata.version("nest-asyncio") == "1.6.0"
    hits = []
    for path in sorted(Path(ipykernel.__file__).parent.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "nest_asyncio" in text:
            hits.append(path.name)
    assert hits == ["eventloops.py"]
    assert f"{NEST}.apply()" in inspect.getsource(ipykernel.eventloops.loop_tk)
    assert inspect.getsource(ipykernel.eventloops).count(f"{NEST}.apply()") == 1


def _mini_notebook(sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True).execute()
    out = []
    for cell in nb.cells:
        text = ""
        for o in cell.outputs:
            if o.output_type == "stream":
                text += o.text
            elif o.output_type == "error":
                text += f"{o.ename}: {o.evalue}"
            elif o.output_type == "execute_result":
                text += o.data.get("text/plain", "")
        out.append(text)
    return out


def test_in_a_kernel_cells_share_a_context_run_in_a_task_and_percent_run_fails(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import asyncio\nasync def m():\n    return 5\nprint(asyncio.run(m()))\n")
    out = _mini_notebook([
        "import contextvars, asyncio\nv = contextvars.ContextVar('v')\nv.set('from cell 1')",
        "print(v.get('not set'))",
        "print(asyncio.current_task().get_coro().__qualname__, asyncio.run.__module__)",
        f"%run {script}",
        f"!{sys.executable} {script}",
    ])
    assert out[1] == "from cell 1\n"
    assert out[2] == f"{KERNEL_TASK} asyncio.runners\n"
    assert out[3] == f"RuntimeError: {RUN_ERROR}"
    assert out[4].strip() == "5"


def _throwaway_kernel(cells, queued=True, limit=60):
    """Independent of the notebook's helper: (status per cell, output per cell)."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=limit,
                              stderr=subprocess.DEVNULL)  # a busy machine may take long to start one
    try:
        replies, printed = {}, {}

        def next_reply(timeout):
            msg = kc.get_shell_msg(timeout=timeout)
            replies[msg["parent_header"].get("msg_id")] = msg["content"]["status"]

        ids = []
        for source in cells:
            ids.append(kc.execute(source))
            while not queued and ids[-1] not in replies:
                next_reply(limit)
        last, probed = ids[-1], False
        while last not in replies:
            try:
                next_reply(1.0 if not probed else limit)
            except queue.Empty:
                assert not probed, "the throwaway kernel stopped answering"
                last, probed = kc.execute("pass"), True
        while True:
            msg = kc.get_iopub_msg(timeout=limit)
            parent = msg["parent_header"].get("msg_id")
            if msg["msg_type"] == "stream":
                printed[parent] = printed.get(parent, "") + msg["content"]["text"]
            elif (msg["msg_type"] == "status" and parent == last
                  and msg["content"]["execution_state"] == "idle"):
                break
        return [replies.get(i, "NO REPLY") for i in ids], [printed.get(i, "") for i in ids]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _cells(module):
    return ["import time\ntime.sleep(0.3)\nprint('one')",
            f"import asyncio, {module}\n{module}.apply()\n"
            "async def a():\n    await asyncio.sleep(0.01)\n    return 42\nprint(asyncio.run(a()))",
            "print('three')", "print('four')"]


def test_run_all_drops_the_cells_queued_behind_nest_asyncio_apply_and_asyncio_run():
    statuses, printed = _throwaway_kernel(_cells("nest_asyncio"))
    if IPYKERNEL_6:      # the queued cells wait in a queue that cell 2's own task reads: none dropped
        assert statuses == ["ok"] * 4 and printed[3] == "four\n", (statuses, printed)
        return
    assert statuses == ["ok", "ok", "NO REPLY", "NO REPLY"], statuses
    assert "42\n" in printed[1]
    errors = re.findall(r"RuntimeError: cannot enter context: <_contextvars.Context object at "
                        r"0x[0-9a-f]+> is already entered", printed[1])
    refused = re.findall(r"RuntimeError: Cannot enter into task <Task pending .*> while another task "
                         r"<Task pending name='Task-\d+' coro=<Kernel.shell_main\(\) .*> is being executed.",
                         printed[1])
    # one error for each cell queued behind cell 2; from 3.14 some read "Cannot enter into task"
    # instead (seen: one of each, and two "cannot enter context"; it varies from run to run)
    assert len(errors) + len(refused) == 2, printed[1]
    if sys.version_info < (3, 14):
        assert len(refused) == 0, printed[1]
    assert printed[1].count("Exception in callback ") == 2, printed[1]
    # One cell at a time, nothing is lost; with the fork, nothing is lost either.
    assert _throwaway_kernel(_cells("nest_asyncio"), queued=False)[0] == ["ok"] * 4
    statuses, printed = _throwaway_kernel(_cells("nest_asyncio2"))
    assert statuses == ["ok"] * 4 and printed[3] == "four\n"


# --------------------------------------------------------------------------------------------
# (b) what the lesson printed


@pytest.fixture(scope="module")
def lesson():
    return execute(LESSON)


def test_lesson_shows_the_kernels_loop_and_task(lesson):
    text = lesson.text_of("kernel_loop = loop")
    assert "is it running? True" in text
    assert f"this cell runs inside a task whose coroutine is: {KERNEL_TASK}" in text
    assert "thread: MainThread" in text
    assert "You made no prediction. What happened: yes." in text
    assert "You made no prediction. What happened: no." in lesson.text_of("def ask_for_loop")
    assert "in a new thread:      RuntimeError: no running event loop" in lesson.text_of("def ask_for_loop")


def test_lesson_shows_the_exact_errors_and_the_warning(lesson):
    text = lesson.text_of("coro = answer()                       # a coroutine object")
    assert text == (f"RuntimeError: {RUN_ERROR}\nstate of the coroutine: CORO_CREATED\n"
                    "You made no prediction. What happened: error.\n")
    assert lesson.text_of("warnings.catch_warnings(record=True)") == \
        "RuntimeWarning: coroutine 'answer' was never awaited\n"
    assert lesson.text_of("kernel_loop.run_until_complete(coro)") == f"RuntimeError: {RUNNING_ERROR}\n"
    assert lesson.text_of("asyncio.get_event_loop().run_until_complete(coro)") == \
        f"RuntimeError: {RUNNING_ERROR}\nfixed with await: 42\n"


def test_lesson_fixes_await_script_and_worker(lesson):
    text = lesson.text_of("async with asynclab.trace() as tl:\n    results")
    assert "results: ['<A>', '<B>', '<C>']" in text
    assert "finished in the order: ['fetch A', 'fetch C', 'fetch B']" in text
    assert "ran on the kernel's loop: True" in text
    assert "You made no prediction. What happened: A C B." in text
    assert lesson.text_of("print(run_script(SCRIPT)") == \
        "before asyncio.run(): no running event loop\nresults: ['<A>', '<B>', '<C>']\n"
    text = lesson.text_of("thread_name, worker_loop")
    assert "the coroutine: thread worker_0" in text
    assert "same loop? False | the worker's loop is closed now: True" in text


def test_lesson_old_recipe_and_runner(lesson):
    text = lesson.text_of("OLD_RECIPE = ")
    version = "%d.%d.%d" % sys.version_info[:3]
    if sys.version_info >= (3, 14):
        said, did = "RuntimeError: There is no current event loop in thread 'MainThread'.", "raises"
    elif sys.version_info >= (3, 12):
        said, did = "result: 42 | DeprecationWarning: There is no current event loop", "warns"
    else:
        said, did = "result: 42", "runs"
    assert text.splitlines()[0] == f"Python {version}: {said}", text
    assert text.splitlines()[2] == f"You made no prediction. What happened: {did}."
    text = lesson.text_of("async def remember_loop")
    assert text == ("asyncio.run twice:    the same loop both times? False\n"
                    "asyncio.Runner twice: the same loop both times? True | open between the calls: True "
                    "| closed by runner.close(): True\n"
                    "You made no prediction. What happened: no yes.\n")


def test_lesson_heartbeat_and_timelines(lesson):
    text = lesson.text_of("tl_thread, ticks_thread = await")
    found = dict(re.findall(r"(await|worker thread): .*the heartbeat (kept ticking|did not tick once) during", text))
    assert found == {"await": "kept ticking", "worker thread": "did not tick once"}, text
    assert "You made no prediction. What happened: yes no." in text
    assert lesson.images() >= 3


def test_lesson_jupyter_core_and_cross_loop(lesson):
    text = lesson.text_of("jupyter_run_sync(where_am_i)")
    assert "thread: 'MainThread - runner'" in text and "still alive afterwards: True" in text
    text = lesson.text_of("cross_loop_error = ")
    assert text.startswith("RuntimeError: Task <Task pending") and \
        text.rstrip().endswith("attached to a different loop")
    text = lesson.text_of("print(await slow)")
    assert text == ("awaiting it on its own loop: RuntimeError: await wasn't used with future\n"
                    "the task itself finished normally: <S>\n")
    text = lesson.text_of("def make_and_await")
    assert "made and awaited on the worker's loop: <S>" in text
    assert "scheduled on the kernel's loop from another thread: ('<K>'" in text
    assert lesson.text_of("def worker_needs_the_kernel_loop") == (
        "TimeoutError after 0.5 s: the kernel's loop never ran the request\n"
        "fixed by awaiting the worker: <K>\n")


def test_lesson_nest_asyncio_facts(lesson):
    text = lesson.text_of("NEST_SCRIPT = ")
    for module in ("nest_asyncio", "nest_asyncio2"):
        block = text.split(f"--- {module}:\n")[1].split("---")[0].split("(_asyncio")[0]
        if module == "nest_asyncio2" and not HAS_NEST2:
            assert block == "not installed here; `%pip install nest-asyncio2` to see it too\n", block
            continue
        pure_python_task = module == "nest_asyncio" or sys.version_info < (3, 14)
        broken = module == "nest_asyncio" and sys.version_info >= (3, 14)
        assert block == (
            "before apply(): asyncio.run from 'asyncio.runners'; new tasks are _asyncio.Task\n"
            f"after apply() : asyncio.run from '{module}'; new tasks are "
            f"{'asyncio.tasks.Task' if pure_python_task else '_asyncio.Task'}\n"
            "asyncio.run() inside the running loop returned 42\n"
            "the ticker task ran inside plain_function(), which has no await: True\n"
            "asyncio.timeout() in a new task: "
            f"{'RuntimeError: Timeout should be used inside a task' if broken else 'works'}\n"), block
    assert f"This is Python {'%d.%d.%d' % sys.version_info[:3]}. Elsewhere: on 3.11-3.13" in text
    assert text.endswith("You made no prediction. What happened: yes.\n")
    text = lesson.text_of("needs = [r for r in metadata.requires")
    assert f"requires: {['nest-asyncio'] if IPYKERNEL_6 else ['nest-asyncio2>=1.7.0']}" in text
    assert f"ipykernel's Tk loop (%gui tk) calls: {NEST}.apply()" in text
    assert "in this kernel asyncio.run comes from: asyncio.runners" in text


def _errors_shown(block):
    """[(kind of RuntimeError, times)] in the "cell 2:" line of report()'s output."""
    line = next(line for line in block.splitlines() if line.strip().startswith("cell 2:"))
    shown = []
    for piece in line.split(" | "):
        for kind in ("cannot enter context", "Cannot enter into task"):
            if f"RuntimeError: {kind}" in piece:
                times = re.search(r"\(printed (\d+) times\)$", piece)
                shown.append((kind, int(times.group(1)) if times else 1))
    return shown


def test_lesson_run_all_cell_drop(lesson):
    text = lesson.text_of("run_all[module, queued] = ")
    blocks = text.split("nest_asyncio")
    queued, one_by_one, fork = (b for b in blocks[1:])
    assert f"with ipykernel {metadata.version('ipykernel')}. Cell 2 shows one RuntimeError" in text
    if IPYKERNEL_6:
        assert all(f"cell {n}: ok" in b for b in (queued, one_by_one) for n in (1, 2, 3, 4)), text
        assert ("not installed here" in fork) if not HAS_NEST2 else all(f"cell {n}: ok" in fork for n in (1, 2, 3, 4)), fork
        assert text.endswith("with ipykernel 6 (Colab) all four reply, queued or not.\n"
                             "You made no prediction. What happened: 1 2 3 4.\n"), text
        return
    assert "cell 3: NO REPLY" in queued and "cell 4: NO REPLY" in queued
    assert _errors_shown(queued) in (([("cannot enter context", 2)],) if sys.version_info < (3, 14) else
                                     ([("cannot enter context", 2)],
                                      [("Cannot enter into task", 1), ("cannot enter context", 1)],
                                      [("cannot enter context", 1), ("Cannot enter into task", 1)],
                                      [("Cannot enter into task", 2)])), queued
    assert "cell 2: asyncio.run() returned 42" in queued
    for block in (one_by_one, fork):
        assert all(f"cell {n}: ok" in block for n in (1, 2, 3, 4)), block
        assert "cell 4 ran" in block
    assert text.endswith("Cells 3 and 4 never reply on any of them with ipykernel 7; with ipykernel 6 "
                         "(Colab) all four reply, queued or not.\n"
                         "You made no prediction. What happened: 1 2.\n"), text


def test_lesson_04_is_light_where_a_first_reader_stalls():
    """The contextvars / Run All details sit in a marked "Going further" section after the summary,
    and nothing points learners at files they do not have."""
    nb = nbformat.read(str(ROOT / LESSON), as_version=4)
    heads = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown"
             and c.source.startswith("## ")]
    assert heads[-2:] == ["## Summary",
                          '## Going further: inside nest_asyncio, and the "Run All" cell drop'], heads
    going = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## Going further"))
    for needle in ("contextvars", "_run_once", "def run_in_throwaway_kernel"):
        where = [i for i, c in enumerate(nb.cells) if needle in c.source]
        assert where and min(where) >= going, (needle, where)
    text = (ROOT / LESSON).read_text(encoding="utf-8")
    assert "GUIDE" not in text


def test_lesson_playground(lesson):
    text = lesson.text_of("pg.set(approach=approach")
    ticks = dict(re.findall(r"^(.*?): 3 results in \d+ ms; the heartbeat (kept ticking|did not tick once) "
                            r"while the cell waited$", text, re.M))
    assert ticks == {"top-level await": "kept ticking", "worker thread (blocking)": "did not tick once",
                     "worker thread (await asyncio.to_thread)": "kept ticking",
                     "subprocess script": "did not tick once"}, text


def test_lesson_links():
    text = (ROOT / LESSON).read_text(encoding="utf-8")
    for target in ("03-semaphore-limits.ipynb", "05-errors-and-cancellation.ipynb",
                   "../exercises/04-asyncio-run-in-jupyter.ipynb"):
        assert target in text


# --------------------------------------------------------------------------------------------
# (c) the check


def _function_from(relpath):
    nb = nbformat.read(str(ROOT / relpath), as_version=4)
    source = next(c.source for c in nb.cells if c.cell_type == "code" and "def run_sync(" in c.source)
    namespace = {}
    exec(compile("import asyncio\nimport threading\n" + source, relpath, "exec"), namespace)
    return namespace["run_sync"]


def _check(fn):
    from asynclab.checks import check
    return check(fn, exercise="run_sync")


def test_the_solution_passes_quickly():
    result = _check(_function_from(SOLUTION))
    assert result.passed, result.message
    assert result.cases >= 7
    assert result.seconds < 4.0          # ~0.2 s measured; generous for a busy machine


def test_the_stub_is_not_solved():
    result = _check(_function_from(EXERCISE))
    assert result.status == "not solved", result.message
    assert "not solved yet" in result.message


def _plain_asyncio_run(coro):
    return asyncio.run(coro)


def _old_tutorial(coro):
    return asyncio.get_event_loop().run_until_complete(coro)


_POOL = concurrent.futures.ThreadPoolExecutor(1)


def _pooled(coro):
    if not asyncio.iscoroutine(coro):
        raise TypeError("not a coroutine")
    return _POOL.submit(asyncio.run, coro).result()


def _always_in_a_thread(coro, wrap=False, typecheck=True, join=True):
    if typecheck and not asyncio.iscoroutine(coro):
        raise TypeError("not a coroutine")
    box = {}

    def worker():
        try:
            box["r"] = asyncio.run(coro)
        except BaseException as e:
            box["e"] = e
        if not join:
            time.sleep(0.3)

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    if join:
        t.join()
    else:
        while not box:
            time.sleep(0.001)
    if "e" in box:
        raise RuntimeError(f"failed: {box['e']}") if wrap else box["e"]
    return box["r"]


def _wraps(coro):
    return _always_in_a_thread(coro, wrap=True)


def _no_typecheck(coro):
    return _always_in_a_thread(coro, typecheck=False)


def _no_join(coro):
    return _always_in_a_thread(coro, join=False)


def _calls_the_function(coro):
    if callable(coro):
        coro = coro()
    return _always_in_a_thread(coro)


def _swallows(coro):
    try:
        return _always_in_a_thread(coro)
    except (LookupError, ValueError):
        return None


def _deadlock(coro):
    if not asyncio.iscoroutine(coro):
        raise TypeError("not a coroutine")
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    return asyncio.run_coroutine_threadsafe(coro, loop).result()


def _returns_the_coroutine(coro):
    if not asyncio.iscoroutine(coro):
        raise TypeError("not a coroutine")
    return coro


WRONG = [
    (_plain_asyncio_run, "asyncio.run() cannot be called from a running event loop -- a loop already runs"),
    (_old_tutorial, "There is no current event loop in thread"),
    (_pooled, "was still running when run_sync returned"),
    (_wraps, "expected the coroutine's own LookupError, raised as it is (not wrapped)"),
    (_no_typecheck, "expected TypeError"),
    (_no_join, "was still running when run_sync returned"),
    (_calls_the_function, "given the coroutine function itself (not called), it returned 3; expected TypeError"),
    (_swallows, "instead of raising that exception"),
    (_deadlock, "it waits forever: the loop cannot run while run_sync blocks its thread"),
    (_returns_the_coroutine, "it returned the coroutine object itself, not its result"),
]


@pytest.mark.parametrize("fn, phrase", WRONG, ids=[f.__name__ for f, _ in WRONG])
def test_wrong_answers_fail_with_a_sentence_that_names_the_problem(fn, phrase):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)    # the check must close what it made
        result = _check(fn)
        gc.collect()
    assert result.status == "failed", result.message
    assert phrase in result.message, result.message
    assert "Traceback" not in result.message
    assert result.seconds < 4.0


NESTED_ANSWER = textwrap.dedent('''
    import asyncio, sys
    sys.path.insert(0, sys.argv[1])
    from asynclab.checks import check

    def run_sync(coro):
        import nest_asyncio
        if not asyncio.iscoroutine(coro):
            raise TypeError("not a coroutine")
        nest_asyncio.apply()
        return asyncio.run(coro)

    print(check(run_sync).message)
''')


def test_an_answer_that_applies_nest_asyncio_fails(tmp_path):
    """Run in a subprocess: the answer patches asyncio for the whole process."""
    script = tmp_path / "nested.py"
    script.write_text(NESTED_ANSWER)
    done = subprocess.run([sys.executable, str(script), str(ROOT)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "✘ run_sync:" in done.stdout
    assert "it ran the coroutine in the calling thread (nest_asyncio-style)" in done.stdout
    assert "nest_asyncio not applied: it patched asyncio" in done.stdout
    assert "asyncio.run now comes from 'nest_asyncio'" in done.stdout


def test_a_kernel_already_patched_is_reported(tmp_path):
    script = tmp_path / "patched.py"
    script.write_text(textwrap.dedent('''
        import asyncio, sys, threading
        sys.path.insert(0, sys.argv[1])
        import nest_asyncio
        nest_asyncio.apply(asyncio.new_event_loop())
        from asynclab.checks import check
        exec(sys.argv[2])
        print(check(run_sync).message)
    '''))
    solution = textwrap.dedent('''
        def run_sync(coro):
            if not asyncio.iscoroutine(coro):
                raise TypeError("no")
            box = {}
            def w():
                try:
                    box["r"] = asyncio.run(coro)
                except BaseException as e:
                    box["e"] = e
            t = threading.Thread(target=w); t.start(); t.join()
            if "e" in box:
                raise box["e"]
            return box["r"]
    ''')
    done = subprocess.run([sys.executable, str(script), str(ROOT), solution], capture_output=True,
                          text=True, timeout=60)
    assert "asyncio is not patched in this kernel: asyncio.run comes from 'nest_asyncio'" in done.stdout, \
        done.stdout + done.stderr


def test_no_stray_warnings_in_the_notebooks(lesson):
    """The only "never awaited" warning a learner sees is the one the lesson shows on purpose."""
    shown = [i for i, c in enumerate(lesson.nb.cells) if c.cell_type == "code"
             and "never awaited" in lesson.cell_text(i)]
    assert shown == lesson.cells_with("warnings.catch_warnings(record=True)")
    stderr = [o.text for c in lesson.nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "stream" and o.name == "stderr"]
    assert stderr == []
    for relpath in (SOLUTION, EXERCISE):
        assert "never awaited" not in execute(relpath).text
