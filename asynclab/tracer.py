"""Record what every task did on the event loop: when it ran and when it waited.

How it works.  While a trace is open, the running loop's task factory is ours: it
wraps each new task's coroutine in a `_TracedCoroutine`, then hands it to whatever
factory the loop had before (so an eager factory stays eager).  A Task drives its
coroutine by calling `send()` or `throw()` once per step, so the wrapper can time
every step with `time.perf_counter()`.  Between two steps the task was waiting, and
what the step yielded tells us what for (a sleep, a Semaphore, a Queue, a task).

Nothing else about the program changes: the tracer holds no reference to any task
(the loop holds only weak ones, and a lesson shows what happens then), never looks
at a task's result or exception, and puts the old factory back when the block ends.

Cheap enough to leave on: while tracing, every step appends two floats and a label to
flat arrays owned by the Timeline.  The per-task `TaskRecord` objects the lessons read
are built from those arrays when asked for, after the fact.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import inspect
import re
import time
import types
import weakref
from array import array
from contextlib import asynccontextmanager

__all__ = ["trace", "Timeline", "TaskRecord"]

_perf_counter = time.perf_counter
_DEFAULT_NAME = re.compile(r"Task-\d+$")

# The traces open in the current context.  A task created by the traced code sees them (tasks
# copy their creator's context); a task the kernel creates for its own work elsewhere on the same
# loop (ipykernel 7 starts tasks for queued cells during "Run All") does not, and is not recorded.
_OPEN_TRACES = contextvars.ContextVar("asynclab_open_traces", default=())
_CoroutineType = types.CoroutineType
_current_task = asyncio.current_task
_GeneratorType = types.GeneratorType


def _wait_labels():
    """Code object of an asyncio function a task can be suspended in -> its timeline label."""
    known = [
        (asyncio.sleep, "sleep"),
        (asyncio.Semaphore.acquire, "Semaphore"),
        (asyncio.Lock.acquire, "Lock"),
        (asyncio.Event.wait, "Event"),
        (asyncio.Condition.wait, "Condition"),
        (asyncio.Barrier.wait, "Barrier"),
        (asyncio.Queue.get, "Queue.get"),
        (asyncio.Queue.put, "Queue.put"),
        (asyncio.Queue.join, "Queue.join"),
        (asyncio.wait_for, "wait_for"),
        (asyncio.wait, "wait"),
        (asyncio.to_thread, "thread"),
        (getattr(asyncio.tasks, "_wait", None), "wait"),
    ]
    return {fn.__code__: label for fn, label in known if hasattr(fn, "__code__")}


_WAIT_LABELS = _wait_labels()


def _display_name(name, label, coro_name):
    """A timeline row's label: the task's name, unless asyncio chose it ("Task-7")."""
    if _DEFAULT_NAME.match(name):
        return label or f"{name} {coro_name}()"
    return name


class TaskRecord:
    """What one task did.  Times are seconds since the trace began.

    name       the task's name (asyncio's, or the one given to create_task / set_name)
    created    when create_task was called
    started    when its code first ran (None if it never did)
    finished   when its last step ended (None if it had not ended when the trace did)
    running    [(start, end), ...]: when its code was executing on the loop
    waiting    [(start, end, what), ...]: the gaps between, and what it waited for:
               "start" (created, not yet run), "sleep", "Semaphore", "Lock", "Queue.get",
               "task <name>", "gather", "thread" (asyncio.to_thread), ...; None where it
               cannot be known (a Future from run_in_executor, say)
    outcome    "result" | "error" | "cancelled" | "pending"
    """

    def __init__(self, name, label, coro_name, created, running, waits, outcome, trace_end):
        self.name = name
        self.label = label
        self.coro_name = coro_name
        self.created = created
        self.running = running
        self.outcome = outcome
        self.started = running[0][0] if running else None
        self.finished = running[-1][1] if running and outcome != "pending" else None
        self.waiting = self._gaps(waits, trace_end)

    def _gaps(self, waits, trace_end):
        spans = []
        first = self.started if self.started is not None else (
            trace_end if self.outcome == "pending" else None)
        if first is not None and first > self.created:
            spans.append((self.created, first, "start"))
        for i, (_, end) in enumerate(self.running):
            if i + 1 < len(self.running):
                spans.append((end, self.running[i + 1][0], waits[i]))
            elif self.outcome == "pending":         # still waiting when the trace ended
                spans.append((end, max(end, trace_end), waits[i]))
        return spans

    @property
    def display_name(self):
        return _display_name(self.name, self.label, self.coro_name)

    def __repr__(self):
        fin = "-" if self.finished is None else f"{self.finished * 1000:.1f}ms"
        return (f"<TaskRecord {self.display_name!r} {self.outcome} "
                f"created={self.created * 1000:.1f}ms finished={fin} steps={len(self.running)}>")


def _wrappers(task):
    """The tracer wrappers around a task's coroutine (more than one when traces are nested)."""
    coro = task.get_coro()
    while isinstance(coro, _TracedCoroutine):
        yield coro
        coro = coro._coro


