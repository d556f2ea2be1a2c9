"""Record what every task did on the event loop: when it ran, when it waited, when it was ready.

How it works.  A Task never runs its own code: it asks the loop to run its next step with
`loop.call_soon(step, context=task's context)`, when it is created, when what it waits for
has happened (the step is then asyncio's `task_wakeup`), and after a bare `yield` such as
`asyncio.sleep(0)`.  The C Task looks `call_soon` up on the loop object itself, so while a
trace is open the tracer puts its own `call_soon` on the loop instance (not on the class).
For a step of a traced task it queues a `Handle` whose run is timed; every other callback goes
to the loop's own `call_soon` untouched.  The task, its coroutine, its frames and the order of
the steps are those of an untraced run: `get_coro()`, the tracebacks of a task's errors, a
waiting task's `get_stack()`, call graphs and `python -m asyncio ps/pstree` see no trace of us.
(A stack walked from inside a running step, `traceback.print_stack()` say, passes through our
Handle's `_run` where an untraced one passes through asyncio's: the one frame of ours.)

Which tasks: a task is traced when its first step is queued in a context that holds an open
trace (tasks copy their creator's context, so the traced block's tasks and theirs).  At that
moment its context is given the task's own row (a ContextVar), which also tells its children
who their parent is.  An eager task (3.12+) runs its first step inside create_task, before
that: there, our create_task reserves its row first, in the context the task copies.  Nothing
holds a reference to a task.

Ready versus waiting: a task is *ready* from the moment its step is queued (when a timer woke
it, a sleep's or a timeout's: from the moment that timer was due) until the step starts; before
that it was *waiting*, for what the coroutine was suspended in, at the learner's line where it
was suspended.  (A thread's result, from asyncio.to_thread or run_in_executor, makes it ready
when the loop takes the result in, not when the thread finished: the loop notes nothing then.)

Cheap enough to leave on: a step appends seven items to a list owned by the Timeline (its row,
three perf_counter stamps, a label, a code object and an instruction offset); the records the
lessons read are built from them when asked for.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import heapq
import os
import re
import struct
import sys
import sysconfig
import time
import types
import weakref
from array import array
from asyncio import base_events, events, format_helpers
from contextlib import asynccontextmanager

from .interrupts import InterruptWatch
from .language import tr

__all__ = ["trace", "Timeline", "TaskRecord", "Wait", "Site"]

_perf_counter = time.perf_counter
_DEFAULT_NAME = re.compile(r"Task-\d+$")
_CoroutineType = types.CoroutineType
_GeneratorType = types.GeneratorType
_BuiltinType = types.BuiltinMethodType
_Handle = events.Handle
# Handle._run's "Exception in callback ..." text: 3.13 added debug= (where the callback was defined).
_FORMAT_TAKES_DEBUG = sys.version_info >= (3, 13)
_Task = asyncio.Task
# The C Task's methods, called as functions: `task.done()` looks `done` up anew at every call
# (CPython 3.11 cannot specialize a method lookup on a Task), `_done(task)` does not.
_done, _cancelled = _Task.done, _Task.cancelled
_get_coro, _get_name = _Task.get_coro, _Task.get_name
_run_in = contextvars.Context.run          # likewise: _run_in(context, ...) is context.run(...)
_set_result_unless_cancelled = asyncio.futures._set_result_unless_cancelled
_HAS_TASK_CONTEXT = hasattr(asyncio.Task, "get_context")        # 3.12+

# The traces open in the current context.  A task created by the traced code sees them (tasks
# copy their creator's context); a task the kernel creates for its own work elsewhere on the same
# loop (ipykernel 7 starts tasks for queued cells during "Run All") does not, and is not recorded.
_OPEN_TRACES = contextvars.ContextVar("asynclab_open_traces", default=())

# In a traced task's own context: (id(task), timeline, row, timeline, row, ...), one flat tuple
# (one object for the garbage collector to follow, per task).  A new task starts with a copy of
# its creator's value, which names the creator's rows (its parent); registering the task
# replaces it with the task's own.  The traced block's code holds (id(its task),).
_TASK_ROWS = contextvars.ContextVar("asynclab_task_rows", default=None)

# The due time (loop clock) of the sleep timer that is firing right now, or None.
_timer_due = None
# perf_counter() when an eager create_task() began, while it runs (None otherwise).
_eager_start = None
# The C Task's step callback type, learnt from the first step seen.
_STEP_TYPE = None

# A trace packs its steps into its arrays once this many items wait in its list (checked when a
# task is created): 6,000 steps, about 0.8 MB in the list, 0.35 MB packed.
_PACK_AT = 7 * 6000


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


# id(code object) -> what it is, for the walk down a suspended task's awaits: a wait label
# (str), True for the learner's code (where a wait site can be), False for library code
# (asyncio, the standard library, asynclab).  Filled as code objects are met.  Keyed by id
# because hashing a code object hashes its bytecode and constants (a few hundred ns, at every
# level of every walk); _CODES_SEEN keeps each one alive, so that no other takes its id.
_CODES_SEEN = list(_wait_labels().items())
_CODE_KIND = {id(code): label for code, label in _CODES_SEEN}
_kind_of = _CODE_KIND.get
_LIBRARY_DIRS = tuple(sorted({os.path.dirname(os.path.abspath(p)) + os.sep for p in (
    asyncio.__file__, os.__file__, __file__)} | {
    os.path.abspath(sysconfig.get_paths()[k]) + os.sep
    for k in ("stdlib", "platstdlib", "purelib", "platlib")}))
# Installed packages (anyio, httpx, aiohttp...) are library code wherever they are: a venv's
# site-packages, Debian's and Colab's dist-packages, the user's site folder.
_PACKAGE_DIRS = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)


def _code_kind(code):
    path = os.path.abspath(code.co_filename)
    kind = not (path.startswith(_LIBRARY_DIRS) or any(d in path for d in _PACKAGE_DIRS))
    _CODES_SEEN.append((code, kind))
    _CODE_KIND[id(code)] = kind
    return kind


def _display_name(name, label, coro_name):
    """A timeline row's label: the task's name, unless asyncio chose it ("Task-7")."""
    if _DEFAULT_NAME.match(name):
        return label or f"{name} {coro_name}()"
    return name


class Site(collections.namedtuple("Site", "file line function")):
    """Where a task was suspended: the innermost frame of the traced program's own code."""

    __slots__ = ()

    def __str__(self):
        return f"{self.function}:{self.line}"


