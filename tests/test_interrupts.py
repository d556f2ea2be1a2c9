"""Kernel > Interrupt, sent for real (SIGINT through jupyter_client) to a kernel of this Python.

- An awaiting cell interrupted inside `async with asynclab.trace():` ends with KeyboardInterrupt
  (ipykernel itself turns the interrupt into a cancellation of the cell's task: CancelledError),
  at once, even when it awaits something that never happens (without the trace ipykernel's
  cancellation waits until the loop wakes up for something else: see asynclab/interrupts.py).
- The learner's own `task.cancel()` inside a trace still ends with CancelledError, and so does an
  interrupted awaiting cell without a trace (ipykernel's behaviour, which lesson 10 shows).
- A trace inside a task the cell awaits is left alone (CancelledError), and the kernel lives on.
- Interrupting a check of an answer that spins stops the check's threads at once and ends the cell
  with one sentence, no traceback.

All cells run in one kernel, in this order; every wait has a time limit.
"""

import time

import pytest

from nbrun import kernel_manager, python_version

LIMIT = 60            # seconds any one cell may take, interrupt included (nothing hangs)


@pytest.fixture(scope="module")
def kernel():
    km = kernel_manager()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=LIMIT)
        ran = run(km, kc, "import sys; print('%d.%d.%d' % sys.version_info[:3])")
        assert ran.text.strip() == python_version(), f"the kernel ran Python {ran.text!r}"
        ready = run(km, kc, "import asyncio, signal, threading, time, asynclab")
        assert ready.error is None, ready.error
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


class Ran:
    def __init__(self, text, error):
        self.text = text                  # what the cell printed or displayed
        self.error = error                # the error output's content (ename, evalue, traceback) or None


def run(km, kc, code, interrupt_after=None):
    """Run `code`; once it printed `interrupt_after`, interrupt the kernel.  Returns a `Ran`."""
    msg_id = kc.execute(code)
    printed, error, interrupted = [], None, False
    deadline = time.monotonic() + LIMIT
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"the cell did not finish within {LIMIT} s:\n{code}\nIt printed: {printed}"
        msg = kc.get_iopub_msg(timeout=left)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            printed.append(content["text"])
            if interrupt_after and not interrupted and interrupt_after in "".join(printed):
                km.interrupt_kernel()
                interrupted = True
        elif kind in ("execute_result", "display_data"):
            printed.append(content["data"].get("text/plain", ""))
        elif kind == "error":
            error = content
        elif kind == "status" and content["execution_state"] == "idle":
            assert interrupt_after is None or interrupted, f"the cell never printed {interrupt_after!r}"
            return Ran("".join(printed), error)


def test_interrupt_inside_a_trace_ends_with_keyboard_interrupt(kernel):
    ran = run(*kernel, """
try:
    async with asynclab.trace() as tl:
        print("waiting", flush=True)
        await asyncio.Event().wait()        # nothing ever sets it: only the interrupt ends this
finally:
    print("the block's finally ran", flush=True)
""", interrupt_after="waiting")
    assert ran.error is not None and ran.error["ename"] == "KeyboardInterrupt", ran.error
    assert "the block's finally ran" in ran.text
    # The next awaiting cell has ipykernel's own SIGINT handler again, not the trace's.
    after = run(*kernel, "await asyncio.sleep(0)\n"
                         "print(signal.getsignal(signal.SIGINT).__module__)")
    assert after.error is None and after.text.strip().startswith("ipykernel"), after.text


def test_the_learners_own_cancel_in_a_trace_is_still_cancelled_error(kernel):
    ran = run(*kernel, """
async with asynclab.trace() as tl:
    sleeper = asyncio.create_task(asyncio.sleep(30))
    await asyncio.sleep(0.01)
    sleeper.cancel()
    await sleeper
""")
    assert ran.error is not None and ran.error["ename"] == "CancelledError", ran.error


def test_interrupt_without_a_trace_is_cancelled_error(kernel):
    """ipykernel's own behaviour, unchanged: an awaiting cell is cancelled (lesson 10 says so), once
    the loop wakes up (here at the latest when the sleep ends)."""
    ran = run(*kernel, "print('waiting', flush=True)\nawait asyncio.sleep(3)", interrupt_after="waiting")
    assert ran.error is not None and ran.error["ename"] == "CancelledError", ran.error


def test_a_trace_in_a_task_the_cell_awaits_is_left_alone(kernel):
    """A KeyboardInterrupt raised in a task other than the cell's would stop the kernel's loop."""
    ran = run(*kernel, """
async def job():
    async with asynclab.trace():
        print("waiting", flush=True)
        await asyncio.sleep(3)
await asyncio.create_task(job())
""", interrupt_after="waiting")
    assert ran.error is not None and ran.error["ename"] == "CancelledError", ran.error
    assert run(*kernel, "print('still alive')").text.strip() == "still alive"


def test_interrupting_a_check_stops_its_threads_and_says_so(kernel):
    before = run(*kernel, """
from asynclab.checks import check

async def fetch_all(fetch, ids):        # an answer that spins: it never gives the loop back
    await asyncio.sleep(0.1)
    print("spinning", flush=True)
    while True:
        pass

threads_before = {t.ident for t in threading.enumerate()}
""")
    assert before.error is None, before.error
    ran = run(*kernel, "check(fetch_all, limit=60)", interrupt_after="spinning")
    assert ran.error is not None, ran.text
    sentence = "\n".join(ran.error["traceback"])
    assert ran.error["ename"] == "CheckInterrupted", ran.error
    assert "you interrupted the check, and it stopped your code" in sentence, sentence
    assert len(ran.error["traceback"]) == 1 and "asynclab" not in sentence and "File " not in sentence
    # Gone at once, not after the check's 60 s: no thread the check started is still alive.
    left = run(*kernel, """
deadline = time.monotonic() + 10
while (extra := [t.name for t in threading.enumerate() if t.ident not in threads_before]) \\
        and time.monotonic() < deadline:
    time.sleep(0.05)
print("extra threads:", extra)
""")
    assert "extra threads: []" in left.text, left.text


def test_an_interrupted_check_is_still_a_keyboard_interrupt():
    """So "Run All" stops at it, and Ctrl-C still ends a script that runs checks."""
    from asynclab.checks.core import CheckInterrupted
    assert issubclass(CheckInterrupted, KeyboardInterrupt)
