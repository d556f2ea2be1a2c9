"""Draw a Timeline as a Gantt chart: one row per task, running vs waiting.

All spans of one kind (running, or waiting for one kind of thing) become one collection
holding a single compound path of rectangles, so ten thousand tasks draw in a fraction
of a second (one artist per bar takes many seconds).
"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.patches import Patch
from matplotlib.path import Path

# What a waiting task waited for, grouped into a few colours a learner can tell apart.
_WAIT_KINDS = [
    # (legend text, colour, test on the label)
    ("waiting for its first turn", "#d9d9d9", lambda w: w == "start"),
    ("sleep / simulated I/O", "#9ecae1", lambda w: w == "sleep"),
    ("waiting for a Semaphore or Lock", "#fdae6b",
     lambda w: w in ("Semaphore", "Lock", "Condition", "Event", "Barrier")),
    ("waiting on a Queue", "#a1d99b", lambda w: bool(w) and w.startswith("Queue")),
    ("waiting for other tasks or a thread", "#bcbddc",
     lambda w: bool(w) and (w.startswith("task") or w in ("gather", "wait", "wait_for", "thread"))),
    ("waiting (other)", "#eeeeee", lambda w: True),
]
_RUNNING_COLOUR = "#08519c"
_OUTCOME_MARKS = {"error": ("X", "#cb181d", "raised an error"),
                  "cancelled": ("s", "#252525", "cancelled")}
_BAR_HEIGHT = 0.7
_MAX_ROW_LABELS = 60


def _kind_of(label):
    for i, (_, _, test) in enumerate(_WAIT_KINDS):
        if test(label):
            return i
    return len(_WAIT_KINDS) - 1


def _bars(rows, starts, ends, colour):
    """One collection drawing a rectangle per (row, start, end): a single compound path."""
    rows = np.asarray(rows, float)
    x0, x1 = np.asarray(starts, float), np.asarray(ends, float)
    y0, y1 = rows - _BAR_HEIGHT / 2, rows + _BAR_HEIGHT / 2
    corners = np.stack([np.stack([x0, y0], 1), np.stack([x0, y1], 1), np.stack([x1, y1], 1),
                        np.stack([x1, y0], 1), np.stack([x0, y0], 1)], 1)      # (N, 5, 2)
    codes = np.tile([Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY],
                    len(rows))
    path = Path(corners.reshape(-1, 2), codes)
    return PathCollection([path], facecolors=colour, edgecolors="none", linewidths=0)


def plot_timeline(timeline, ax=None, *, strip=None, title=None, concurrency=None, limit=None,
                  legend=True, unit=None):
    """Draw `timeline` and return the Gantt chart's Axes.

    ax           draw into this Axes; by default into a new figure
    strip        with `ax`: draw the concurrency strip into this Axes
    title        text above the chart
    concurrency  add a strip below showing how many tasks were in progress over time
                 (default: on when there are at least two tasks)
    limit        draw a line at this height on the strip (a Semaphore's limit, say)
    unit         "ms" or "s"; by default ms for traces shorter than two seconds
    Steps shorter than a pixel are drawn one pixel wide, so every step stays visible.
    """
    records = timeline.tasks
    end = max([timeline.duration] + [b for r in records for _, b in r.running])
    if unit is None:
        unit = "ms" if end < 2 else "s"
    if unit not in ("ms", "s"):
        raise ValueError('unit must be "ms" or "s"')
    scale = 1000.0 if unit == "ms" else 1.0
    if concurrency is None:
        concurrency = len(records) >= 2

    if ax is None:
        height = min(8.0, 1.2 + 0.35 * max(len(records), 2)) + (1.1 if concurrency else 0)
        import matplotlib.pyplot as plt   # pyplot, so that Jupyter shows the figure inline
        fig = plt.figure(figsize=(9, height), layout="constrained")
        if concurrency:
            ax, strip = fig.subplots(2, 1, sharex=True,
                                     gridspec_kw={"height_ratios": [max(len(records), 3), 2.2]
                                                  if len(records) < 12 else [5, 1]})
        else:
            ax, strip = fig.add_subplot(), None
    elif not concurrency:
        strip = None

    # Gather every span into flat arrays, one set per colour.
    run_rows, run_a, run_b = [], [], []
    wait = [([], [], []) for _ in _WAIT_KINDS]
    marks = {k: ([], []) for k in _OUTCOME_MARKS}
    for row, r in enumerate(records):
        for a, b in r.running:
            run_rows.append(row), run_a.append(a), run_b.append(b)
        for a, b, what in r.waiting:
            rows_, a_, b_ = wait[_kind_of(what)]
            rows_.append(row), a_.append(a), b_.append(b)
        if r.outcome in marks and r.finished is not None:
            marks[r.outcome][0].append(r.finished * scale)
            marks[r.outcome][1].append(row)

    handles = []
    for (text, colour, _), (rows_, a_, b_) in zip(_WAIT_KINDS, wait):
        if rows_:
            ax.add_collection(_bars(rows_, np.multiply(a_, scale), np.multiply(b_, scale), colour),
                              autolim=False)
            handles.append(Patch(facecolor=colour, label=text))
    if run_rows:
        a = np.multiply(run_a, scale)
        b = np.maximum(np.multiply(run_b, scale), a + end * scale / 250)   # at least ~a pixel
        ax.add_collection(_bars(run_rows, a, b, _RUNNING_COLOUR), autolim=False)
        handles.insert(0, Patch(facecolor=_RUNNING_COLOUR, label="running (its code executing)"))
    for outcome, (xs, ys) in marks.items():
        if xs:
            marker, colour, text = _OUTCOME_MARKS[outcome]
            ax.scatter(xs, ys, marker=marker, color=colour, s=36, zorder=3, label=text)

    n = len(records)
    ax.set_xlim(0, end * scale * 1.02 or 1)
    ax.set_ylim(n - 0.5, -0.5)                      # first task on top
    if n <= _MAX_ROW_LABELS:
        ax.set_yticks(range(n), [r.display_name for r in records])
    else:
        ax.set_ylabel(f"{n} tasks, in creation order")
    ax.set_xlabel(f"time since the trace began ({unit})")
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title)
    if legend and (handles or any(xs for xs, _ in marks.values())):
        extra, _ = ax.get_legend_handles_labels()
        ax.legend(handles=handles + extra, loc="upper left", bbox_to_anchor=(1.01, 1),
                  fontsize="small", frameon=False)

    if strip is not None:
        _draw_concurrency(strip, records, end, scale, limit)
        strip.set_xlabel(ax.get_xlabel())
        ax.set_xlabel("")
    return ax


_GATED = ("Semaphore", "Lock", "Condition", "Event", "Barrier", "Queue.get", "Queue.put", "Queue.join")


def _step_counts(changes, end):
    """From [(time, +1 | -1), ...] the x and y of a step line (ends before starts at equal times)."""
    if not changes:
        return np.array([0.0, end]), np.array([0, 0])
    changes.sort()
    t = np.array([c[0] for c in changes])
    level = np.cumsum([c[1] for c in changes])
    return np.concatenate([[0.0], t, [end]]), np.concatenate([[0], level, [level[-1]]])


def _draw_concurrency(ax, records, end, scale, limit):
    """How many tasks were in progress, and how many of those were not held at a gate.

    In progress: started and not yet finished.  Held at a gate: waiting for a Semaphore,
    Lock, Event, Condition or Queue.  The dark line (in progress minus held) is what a
    Semaphore limits, so the limit line is drawn against it; with no gate it is the same
    as the shaded area and gets no legend entry of its own.
    """
    alive, free, gated = [], [], False
    for r in records:
        if r.started is None:
            continue
        stop = r.finished if r.finished is not None else end
        for change in ((r.started, 1), (stop, -1)):
            alive.append(change)
            free.append(change)
        for a, b, what in r.waiting:
            if what in _GATED:
                free += [(a, -1), (b, 1)]
                gated = True
    if not alive:
        return
    t, level = _step_counts(alive, end)
    ax.fill_between(t * scale, level, step="post", color=_RUNNING_COLOUR, alpha=0.15,
                    linewidth=0, label="tasks in progress")
    if gated:       # only then is "past the gate" a different number worth its own line
        t, level_free = _step_counts(free, end)
        label = "in progress, not held at a gate"
    else:
        level_free, label = level, None
    ax.step(t * scale, level_free, where="post", color=_RUNNING_COLOUR, linewidth=1.3, label=label)
    if limit is not None:
        ax.axhline(limit, color="#cb181d", linestyle="--", linewidth=1, label=f"limit {limit}")
    ax.set_ylabel("tasks", fontsize="small")
    ax.set_ylim(0, max(level.max(), limit or 0) * 1.25 + 0.5)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="x-small", frameon=False)