class Wait(collections.namedtuple("Wait", "start end what")):
    """A waiting span: unpacks as (start, end, what); `.site` is where it waited (or None)."""

    site = None


class TaskRecord:
    """What one task did.  Times are seconds since the trace began.

    name       the task's name (asyncio's, or the one given to create_task / set_name)
    parent     the row label of the traced task that created it (None: the traced block did)
    created    when it was created (its first step was queued)
    started    when its code first ran (None if it never did)
    finished   when its last step ended (None if it had not ended when the trace did)
    running    [(start, end), ...]: when its code was executing on the loop
    ready      [(start, end), ...]: when it could have run but the loop ran something else:
               from its creation, or from the moment what it waited for happened (a sleep's
               or a timeout's timer was due, a lock was handed over, ...), until its next step
               began
    waiting    [Wait(start, end, what), ...]: from the end of a step until it was ready again,
               what it waited for ("sleep", "Semaphore", "Lock", "Queue.get", "task <name>",
               "gather", "thread" (asyncio.to_thread), ...; None where it cannot be known, a
               Future from run_in_executor, say) and `.site`, the Site of the line it waited at.
               A bare yield (`await asyncio.sleep(0)`) is a "sleep" that ends at once: the task
               is ready again immediately.
    outcome    "result" | "error" | "cancelled" | "pending"
    """

    def __init__(self, name, label, coro_name, parent, created, running, ready, waiting, outcome):
        self.name = name
        self.label = label
        self.coro_name = coro_name
        self.parent = parent
        self.created = created
        self.running = running
        self.ready = ready
        self.waiting = waiting
        self.outcome = outcome
        self.started = running[0][0] if running else None
        self.finished = running[-1][1] if running and outcome != "pending" else None

    @property
    def display_name(self):
        return _display_name(self.name, self.label, self.coro_name)

    def __repr__(self):
        fin = "-" if self.finished is None else f"{self.finished * 1000:.1f}ms"
        return (f"<TaskRecord {self.display_name!r} {self.outcome} "
                f"created={self.created * 1000:.1f}ms finished={fin} steps={len(self.running)}>")


def _pairs(value):
    """The ((timeline, row), ...) in a _TASK_ROWS value (id(task), timeline, row, ...)."""
    return tuple(zip(value[1::2], value[2::2]))


def _task_rows(task):
    """A task's ((timeline, row), ...) if it is traced and we can see its context, else ()."""
    if not _HAS_TASK_CONTEXT:
        return ()
    value = task.get_context().get(_TASK_ROWS)
    return _pairs(value) if value is not None and value[0] == id(task) else ()


def _outcome(task):
    if _cancelled(task):
        return "cancelled"
    return "error" if task._exception is not None else "result"


def _wait_of(task):
    """(label, code, lasti) for a task suspended after a step: what it waits for, and where.

    It walks down the task's chain of awaits to the innermost.  The innermost asyncio function
    with a label says what (Semaphore.acquire: "Semaphore"); the innermost coroutine of the
    learner's own code says where: its code object and the offset of the instruction it is
    suspended at (the line is worked out from them only when the records are built).  This runs
    after nearly every step, so it is written for speed."""
    label = site = None
    c = _get_coro(task)
    while True:                             # (written out in _TracedStep._run: keep the two alike)
        if type(c) is _CoroutineType:
            code = c.cr_code
            following = c.cr_await
        elif type(c) is _GeneratorType:     # @types.coroutine generators, e.g. asyncio's sleep(0)
            code = c.gi_code
            following = c.gi_yieldfrom
        else:                               # a Future, None, or an awaitable we cannot see into
            break
        what = _kind_of(id(code))           # True: the learner's code; a label; False: library
        if what:
            if what is True:
                site, site_code = c, code
            else:
                label = what
        elif what is None and _code_kind(code):         # first met, and the learner's
            site, site_code = c, code
        c = following
    if label is None:
        label = _waiter_label(task)
    if site is None:
        return label, None, -1
    frame = site.cr_frame if type(site) is _CoroutineType else site.gi_frame
    return label, site_code, frame.f_lasti