def _innermost_wait(coro, yielded):
    """What a suspended task waits for, as a label such as "sleep" or "task B", or None."""
    if yielded is None:
        return "sleep"                      # a bare yield, as asyncio.sleep(0) does
    if isinstance(yielded, asyncio.Task):   # awaiting another task: name it now, it may vanish
        label = next((w._trace._labels.get(w._index) for w in _wrappers(yielded)), None)
        coro_name = getattr(yielded.get_coro(), "__name__", "?")
        return "task " + _display_name(yielded.get_name(), label, coro_name)
    label = None
    while True:                             # walk down the chain of awaits to the innermost
        kind = type(coro)
        if kind is _CoroutineType:
            label = _WAIT_LABELS.get(coro.cr_code, label)
            coro = coro.cr_await
        elif kind is _GeneratorType:        # @types.coroutine generators, e.g. asyncio's sleep(0)
            label = _WAIT_LABELS.get(coro.gi_code, label)
            coro = coro.gi_yieldfrom
        elif kind is _TracedCoroutine:
            coro = coro._coro
        else:                               # a Future, None, or an awaitable we cannot see into
            break
    if label is None and type(yielded).__name__ == "_GatheringFuture":
        label = "gather"
    return label


class _TracedCoroutine(collections.abc.Coroutine):
    """Wraps a coroutine so each step the Task drives is timed.  Everything else is passed on."""

    __slots__ = ("_coro", "_index", "_trace")

    def __init__(self, coro, index, trace):
        self._coro = coro
        self._index = index
        self._trace = trace

    def send(self, value):
        # The hot path: a Task calls this once per step, so it is written out in full.
        trace = self._trace
        if not trace._open:                 # the trace has ended: pass straight through
            return self._coro.send(value)
        start = _perf_counter()
        try:
            yielded = self._coro.send(value)
        except BaseException as exc:        # the coroutine ended: returned, raised or cancelled
            trace._last_step(self, start, exc)
            raise
        trace._steps.extend((self._index, start, _perf_counter()))
        trace._waits.append("sleep" if yielded is None else _innermost_wait(self._coro, yielded))
        return yielded

    def throw(self, *args):
        # A Task throws into its coroutine to cancel it: a rare step, the same bookkeeping.
        trace = self._trace
        if not trace._open:
            return self._coro.throw(*args)
        start = _perf_counter()
        try:
            yielded = self._coro.throw(*args)
        except BaseException as exc:
            trace._last_step(self, start, exc)
            raise
        trace._steps.extend((self._index, start, _perf_counter()))
        trace._waits.append(_innermost_wait(self._coro, yielded))
        return yielded

    def close(self):
        return self._coro.close()

    def __await__(self):
        return self._coro.__await__()

    def __getattr__(self, name):
        # Introspection (task repr, get_stack, print_stack, call graphs) reads cr_frame,
        # cr_code, cr_await, __qualname__ ...: answer for the coroutine we wrap.
        if name == "_coro":
            raise AttributeError(name)
        return getattr(self._coro, name)

    def __repr__(self):
        return repr(self._coro)


