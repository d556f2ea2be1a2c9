"""Kernel > Interrupt while a cell awaits: let it end with KeyboardInterrupt, as elsewhere.

How ipykernel (6.x and 7.x alike) handles SIGINT: a cell that awaits runs as a task of IPython's
`run_cell_async`, and while that task runs ipykernel replaces the SIGINT handler with one that
*cancels the task*.  So an interrupted awaiting cell ends with CancelledError, the very error the
learner's own `task.cancel()` gives.  (A cell that blocks, in time.sleep say, still gets
KeyboardInterrupt from Python's default handler.)

ipykernel's handler schedules that cancellation with tornado's `add_callback`, which, called on
the loop's own thread (as a signal handler is), uses `call_soon` and does not wake the loop: the
interrupt lands only when the loop wakes for something else (the end of a sleep, another task's
timer, a message), and a cell that awaits something that never comes cannot be interrupted at all
(ipython/ipykernel#881).

`InterruptWatch` notices, for one `async with` block run by the cell's own task, that SIGINT
arrived, and wakes the loop so that the cancellation happens at once; `surface()` then turns that
cancellation into KeyboardInterrupt.  Nowhere else: outside a kernel, in another thread, or in a
task the cell started it does nothing (a KeyboardInterrupt raised in such a task would escape the
kernel's event loop and stop the kernel), and a CancelledError that did not follow an interrupt
passes unchanged.
"""

import asyncio
import signal
import threading


class InterruptWatch:
    """Watches for Kernel > Interrupt from here until `stop()`; inert outside a kernel's cell."""

    def __init__(self):
        self.interrupted = False
        self._task = None
        self._kernels_handler = None
        task = asyncio.current_task()
        if threading.current_thread() is not threading.main_thread() or not _is_cell_task(task):
            return
        handler = signal.getsignal(signal.SIGINT)
        if not getattr(handler, "__module__", "").startswith("ipykernel"):
            return                            # not ipykernel's cancel-the-cell handler: leave it
        self._task, self._kernels_handler = task, handler
        self._loop = asyncio.get_running_loop()
        signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum, frame):
        self.interrupted = True
        self._kernels_handler(signum, frame)  # ipykernel's own: it schedules the cell's cancellation,
        self._loop.call_soon_threadsafe(lambda: None)   # but leaves the loop asleep: wake it

    def surface(self):
        """Call where a CancelledError leaves the block: raises KeyboardInterrupt instead when
        Kernel > Interrupt caused it, returns (so the caller re-raises) otherwise."""
        if self.interrupted and self._task.cancelling():
            self._task.uncancel()             # this cancellation ends here, as KeyboardInterrupt
            raise KeyboardInterrupt from None  # Kernel > Interrupt (ipykernel cancels an awaiting cell)

    def stop(self):
        """Give ipykernel its handler back, unless something replaced ours in the meantime."""
        if self._kernels_handler is not None and signal.getsignal(signal.SIGINT) == self._on_sigint:
            signal.signal(signal.SIGINT, self._kernels_handler)
        self._kernels_handler = None


def _is_cell_task(task):
    """True for the task ipykernel runs an awaiting cell in (a task of IPython's run_cell_async)."""
    code = getattr(task.get_coro(), "cr_code", None) if task is not None else None
    return getattr(code, "co_name", None) == "run_cell_async"