def _record_step(value, task, ready_at, start, end, first):
    """Append one finished step of `task` to each open trace that records it.

    `value` is the task's _TASK_ROWS value, (id(task), timeline, row, timeline, row, ...).  A
    step is seven items appended to one list of its timeline (_raw).  _TracedStep._run writes
    out the usual case, one trace open."""
    if _done(task):                         # its last step
        label, code, lasti = None, None, -1
        outcome, name = _outcome(task), _get_name(task)
    else:
        label, code, lasti = _wait_of(task)
        outcome = None
        name = _get_name(task) if first else None       # names given after create_task
    for k in range(1, len(value), 2) if len(value) > 3 else _ONE_TRACE:
        timeline = value[k]
        if timeline._open:
            row = value[k + 1]
            timeline._raw.extend((row, ready_at, start, end, label, code, lasti))
            if name is not None:
                timeline._names[row] = name
            if outcome is not None:
                timeline._outcomes[row] = outcome


# Where one trace is open (the usual case) a _TASK_ROWS value has its one timeline at index 1:
# loops over the timelines go over this instead of a range(), which costs ~900 instructions to make.
_ONE_TRACE = (1,)


def _waiter_label(task):
    """What a task waits for when no asyncio function on its chain of awaits says: another
    task (named now: it may vanish), a gather, or None (a Future we know nothing about)."""
    waiter = task._fut_waiter
    if isinstance(waiter, _Task):
        rows = _task_rows(waiter)
        row_label = rows[0][0]._labels.get(rows[0][1]) if rows else None
        coro_name = getattr(waiter.get_coro(), "__name__", "?")
        return "task " + _display_name(waiter.get_name(), row_label, coro_name)
    if type(waiter).__name__ == "_GatheringFuture":
        return "gather"
    return None


class _TracedStep(events.Handle):
    """The loop's Handle for one step of a traced task, timed when it runs."""

    __slots__ = ("_task", "_rows", "_ready_at", "_first")

    # call_soon below sets every field itself, without Handle.__init__ (which asks the loop for
    # its debug flag each time); `_TracedStep()` then makes a bare one, as fast as Python can.
    __init__ = object.__init__

    def _run(self):
        start = _perf_counter()
        try:
            if self._args:                  # a wakeup: task_wakeup(future), its one argument
                _run_in(self._context, self._callback, self._args[0])
            else:                           # a step: no argument (`*args` costs a call to build)
                _run_in(self._context, self._callback)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:        # as events.Handle._run does
            if _FORMAT_TAKES_DEBUG:
                cb = format_helpers._format_callback_source(
                    self._callback, self._args, debug=self._loop.get_debug())
            else:
                cb = format_helpers._format_callback_source(self._callback, self._args)
            context = {"message": f"Exception in callback {cb}", "exception": exc, "handle": self}
            if self._source_traceback:
                context["source_traceback"] = self._source_traceback
            self._loop.call_exception_handler(context)
            return
        end = _perf_counter()
        task, value = self._task, self._rows
        if len(value) > 3:                  # traces inside traces: the general case
            _record_step(value, task, self._ready_at, start, end, self._first)
            return
        # One trace open, the usual case: _record_step written out.
        timeline, row = value[1], value[2]
        if not timeline._open:
            return
        if _done(task):                     # its last step
            timeline._raw.extend((row, self._ready_at, start, end, None, None, -1))
            timeline._names[row] = _get_name(task)
            timeline._outcomes[row] = _outcome(task)
            return
        # What it waits for now, and where: _wait_of(task), written out (a call fewer a step).
        label = site = None
        c = _get_coro(task)
        while True:
            if type(c) is _CoroutineType:
                code = c.cr_code
                following = c.cr_await
            elif type(c) is _GeneratorType:
                code = c.gi_code
                following = c.gi_yieldfrom
            else:
                break
            what = _kind_of(id(code))
            if what:
                if what is True:
                    site, site_code = c, code
                else:
                    label = what
            elif what is None and _code_kind(code):
                site, site_code = c, code
            c = following
        if label is None:
            label = _waiter_label(task)
        if site is None:
            site_code, lasti = None, -1
        else:
            lasti = (site.cr_frame if type(site) is _CoroutineType else site.gi_frame).f_lasti
        timeline._raw.extend((row, self._ready_at, start, end, label, site_code, lasti))
        if self._first:                     # create_task names a task after making it
            timeline._names[row] = _get_name(task)