# Python 3.13.0's loop.create_task() calls task.set_name(name) after *any* task factory, even
# when no name was given, so every unnamed task would be called "None" while a trace is open.
# There, traced tasks are made from this subclass, which ignores set_name(None).
_FACTORY_NAMES_NONE = "task.set_name(name)" in inspect.getsource(asyncio.BaseEventLoop.create_task)


class _KeepNameTask(asyncio.Task):
    __slots__ = ()

    def set_name(self, value):
        if value is not None:
            super().set_name(value)


_KeepNameTask.__name__ = _KeepNameTask.__qualname__ = "Task"     # reprs read as usual
_PlainTask = _KeepNameTask if _FACTORY_NAMES_NONE else asyncio.Task


class Timeline:
    """The result of one trace: `tasks` in creation order, and `plot()` to draw them."""

    def __init__(self, loop):
        self.loop = loop
        self.origin = _perf_counter()
        self._open = False
        self._ended = None
        self._records = None
        # One entry per task, by creation order.
        self._born = []                     # (perf_counter at creation, coroutine's name)
        self._names = {}                    # task index -> its name, as last seen
        self._outcomes = {}                 # task index -> how it ended (absent: pending)
        self._labels = {}                   # task index -> label (simulated I/O sets these)
        self._done_at_birth = []            # (index, task) of tasks done before create_task returned
        # Per step: whose step (task index), start, end (perf_counter) as three numbers in one
        # flat array, and what the task then waited for (a label, or None after its last step).
        self._steps = array("d")
        self._waits = []

    @property
    def duration(self):
        """Seconds from the start of the trace to its end (or to now, while it is open)."""
        end = self._ended if self._ended is not None else _perf_counter()
        return end - self.origin

    @property
    def tasks(self):
        """A TaskRecord per task created inside the trace, in creation order."""
        if self._records is not None:
            return self._records
        records = self._build_records()
        if not self._open:
            self._records = records
        return records

    def _build_records(self):
        n, o = len(self._born), self.origin
        running = [[] for _ in range(n)]
        waits = [[] for _ in range(n)]
        s = self._steps
        for k, wait in enumerate(self._waits):
            owner = int(s[3 * k])
            running[owner].append((s[3 * k + 1] - o, s[3 * k + 2] - o))
            waits[owner].append(wait)
        end = self.duration
        return [TaskRecord(self._names.get(i, "?"), self._labels.get(i), coro_name, created - o,
                           running[i], waits[i], self._outcomes.get(i, "pending"), end)
                for i, (created, coro_name) in enumerate(self._born)]

    def _factory(self, previous):
        """A task factory that records the task, then defers to `previous` (or plain Task)."""

        def traced_task_factory(loop, coro, **kwargs):
            if type(coro) is _CoroutineType:   # the usual case, checked first because it is quick
                name = coro.__name__
            elif asyncio.iscoroutine(coro):
                name = getattr(coro, "__name__", type(coro).__name__)
            else:                               # not a coroutine: asyncio raises its own TypeError
                name = None
            if name is None or self not in _OPEN_TRACES.get():   # or not the traced code's task
                if previous is not None:
                    return previous(loop, coro, **kwargs)
                return _PlainTask(coro, loop=loop, **kwargs)
            index = len(self._born)             # taken before an eager task's first step
            self._born.append((_perf_counter(), name))
            wrapped = _TracedCoroutine(coro, index, self)
            if previous is None:
                task = _PlainTask(wrapped, loop=loop, **kwargs)
            else:
                task = previous(loop, wrapped, **kwargs)
            self._names[index] = task.get_name()
            if task.done():                 # an eager task that never suspended
                self._done_at_birth.append((index, weakref.ref(task)))
            return task

        return traced_task_factory

    def _last_step(self, wrapper, start, exc):
        """Record a task's final step and how it ended."""
        index = wrapper._index
        self._steps.extend((index, start, _perf_counter()))
        self._waits.append(None)
        if isinstance(exc, StopIteration):
            self._outcomes[index] = "result"
        elif isinstance(exc, asyncio.CancelledError):
            self._outcomes[index] = "cancelled"
        else:
            self._outcomes[index] = "error"
        # Names may be given after creation: note the name the task has now.  The current task
        # is the one whose step this was, its coroutine this wrapper (or an outer trace's).
        task = _current_task(self.loop)
        if task is not None and (task.get_coro() is wrapper or wrapper in _wrappers(task)):
            self._names[index] = task.get_name()

    def _close(self):
        self._ended = _perf_counter()
        self._open = False
        # Names given after creation (3.11's create_task does that), for tasks still alive.
        for task in asyncio.all_tasks(self.loop):
            for wrapper in _wrappers(task):
                if wrapper._trace is self:
                    self._names[wrapper._index] = task.get_name()
        for index, task_ref in self._done_at_birth:
            task = task_ref()
            if task is not None:
                self._names[index] = task.get_name()
        self._done_at_birth = []

    def by_name(self, name):
        """The record whose name (or row label) is `name`."""
        for record in self.tasks:
            if name in (record.name, record.display_name):
                return record
        raise KeyError(f"no traced task named {name!r}; the names are "
                       f"{[r.display_name for r in self.tasks]}")

    def order(self, by="started"):
        """Row labels sorted by "created", "started" or "finished" (unfinished ones left out)."""
        if by not in ("created", "started", "finished"):
            raise ValueError('by must be "created", "started" or "finished"')
        recs = [r for r in self.tasks if getattr(r, by) is not None]
        return [r.display_name for r in sorted(recs, key=lambda r: getattr(r, by))]

    def max_concurrency(self):
        """The most tasks in progress (started, not yet finished) at any one moment."""
        events = []
        for r in self.tasks:
            if r.started is not None:
                events += [(r.started, 1), (r.finished if r.finished is not None else self.duration, -1)]
        best = now = 0
        for _, delta in sorted(events):     # at equal times an end (-1) sorts before a start
            now += delta
            best = max(best, now)
        return best

    def explore(self, **kwargs):
        """An explorable view for JupyterLab: hover, zoom, replay step by step.  See asynclab.explore."""
        from .explore import explore
        return explore(self, **kwargs)

    def plot(self, ax=None, **kwargs):
        """Draw a Gantt chart of the trace; returns the matplotlib Axes.  See asynclab.plots."""
        from .plots import plot_timeline
        return plot_timeline(self, ax=ax, **kwargs)

    def __repr__(self):
        return f"<Timeline {len(self._born)} tasks over {self.duration * 1000:.1f} ms>"


