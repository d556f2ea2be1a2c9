"""Draw a Timeline as a Gantt chart: one row per task, running, ready or waiting.

All spans of one kind (running, ready, or waiting for one kind of thing) become one collection
holding a single compound path of rectangles, so ten thousand tasks draw in a fraction
of a second (one artist per bar takes many seconds).
"""

from __future__ import annotations

import numbers

import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.path import Path
from matplotlib.ticker import MaxNLocator

from .fonts import label as _label
from .language import tr

# What a waiting task waited for, grouped into a few colours a learner can tell apart.
_WAIT_KINDS = [
    # (legend text, colour, test on the label)
    ("sleep / simulated I/O", "#9ecae1", lambda w: w == "sleep"),
    ("waiting for a Semaphore or Lock", "#fdae6b",
     lambda w: w in ("Semaphore", "Lock", "Condition", "Event", "Barrier")),
    ("waiting on a Queue", "#a1d99b", lambda w: bool(w) and w.startswith("Queue")),
    ("waiting for other tasks or a thread", "#bcbddc",
     lambda w: bool(w) and (w.startswith("task") or w in ("gather", "wait", "wait_for", "thread"))),
    ("waiting (other)", "#eeeeee", lambda w: True),
]
_RUNNING_COLOUR = "#08519c"
# Ready: it could have run, but another task (or the loop itself) was running.  Records made
# by a tracer without ready spans simply have none (getattr below).
_READY = ("ready, held up by the loop", "#fb9a99")
_LIMIT_COLOUR = "#cb181d"
# A kind of span is named in the legend only if at least one of its spans is this share of
# the time axis wide (three or four pixels): a colour nobody can make out needs no name, and
# a first turn that took a fraction of a millisecond should not add one to every legend.
_VISIBLE_SHARE = 1 / 150
_OUTCOME_MARKS = {"error": ("X", "#cb181d", "raised an error"),
                  "cancelled": ("s", "#252525", "cancelled")}
_BAR_HEIGHT = 0.7
_MAX_ROW_LABELS = 60


def _kind_of(label):
    for i, (_, _, test) in enumerate(_WAIT_KINDS):
        if test(label):
            return i
    return len(_WAIT_KINDS) - 1


def colours(wait_labels):
    """The colours tl.plot() uses, for explore() to draw with the same: running, ready, and
    one per wait label given (what a task waited for; None where nothing could be named)."""
    return {"running": _RUNNING_COLOUR, "ready": _READY[1],
            "waiting": {"" if w is None else w: _WAIT_KINDS[_kind_of(w)][1] for w in wait_labels}}


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
                  legend=True, unit=None, tmax=None):
    """Draw `timeline` and return the Gantt chart's Axes.

    ax           draw into this Axes; by default into a new figure
    strip        with `ax`: draw the concurrency strip into this Axes
    title        text above the chart
    concurrency  add a strip below showing how many tasks were in progress over time
                 (default: on when there are at least two tasks)
    limit        draw a line at this height on the strip (a Semaphore's limit, say)
    unit         "ms" or "s"; by default ms for traces shorter than two seconds
    tmax         end the time axis here (seconds since the trace began), e.g. another trace's
                 duration, so that two figures the text compares share one time scale
    Steps shorter than a pixel are drawn one pixel wide, so every step stays visible.
    """
    records = timeline.tasks
    end = max([timeline.duration] + [b for r in records for _, b in r.running])
    if tmax is not None and (isinstance(tmax, bool) or not isinstance(tmax, numbers.Real)
                             or not tmax > 0):
        raise ValueError(tr("tmax must be a number of seconds greater than 0, such as "
                            "other_timeline.duration; got {tmax!r}", tmax=tmax))
    shown = float(tmax) if tmax is not None else end       # seconds the time axis shows
    if unit is None:
        unit = "ms" if shown < 2 else "s"
    if unit not in ("ms", "s"):
        raise ValueError(tr('unit must be "ms" or "s"'))
    scale = 1000.0 if unit == "ms" else 1.0
    if concurrency is None:
        concurrency = len(records) >= 2

    if ax is None:
        import matplotlib.pyplot as plt   # pyplot, so that Jupyter shows the figure inline
        ax, strip = _new_axes(plt.figure, len(records), concurrency)
    elif not concurrency:
        strip = None

    x_right = shown * scale * 1.02 or 1.0
    ax.set_xlim(0, x_right)
    ax.set_xlabel(_label("time since the trace began ({unit})", unit=unit))
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title)
    if not records:
        _draw_no_tasks(ax, timeline.duration * scale, unit)
        _hide_strip(ax, strip)
        return ax

    # Gather every span into flat arrays, one set per colour.
    run_rows, run_a, run_b = [], [], []
    ready = ([], [], [])
    wait = [([], [], []) for _ in _WAIT_KINDS]
    marks = {k: ([], []) for k in _OUTCOME_MARKS}
    for row, r in enumerate(records):
        for a, b in r.running:
            run_rows.append(row), run_a.append(a), run_b.append(b)
        for a, b in getattr(r, "ready", ()):
            ready[0].append(row), ready[1].append(a), ready[2].append(b)
        for a, b, what in r.waiting:
            rows_, a_, b_ = wait[_kind_of(what)]
            rows_.append(row), a_.append(a), b_.append(b)
        if r.outcome in marks and r.finished is not None:
            marks[r.outcome][0].append(r.finished * scale)
            marks[r.outcome][1].append(row)

    handles = []
    visible_width = shown * _VISIBLE_SHARE
    for (text, colour), (rows_, a_, b_) in ([(_READY, ready)] +
                                            [((t, c), w) for (t, c, _), w in zip(_WAIT_KINDS, wait)]):
        if rows_:
            ax.add_collection(_bars(rows_, np.multiply(a_, scale), np.multiply(b_, scale), colour),
                              autolim=False)
            if np.max(np.subtract(b_, a_)) >= visible_width:
                handles.append(Patch(facecolor=colour, label=_label(text)))
    if run_rows:
        a = np.multiply(run_a, scale)
        b = np.maximum(np.multiply(run_b, scale), a + x_right / 255)   # at least ~a pixel
        ax.add_collection(_bars(run_rows, a, b, _RUNNING_COLOUR), autolim=False)
        handles.insert(0, Patch(facecolor=_RUNNING_COLOUR, label=_label("running (its code executing)")))
    for outcome, (xs, ys) in marks.items():
        if xs:
            marker, colour, text = _OUTCOME_MARKS[outcome]
            ax.scatter(xs, ys, marker=marker, color=colour, s=36, zorder=3, label=_label(text))

    n = len(records)
    ax.set_ylim(n - 0.5, -0.5)                      # first task on top
    if n <= _MAX_ROW_LABELS:
        ax.set_yticks(range(n), [r.display_name for r in records])
    else:
        ax.set_ylabel(_label("{n} tasks, in creation order", n=n))
    if legend and (handles or any(xs for xs, _ in marks.values())):
        extra, _ = ax.get_legend_handles_labels()
        ax.legend(handles=handles + extra, loc="upper left", bbox_to_anchor=(1.01, 1),
                  fontsize="small", frameon=False)

    if strip is not None:
        if _draw_concurrency(strip, records, end, scale, limit):
            strip.set_xlabel(ax.get_xlabel())
            ax.set_xlabel("")
        else:
            _hide_strip(ax, strip)
    return ax