_TracedStep.__name__ = _TracedStep.__qualname__ = "Handle"      # reprs read as usual


class _TimedStep:
    """A traced task's step as a callback, timed when it runs: for a loop whose class has a
    call_soon of its own (it may order its queue its own way), which then queues it."""

    __slots__ = ("_callback", "_task", "_rows", "_ready_at", "_first")

    def __init__(self, callback, task, rows, ready_at, first):
        self._callback, self._task, self._rows = callback, task, rows
        self._ready_at, self._first = ready_at, first

    def __call__(self, *args):
        start = _perf_counter()
        self._callback(*args)
        _record_step(self._rows, self._task, self._ready_at, start, _perf_counter(), self._first)

    def __repr__(self):
        return repr(self._callback)


def _parent_row(parent, timeline):
    """The row in `timeline` of the task whose _TASK_ROWS value is `parent` (-1: none)."""
    for k in range(1, len(parent), 2):
        if parent[k] is timeline:
            return parent[k + 1]
    return -1


_set_task_rows = _TASK_ROWS.set


def _register(task, context, loop, created, traces, parent, coro=None, set_rows=True):
    """Give a new task a row in each open trace of its context.

    `traces` and `parent` are what its context holds (its creator's: the context is a copy of
    theirs) under _OPEN_TRACES and _TASK_ROWS.  Returns the task's own _TASK_ROWS value,
    (id(task), timeline, row, timeline, row, ...), or None if no trace records it.  `set_rows`
    False: the task is done already (an eager task), its context is not needed.
    """
    if len(traces) == 1:                    # the usual case, written out: it runs once per task
        timeline = traces[0]
        if not timeline._open or timeline.loop is not loop:
            return None
        value = (id(task), timeline, len(timeline._parents))
    else:
        value = [id(task)]
        for timeline in traces:
            if timeline._open and timeline.loop is loop:
                value += (timeline, len(timeline._parents))
        if len(value) == 1:
            return None
        value = tuple(value)
    if set_rows:                            # store the task's own in its context
        try:
            _run_in(context, _set_task_rows, value)
        except RuntimeError:                # its context is in use right now
            if asyncio.current_task(loop) is not task:
                return None
            _TASK_ROWS.set(value)           # its eager first step runs in it: we are inside
    if coro is None:
        coro = _get_coro(task)
    if type(coro) is _CoroutineType:
        coro_name = coro.__name__
    else:                                   # a generator-based coroutine, or some awaitable
        coro_name = getattr(coro, "__name__", None) or type(coro).__name__
    for k in range(1, len(value), 2) if len(value) > 3 else _ONE_TRACE:
        timeline = value[k]
        if len(timeline._raw) >= _PACK_AT:
            timeline._pack()
        timeline._created.append(created)
        timeline._coro_names.append(coro_name)
        if parent is None or len(parent) == 1:          # created by the traced block's code
            timeline._parents.append(-1)
        elif parent[1] is timeline:         # the usual case: the creator's first (only) row
            timeline._parents.append(parent[2])
        else:
            timeline._parents.append(_parent_row(parent, timeline))
    return value


_new = object.__new__       # _new(Handle): a bare Handle, its fields set by the caller


_MISSING = object()


def _own_attribute(loop, name):
    """What the loop instance itself holds under `name` (a hook put there), or _MISSING when
    `name` is its class's method.  Found without reading loop.__dict__: once an object's __dict__
    has been read, CPython 3.11 no longer specializes attribute lookups on it (3.12 does so less
    well), and every `self._ready` in asyncio's own loop code would be slower for the rest of the
    loop's life, traced or not."""
    value = getattr(loop, name, _MISSING)
    if getattr(value, "__self__", None) is loop and getattr(value, "__func__", None) is getattr(
            type(loop), name, None):
        return _MISSING                     # the class's method, bound to the loop
    return value