def label_current_task(label):
    """Give the current task's timeline row a readable label (if a trace records it)."""
    try:
        task = asyncio.current_task()
    except RuntimeError:                    # no running loop
        return
    for wrapper in (_wrappers(task) if task is not None else ()):
        if wrapper._trace._open:
            wrapper._trace._labels.setdefault(wrapper._index, label)


@asynccontextmanager
async def trace():
    """Record every task the code inside the `async with` block creates, and the tasks they create.

        async with asynclab.trace() as tl:
            await asyncio.gather(work("A", 0.2), work("B", 0.1))
        tl.plot()

    Works under top-level await in Jupyter and under asyncio.run() alike.  The loop's
    task factory is chained while the block runs and restored when it ends, also when
    the block raises.  Tasks still running at the end keep running, untraced from then on.
    """
    from .interrupts import InterruptWatch
    loop = asyncio.get_running_loop()
    timeline = Timeline(loop)
    previous = loop.get_task_factory()
    loop.set_task_factory(timeline._factory(previous))
    timeline._open = True
    token = _OPEN_TRACES.set(_OPEN_TRACES.get() + (timeline,))
    interrupt = InterruptWatch()
    try:
        yield timeline
    except asyncio.CancelledError:
        interrupt.surface()     # Kernel > Interrupt ends the block with KeyboardInterrupt, not this
        raise
    finally:
        interrupt.stop()
        _OPEN_TRACES.reset(token)
        timeline._close()
        loop.set_task_factory(previous)