def _new_axes(make_figure, n, concurrency):
    """The chart's Axes and the strip's (or None) in a new figure sized for n tasks."""
    height = min(8.0, 1.2 + 0.35 * max(n, 2)) + (1.1 if concurrency else 0)
    fig = make_figure(figsize=(9, height), layout="constrained")
    if concurrency:
        return fig.subplots(2, 1, sharex=True,
                            gridspec_kw={"height_ratios": [max(n, 3), 2.2] if n < 12 else [5, 1]})
    return fig.add_subplot(), None


def timeline_png(timeline):
    """The picture tl.plot() draws, as PNG bytes, without showing it (nothing goes to pyplot)."""
    import io
    from matplotlib.figure import Figure
    ax, strip = _new_axes(Figure, len(timeline.tasks), len(timeline.tasks) >= 2)
    plot_timeline(timeline, ax, strip=strip, concurrency=strip is not None)
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def _hide_strip(ax, strip):
    """No task ever started: an empty strip would only puzzle.  Hide it, and give the chart
    back the time axis labels a shared axis took away from it."""
    if strip is not None:
        strip.set_visible(False)
        ax.xaxis.set_tick_params(labelbottom=True)


def _draw_no_tasks(ax, duration, unit):
    """A trace in which no task was created: the block's own code did everything itself,
    one await after another.  Draw that as one row, with a sentence saying so."""
    ax.add_patch(Rectangle((0, -_BAR_HEIGHT / 2), duration, _BAR_HEIGHT, facecolor="#f7f7f7",
                           edgecolor="#969696", hatch="//", linewidth=0.8))
    ax.set_ylim(0.5, -0.5)
    ax.set_yticks([0], [_label("the traced block")])
    amount = f"{duration:.0f} ms" if unit == "ms" else f"{duration:.2f} s"
    ax.text(duration / 2, 0, _label("No task was created inside the trace: the block's own code awaited\n"
                                    "one thing after another, never two at once ({amount} in all).",
                                    amount=amount),
            ha="center", va="center", fontsize="small",
            bbox=dict(facecolor="white", edgecolor="none", alpha=0.85))


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
    number as the shaded area, and one legend entry names both.
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
        return False
    t, level = _step_counts(alive, end)
    area = ax.fill_between(t * scale, level, step="post", color=_RUNNING_COLOUR, alpha=0.15,
                           linewidth=0)
    t_free, level_free = _step_counts(free, end) if gated else (t, level)
    line, = ax.step(t_free * scale, level_free, where="post", color=_RUNNING_COLOUR, linewidth=1.3,
                    zorder=3)
    if gated:       # only then is "past the gate" a different number worth its own line
        handles = [(area, _label("tasks in progress")),
                   (line, _label("dark line: in progress, not held at a gate"))]
    else:
        handles = [((area, line), _label("tasks in progress (shaded, and the dark line)"))]
    if limit is not None:
        # Wider than the dark line and beneath it: where the two coincide, the red shows on
        # both sides of the dark line instead of hiding it (or being hidden by it).
        ax.axhline(limit, color=_LIMIT_COLOUR, linestyle=(0, (4, 2)), linewidth=3.2, alpha=0.75,
                   zorder=2)
        handles.append((Line2D([], [], color=_LIMIT_COLOUR, linestyle=(0, (4, 2)), linewidth=3.2,
                               alpha=0.75), _label("limit {limit}", limit=limit)))
    ax.set_ylabel(_label("tasks"), fontsize="small")
    ax.set_ylim(0, max(level.max(), limit or 0) * 1.25 + 0.5)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))     # tasks are counted: no 2.5
    ax.grid(axis="x", alpha=0.3)
    ax.legend([h for h, _ in handles], [text for _, text in handles], loc="upper left",
              bbox_to_anchor=(1.01, 1), fontsize="x-small", frameon=False)
    return True