class _LoopHook:
    """What the tracer puts on one loop while traces are open on it, and takes off again."""

    # create_task is only watched where a task can start eagerly (3.12+).
    NAMES = ("call_soon", "call_at", "create_task") if sys.version_info >= (3, 12) else (
        "call_soon", "call_at")

    def __init__(self, loop):
        self.loop = loop
        self.open = 0
        self.saved = {n: own for n in self.NAMES
                      if (own := _own_attribute(loop, n)) is not _MISSING}
        self.offset = _perf_counter() - loop.time()     # loop clock -> perf_counter
        self.call_soon = self._make_call_soon(loop, loop.call_soon, self.offset)
        self.call_at = self._make_call_at(loop, loop.call_at)
        self.create_task = self._make_create_task(loop, loop.create_task)     # used 3.12+
        self.call_soon.hook = self

    def install(self):
        for n in self.NAMES:
            setattr(self.loop, n, getattr(self, n))

    def remove(self):
        for n in self.NAMES:
            if getattr(self.loop, n, None) is not getattr(self, n):
                continue                    # replaced while the trace was open: that one stays
            try:
                if n in self.saved:
                    setattr(self.loop, n, self.saved[n])
                else:
                    delattr(self.loop, n)
            except AttributeError:
                pass

    @staticmethod
    def _make_call_soon(loop, real_call_soon, offset):
        ready = loop._ready
        # Most callbacks are not a traced task's step.  Where the loop's call_soon is asyncio's
        # own (not a subclass's, nor another hook's), such a callback is queued here just as it
        # would queue it, saving a second call (with its *args and context= to pass on) per
        # callback.  In debug mode (more checks, a traceback per handle) asyncio's does it.
        plain = (_own_attribute(loop, "call_soon") is _MISSING
                 and type(loop).call_soon is base_events.BaseEventLoop.call_soon
                 and type(loop)._call_soon is base_events.BaseEventLoop._call_soon)

        def call_soon(callback, *args, context=None):
            global _STEP_TYPE
            if context is not None:
                kind = type(callback)
                # a C Task's next step: its step wrapper, or its wakeup after a future it awaited
                if kind is _STEP_TYPE or (kind is _BuiltinType and callback.__name__ == "task_wakeup") or (
                        _STEP_TYPE is None and kind.__name__ == "TaskStepMethWrapper"):
                    task = callback.__self__
                    value = context.get(_TASK_ROWS)
                    first = False
                    if value is not None and value[0] == id(task):      # a traced task's
                        if len(value) == 1:         # the traced block's own code: not traced
                            value = None
                        else:
                            due = _timer_due
                            ready_at = _perf_counter() if due is None else due + offset
                    elif (traces := context.get(_OPEN_TRACES)) and isinstance(task, _Task):
                        # a new task
                        if _STEP_TYPE is None and kind.__name__ == "TaskStepMethWrapper":
                            _STEP_TYPE = kind
                        now = ready_at = _perf_counter()
                        coro = task.get_coro()
                        if _eager_start is not None and value is not None and value[0] == -id(coro):
                            # its row, reserved by our create_task, inside which we are: its
                            # first step is queued, or it ran eagerly and has just yielded
                            value = _claim(task, context, loop, value)
                            if getattr(coro, "cr_suspended", False):
                                _record_step(value, task, _eager_start, _eager_start, now, True)
                        elif _eager_start is not None and getattr(coro, "cr_suspended", False):
                            # an eager task's first step ran inside create_task and yielded
                            value = _register(task, context, loop, _eager_start, traces, value,
                                              coro)
                            if value:
                                _record_step(value, task, _eager_start, _eager_start, now, True)
                        else:
                            value = _register(task, context, loop, now, traces, value, coro)
                        first = True                # named after this step (create_task names it)
                    else:
                        value = None
                    if value is not None:
                        if not plain:               # the loop's class queues it, as untraced
                            return _drop_our_frames(real_call_soon(
                                _TimedStep(callback, task, value, ready_at, first), *args,
                                context=context))
                        if loop._closed:
                            raise RuntimeError("Event loop is closed")
                        if loop._debug:
                            loop._check_thread()
                            handle = _TracedStep()
                            _Handle.__init__(handle, callback, args, loop, context)
                            if handle._source_traceback:      # as loop.call_soon trims it
                                del handle._source_traceback[-1]
                                _drop_our_frames(handle)        # and no frame of ours above
                        else:                       # as Handle.__init__ does (written out)
                            handle = _TracedStep()
                            handle._callback = callback
                            handle._args = args
                            handle._cancelled = False
                            handle._loop = loop
                            handle._source_traceback = None
                            handle._repr = None
                            handle._context = context
                        handle._task = task
                        handle._rows = value
                        handle._ready_at = ready_at
                        handle._first = first
                        ready.append(handle)
                        return handle
            if plain and not loop._debug:
                if loop._closed:
                    raise RuntimeError("Event loop is closed")
                handle = _new(_Handle)              # as Handle.__init__ does (written out)
                handle._callback = callback
                handle._args = args
                handle._cancelled = False
                handle._loop = loop
                handle._source_traceback = None
                handle._repr = None
                handle._context = contextvars.copy_context() if context is None else context
                ready.append(handle)
                return handle
            return _drop_our_frames(real_call_soon(callback, *args, context=context))

        return call_soon

    @staticmethod
    def _make_call_at(loop, real_call_at):
        # Where the loop's call_at is asyncio's own, a timer is made here as asyncio makes it, but
        # as a _TracedTimer, which says while its callback runs when it was due: a task it wakes
        # (asyncio.sleep, a timeout, call_later) has been ready since then.  Elsewhere (a loop
        # class with its own call_at) only asyncio.sleep's timer is known, through its callback.
        plain = (_own_attribute(loop, "call_at") is _MISSING
                 and type(loop).call_at is base_events.BaseEventLoop.call_at)

        def call_at(when, callback, *args, context=None):
            if plain:
                if when is None:
                    raise TypeError("when cannot be None")
                if loop._closed:
                    raise RuntimeError("Event loop is closed")
                if loop._debug:
                    loop._check_thread()
                    loop._check_callback(callback, "call_at")
                timer = _TracedTimer(when, callback, args, loop, context)
                if timer._source_traceback:
                    _drop_our_frames(timer)
                heapq.heappush(loop._scheduled, timer)
                timer._scheduled = True
                return timer
            if callback is _set_result_unless_cancelled:      # asyncio.sleep's timer
                return _drop_our_frames(real_call_at(when, _sleep_timer_fired, when, *args,
                                                     context=context))
            return _drop_our_frames(real_call_at(when, callback, *args, context=context))

        return call_at

    @staticmethod
    def _make_create_task(loop, real_create_task):
        def create_task(coro, **kwargs):
            global _eager_start
            if loop._task_factory is None and not kwargs.get("eager_start"):   # the usual case
                task = real_create_task(coro, **kwargs) if kwargs else real_create_task(coro)
                return _drop_our_frames(task) if loop._debug else task
            # A factory (or eager_start) may run the first step inside create_task itself, and
            # that step may create tasks: their parent is this task, which has no row yet.  So
            # its row is reserved first, and the new task's context (a copy of this one) starts
            # with a value that says so: (-id(coro), timeline, row, ...), claimed (made
            # (id(task), ...)) when its first step ends.
            saved = _eager_start
            _eager_start = start = _perf_counter()
            reserved = token = None
            if kwargs.get("context") is None and (traces := _OPEN_TRACES.get()):
                reserved = _register(None, None, loop, start, traces, _TASK_ROWS.get(), coro,
                                     set_rows=False)
                if reserved:
                    reserved = (-id(coro),) + reserved[1:]
                    token = _TASK_ROWS.set(reserved)
            try:
                task = real_create_task(coro, **kwargs)
            except BaseException:
                _unreserve(reserved)
                raise
            finally:
                _eager_start = saved
                if token is not None:
                    _reset_quietly(_TASK_ROWS, token)
            end = _perf_counter()
            if not isinstance(task, _Task):
                _unreserve(reserved)
                return task
            if reserved:
                context = task.get_context()
                value = context.get(_TASK_ROWS)
                if value is reserved:       # it ran eagerly and queued no step: not claimed yet
                    value = _claim(task, context, loop, reserved, done=task.done())
                    _record_step(value, task, start, start, end, True)
                    if task.done():         # create_task names it after this
                        for timeline, row in _pairs(value):
                            timeline._done_at_birth.append((row, weakref.ref(task)))
                elif value is None or value[0] != id(task):
                    _unreserve(reserved)    # a factory gave it a context of its own
                    reserved = None
            if reserved:
                name = task.get_name()      # create_task names the task after the factory
                for timeline, row in _pairs(reserved):
                    timeline._names[row] = name
                return _drop_our_frames(task)
            if task.done():                 # ran to its end inside create_task
                context = kwargs.get("context") or contextvars.copy_context()
                traces = context.get(_OPEN_TRACES)
                if traces:
                    value = _register(task, context, loop, start, traces, context.get(_TASK_ROWS),
                                      coro, set_rows=False)
                    if value:
                        _record_step(value, task, start, start, end, True)
                        for timeline, row in _pairs(value):  # create_task names it after this
                            timeline._done_at_birth.append((row, weakref.ref(task)))
                return _drop_our_frames(task)
            context = task.get_context()
            value = context.get(_TASK_ROWS)
            traces = context.get(_OPEN_TRACES)
            if (value is None or value[0] != id(task)) and traces:
                # it ran eagerly, and no step was queued
                value = _register(task, context, loop, start, traces, value)
                if value:
                    _record_step(value, task, start, start, end, True)
                value = context.get(_TASK_ROWS)
            if value is not None and value[0] == id(task):
                name = task.get_name()      # create_task names the task after the factory
                for timeline, row in _pairs(value):
                    timeline._names[row] = name
            return _drop_our_frames(task)

        return create_task


def _claim(task, context, loop, reserved, done=False):
    """Make a row reserved by create_task the task's own: its _TASK_ROWS value, with its id."""
    value = (id(task),) + reserved[1:]
    if not done:
        try:
            _run_in(context, _set_task_rows, value)
        except RuntimeError:                # its context is in use: we are inside its step
            _TASK_ROWS.set(value)
    return value


def _unreserve(reserved):
    """Give back a row reserved for a task that was never made (the last row: nothing ran)."""
    if reserved:
        for timeline, row in _pairs(reserved):
            if row == len(timeline._parents) - 1:
                del timeline._created[row], timeline._coro_names[row], timeline._parents[row]


def _drop_our_frames(made):
    """In debug mode asyncio notes where each handle and task was made, leaving out its own
    frames; leave out the tracer's too, so that "created at" names the learner's line."""
    stack = getattr(made, "_source_traceback", None)
    if stack:
        stack[:] = [frame for frame in stack if frame.filename != _THIS_FILE]
    return made


_THIS_FILE = _drop_our_frames.__code__.co_filename


class _TracedTimer(events.TimerHandle):
    """A timer of the loop's that notes, while its callback runs, when it was due: the loop may
    get to it late, and a task it wakes could have run from then on."""

    __slots__ = ()

    def _run(self):
        global _timer_due
        _timer_due = self._when
        try:
            _Handle._run(self)
        finally:
            _timer_due = None


_TracedTimer.__name__ = _TracedTimer.__qualname__ = "TimerHandle"      # reprs read as usual


def _sleep_timer_fired(when, future, result):
    """asyncio.sleep's timer callback, noting when it was due for the wakeup it causes."""
    global _timer_due
    _timer_due = when
    try:
        _set_result_unless_cancelled(future, result)
    finally:
        _timer_due = None


def _hook_for(loop):
    hook = getattr(_own_attribute(loop, "call_soon"), "hook", None)
    if not isinstance(hook, _LoopHook):
        hook = _LoopHook(loop)
        hook.install()
    hook.open += 1
    return hook


def _release(hook):
    hook.open -= 1
    if hook.open <= 0:
        hook.remove()


_line_cache = {}


def _line_of(code, lasti):
    key = (code, lasti)
    line = _line_cache.get(key)
    if line is None:
        line = code.co_firstlineno
        for start, end, ln in code.co_lines():
            if start <= lasti < end and ln is not None:
                line = ln
                break
        _line_cache[key] = line
    return line


class Timeline:
    """The result of one trace: `tasks` in creation order, and `plot()` to draw them."""

    def __init__(self, loop):
        self.loop = loop
        self.origin = _perf_counter()
        self._open = False
        self._ended = None
        self._records = None
        # Per task, by creation order (its row):
        self._created = []                  # perf_counter at creation
        self._coro_names = []               # its coroutine's name
        self._parents = []                  # the row of the task that created it, -1: the block
        self._names = {}                    # row -> its name, as last seen
        self._outcomes = {}                 # row -> how it ended (absent: pending)
        self._labels = {}                   # row -> label (simulated I/O sets these)
        self._done_at_birth = []            # (row, weakref) of eager tasks done inside create_task
        # Per step, seven items appended to one plain list (one call a step): the task's row;
        # ready since, start and end (perf_counter); what the task then waited for (a label, or
        # None after its last step); the code object of the learner's frame it waited in and
        # the instruction offset there (-1: none).  Now and then (_pack) they move to arrays
        # and lists, one per item: 48 bytes a step instead of ~130.
        self._raw = []
        self._step_rows = array("i")
        self._readies = array("d")
        self._starts = array("d")
        self._ends = array("d")
        self._waits = []
        self._sites = []
        self._offsets = array("i")

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
        n, o = len(self._created), self.origin
        end_of_trace = self.duration
        running = [[] for _ in range(n)]
        ready = [[] for _ in range(n)]
        waiting = [[] for _ in range(n)]
        last_end = [None] * n               # end of the task's previous step
        last_wait = [None] * n              # (what, site) after it
        self._pack()
        readies, starts, ends, sites, offsets = (
            self._readies, self._starts, self._ends, self._sites, self._offsets)
        for k, row in enumerate(self._step_rows):
            what = self._waits[k]
            ready_at, start, end = readies[k] - o, starts[k] - o, ends[k] - o
            prev = last_end[row]
            ready_at = min(max(ready_at, prev if prev is not None else ready_at), start)
            if prev is not None:
                wait = Wait(prev, ready_at, last_wait[row][0])
                wait.site = last_wait[row][1]
                waiting[row].append(wait)
            if start > ready_at:
                ready[row].append((ready_at, start))
            running[row].append((start, end))
            last_end[row] = end
            code = sites[k]
            site = None if code is None else Site(code.co_filename, _line_of(code, offsets[k]),
                                                  code.co_name)
            last_wait[row] = (what, site)
        records = []
        for i in range(n):
            created = self._created[i] - o
            outcome = self._outcomes.get(i, "pending")
            if outcome == "pending":        # still waiting (or never run) when the trace ended
                if last_end[i] is None:
                    ready[i].append((created, max(created, end_of_trace)))
                else:
                    wait = Wait(last_end[i], max(last_end[i], end_of_trace), last_wait[i][0])
                    wait.site = last_wait[i][1]
                    waiting[i].append(wait)
            records.append(TaskRecord(self._names.get(i, "?"), self._labels.get(i),
                                      self._coro_names[i], self._parents[i], created,
                                      running[i], ready[i], waiting[i], outcome, ))
        for record in records:              # parents by row label, once every record exists
            record.parent = None if record.parent < 0 else records[record.parent].display_name
        return records

    def _pack(self):
        """Move the steps recorded so far from the plain list into the arrays and lists."""
        raw = self._raw
        if raw:
            n = len(raw) // 7
            ints, doubles = f"{n}i", f"{n}d"
            self._step_rows.frombytes(struct.pack(ints, *raw[0::7]))
            self._readies.frombytes(struct.pack(doubles, *raw[1::7]))
            self._starts.frombytes(struct.pack(doubles, *raw[2::7]))
            self._ends.frombytes(struct.pack(doubles, *raw[3::7]))
            self._waits += raw[4::7]
            self._sites += raw[5::7]
            self._offsets.frombytes(struct.pack(ints, *raw[6::7]))
            raw.clear()

    def _close(self):
        self._pack()
        if self._ended is None:
            self._ended = _perf_counter()
        self._open = False
        for row, task_ref in self._done_at_birth:
            task = task_ref()
            if task is not None:
                self._names[row] = task.get_name()
        self._done_at_birth = []
        # Names given after the last step we saw, to tasks still pending.  When every task has
        # ended there are none: the scan (about a step's cost per task alive on the loop) is
        # skipped.
        if _HAS_TASK_CONTEXT and len(self._outcomes) < len(self._created):
            try:
                tasks = asyncio.all_tasks(self.loop)
            except RuntimeError:            # the loop is gone: keep the names we have
                tasks = ()
            for task in tasks:
                for timeline, row in _task_rows(task):
                    if timeline is self:
                        self._names[row] = task.get_name()

    def by_name(self, name):
        """The record whose name (or row label) is `name`."""
        for record in self.tasks:
            if name in (record.name, record.display_name):
                return record
        raise KeyError(tr("no traced task named {name!r}; the names are {names}", name=name,
                          names=[r.display_name for r in self.tasks]))

    def order(self, by="started"):
        """Row labels sorted by "created", "started" or "finished" (unfinished ones left out)."""
        if by not in ("created", "started", "finished"):
            raise ValueError(tr('by must be "created", "started" or "finished"'))
        recs = [r for r in self.tasks if getattr(r, by) is not None]
        return [r.display_name for r in sorted(recs, key=lambda r: getattr(r, by))]

    def max_concurrency(self):
        """The most tasks in progress (started, not yet finished) at any one moment."""
        events_ = []
        for r in self.tasks:
            if r.started is not None:
                events_ += [(r.started, 1), (r.finished if r.finished is not None else self.duration, -1)]
        best = now = 0
        for _, delta in sorted(events_):    # at equal times an end (-1) sorts before a start
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

    def save(self, path):
        """Write the trace as a Chrome Trace Event file (opens in Perfetto, chrome://tracing)."""
        from .trace_export import save_chrome_trace
        return save_chrome_trace(self, path)

    def __repr__(self):
        return f"<Timeline {len(self._created)} tasks over {self.duration * 1000:.1f} ms>"


def label_current_task(label):
    """Give the current task's timeline row a readable label (if a trace records it)."""
    try:
        task = asyncio.current_task()
    except RuntimeError:                    # no running loop
        return
    value = _TASK_ROWS.get()
    if task is None or value is None or value[0] != id(task):
        return
    for timeline, row in _pairs(value):
        if timeline._open:
            timeline._labels.setdefault(row, label)


def _reset_quietly(var, token):
    """Reset a context variable; in another context (a task collected while pending) let it be."""
    try:
        var.reset(token)
    except (ValueError, RuntimeError):
        pass


@asynccontextmanager
async def trace():
    """Record every task the code inside the `async with` block creates, and the tasks they create.

        async with asynclab.trace() as tl:
            await asyncio.gather(work("A", 0.2), work("B", 0.1))
        tl.plot()

    Works under top-level await in Jupyter and under asyncio.run() alike.  While a trace is
    open the loop's call_soon is watched; the loop is left as it was found when the last open
    trace on it ends, also when the block raises.  Tasks still running at the end keep
    running, untraced from then on.
    """
    loop = asyncio.get_running_loop()
    timeline = Timeline(loop)
    hook = _hook_for(loop)
    timeline._open = True
    task = asyncio.current_task()
    value = _TASK_ROWS.get()
    rows_token = None
    if value is None or value[0] != id(task):       # the block's own code: children have no parent
        rows_token = _TASK_ROWS.set((id(task),))
    token = _OPEN_TRACES.set(_OPEN_TRACES.get() + (timeline,))
    interrupt = InterruptWatch()
    try:
        yield timeline
    except asyncio.CancelledError:
        interrupt.surface()     # Kernel > Interrupt ends the block with KeyboardInterrupt, not this
        raise
    finally:
        interrupt.stop()
        timeline._ended = _perf_counter()
        timeline._open = False
        _release(hook)
        open_now = _OPEN_TRACES.get()
        out_of_order = False
        if timeline in open_now:            # (not there: another context, its task collected)
            remaining = tuple(t for t in open_now if t is not timeline)
            before = () if token.old_value is contextvars.Token.MISSING else token.old_value
            if remaining == before:         # the usual order: the context as it was found
                _reset_quietly(_OPEN_TRACES, token)
            else:                           # closed before a trace opened after it, which stays
                _OPEN_TRACES.set(remaining)     # open, and still needs the block's row value
                out_of_order = True
        if rows_token is not None and not out_of_order:
            _reset_quietly(_TASK_ROWS, rows_token)
        timeline._close()
