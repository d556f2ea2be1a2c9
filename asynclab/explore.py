"""explore(tl): a timeline to explore, and a step-by-step replay of the schedule, in JupyterLab.

    async with asynclab.trace() as tl:
        ...
    asynclab.explore(tl)        # hover, zoom, click a task, step through the schedule

The view is a small front-end (explore.js and explore.css, next to this file) in an anywidget:
the recorded spans are sent to the browser once, and everything after that (hover, zoom, pan,
replay) happens there, so nothing waits for the kernel and a busy cell does not freeze it.
It draws on a canvas, and only the rows on screen, so 10,000 tasks stay smooth.

Where no widget can run (the reading copy, GitHub, nbviewer) it shows a plain sentence instead;
`tl.plot()` stays the static picture for those.

What the browser receives (`timeline_data`), as columns rather than one object per span:

    tasks   label, parent (index of the task that created it, or -1), parent_label, outcome
    spans   task, kind ("running" | "ready" | "waiting"), start, end, what, site;
            sorted by task, then start
    steps   indices (into spans) of the running spans, in the order the loop ran them
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
from pathlib import Path

from .language import current, tr

__all__ = ["explore", "timeline_data", "replay", "ExploreWidget"]

_HERE = Path(__file__).resolve().parent
FRONT_END = (_HERE / "explore.js", _HERE / "explore.css")
KINDS = ("running", "ready", "waiting")
_DIGITS = 7                     # seconds rounded to 0.1 microsecond: the JSON stays small


def _seconds(value):
    return round(float(value), _DIGITS)


def _site_text(site):
    """The line a task waited at, as "file.py:12, in work()", from whatever the tracer gives."""
    if site is None:
        return None
    file, line, function = (getattr(site, a, None) for a in ("file", "line", "function"))
    if file is None and line is None:
        return str(site)
    where = f"{os.path.basename(str(file)) if file else '?'}:{line if line is not None else '?'}"
    return f"{where}, in {function}()" if function else where


def _check(timeline):
    tasks = getattr(timeline, "tasks", None)
    if tasks is None or isinstance(timeline, (str, bytes, list, tuple, dict)):
        raise TypeError(f"explore() needs the timeline that asynclab.trace() gives (the `tl` in "
                        f"`async with asynclab.trace() as tl:`), not {type(timeline).__name__}.")
    return list(tasks)


def _label(rec, i):
    return str(getattr(rec, "display_name", None) or getattr(rec, "name", None) or f"task {i}")


def _parents(records, labels):
    """Each task's creator as an index (-1 if unknown).  The tracer gives the creator's label;
    if several tasks share that label, the one running when the child was created is meant."""
    by_label = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    parents, parent_labels = [], []
    for rec in records:
        parent = getattr(rec, "parent", None)
        parent = None if parent is None else str(getattr(parent, "display_name", parent))
        parent_labels.append(parent)
        candidates = by_label.get(parent, []) if parent is not None else []
        created = getattr(rec, "created", None)
        chosen = next((c for c in candidates if created is not None and any(
            s <= created <= e for s, e in getattr(records[c], "running", ()))), None)
        if chosen is None and candidates:
            chosen = candidates[0]
        parents.append(-1 if chosen is None else chosen)
    return parents, parent_labels


def _task_spans(rec):
    """(start, end, kind, what, site) of one task, sorted by start."""
    spans = [(s, e, "running", None, None) for s, e in getattr(rec, "running", ())]
    for wait in getattr(rec, "waiting", ()):
        start, end, what = wait
        spans.append((start, end, "waiting", None if what is None else str(what),
                      _site_text(getattr(wait, "site", None))))
    spans.extend((s, e, "ready", None, None) for s, e in getattr(rec, "ready", ()) or ())
    spans.sort(key=lambda span: (span[0], span[1], KINDS.index(span[2])))
    return spans


def timeline_data(timeline):
    """Everything the browser needs, as plain JSON-ready lists (see the module's docstring)."""
    records = _check(timeline)
    labels = [_label(rec, i) for i, rec in enumerate(records)]
    parents, parent_labels = _parents(records, labels)
    columns = {"task": [], "kind": [], "start": [], "end": [], "what": [], "site": []}
    end_of_all = 0.0
    for i, rec in enumerate(records):
        for start, end, kind, what, site in _task_spans(rec):
            if not (math.isfinite(start) and math.isfinite(end)):
                continue
            columns["task"].append(i)
            columns["kind"].append(kind)
            columns["start"].append(_seconds(start))
            columns["end"].append(_seconds(max(start, end)))
            columns["what"].append(what)
            columns["site"].append(site)
            end_of_all = max(end_of_all, end)
    duration = getattr(timeline, "duration", None)
    duration = max(float(duration) if duration is not None else 0.0, end_of_all)
    running = [k for k, kind in enumerate(columns["kind"]) if kind == "running"]
    steps = sorted(running, key=lambda k: (columns["start"][k], columns["task"][k]))
    from .plots import colours
    return {
        "duration": _seconds(duration),
        "colours": colours({w for w, kind in zip(columns["what"], columns["kind"]) if kind == "waiting"}),
        "tasks": {"label": labels, "parent": parents, "parent_label": parent_labels,
                  "outcome": [str(getattr(r, "outcome", "")) for r in records]},
        "spans": columns,
        "steps": steps,
    }


def replay(timeline):
    """What the replay shows at each step, in plain Python (the browser's rules, so a lesson can
    print and check the step it asks about): a list with one dict per step, steps[0] being step 1:

        step     its number, from 1
        now      when it began (seconds from the start of the trace)
        running  the label of the task that runs in it
        ready    the labels of the other tasks ready to run then, next first
        waiting  (label, what it waits for) of every task waiting then
    """
    data = timeline_data(timeline)
    labels, cols = data["tasks"]["label"], data["spans"]
    spans = range(len(cols["task"]))
    states = []
    for number, s in enumerate(data["steps"], start=1):
        now, running = cols["start"][s], cols["task"][s]
        at_now = [j for j in spans if cols["start"][j] <= now < cols["end"][j] and cols["task"][j] != running]
        ready = []
        for j in sorted((j for j in at_now if cols["kind"][j] == "ready"),
                        key=lambda j: (cols["start"][j], cols["task"][j])):
            if cols["task"][j] not in ready:
                ready.append(cols["task"][j])
        waiting = [(labels[cols["task"][j]], cols["what"][j]) for j in at_now
                   if cols["kind"][j] == "waiting" and cols["task"][j] not in ready]
        states.append({"step": number, "now": now, "running": labels[running],
                       "ready": [labels[t] for t in ready], "waiting": waiting})
    return states


# The outcomes a task row can show (explore.js translates them with t(outcome)).
_OUTCOMES = ("result", "error", "cancelled", "pending")


def widget_texts():
    """{English: translation} for every text explore.js shows (its tr("...") calls, and outcomes);
    empty in English, where explore.js uses its own words."""
    if current() == "en":
        return {}
    found = re.findall(r'\btr\("((?:[^"\\]|\\.)*)"', FRONT_END[0].read_text(encoding="utf-8"))
    return {english: tr(english) for english in [*found, *_OUTCOMES]}


def _describe(data):
    n = len(data["tasks"]["label"])
    tasks = tr("{n} task", n=n) if n == 1 else tr("{n} tasks", n=n)
    return tr("An explorable timeline of {tasks} over {duration:.1f} ms, with a step-by-step "
              "replay of its {steps} steps. It runs in JupyterLab with a live kernel; elsewhere it "
              "is shown as the picture tl.plot() draws.", tasks=tasks,
              duration=data["duration"] * 1000, steps=len(data["steps"]))


def _widget_class():
    try:
        import anywidget
        import traitlets
    except ImportError as exc:
        raise ImportError(tr("explore() needs the anywidget package: pip install -r requirements.txt "
                             "(or pip install anywidget)")) from exc

    class ExploreWidget(anywidget.AnyWidget):
        """The explorable timeline.  `step` is the replay's position (0: before the first step)."""

        _esm = FRONT_END[0]
        _css = FRONT_END[1]
        # The spans go to the browser as one JSON string: ipywidgets would otherwise walk every
        # number of a 10,000-task trace looking for binary buffers (a second, for nothing).
        _data_json = traitlets.Unicode("{}").tag(sync=True)
        step = traitlets.Int(0).tag(sync=True)
        height = traitlets.Int(0).tag(sync=True)    # pixels of the timeline; 0: fit the tasks

        def __init__(self, data, timeline=None, **kwargs):
            self.data = data                        # what timeline_data() made (kept for Python)
            self._timeline = timeline               # for the picture shown where no widget runs
            self._picture = None
            sent = dict(data, texts=widget_texts())
            super().__init__(_data_json=json.dumps(sent, allow_nan=False, separators=(",", ":")),
                             **kwargs)

        def __repr__(self):
            return _describe(self.data)

        def _repr_mimebundle_(self, **kwargs):
            # Where no widget can run (the reading copy, GitHub, nbviewer) a reader sees the
            # static timeline and this sentence; JupyterLab shows the widget instead.  The
            # sentence goes out whole: ipywidgets cuts text/plain at 110 characters.
            extra = {"text/plain": repr(self)}
            if self._timeline is not None:
                if self._picture is None:
                    from .plots import timeline_png
                    self._picture = base64.b64encode(timeline_png(self._timeline)).decode()
                extra["image/png"] = self._picture
            bundle = super()._repr_mimebundle_(**kwargs)
            if isinstance(bundle, tuple):
                bundle = (dict(bundle[0], **extra),) + bundle[1:]
            elif isinstance(bundle, dict):
                bundle = dict(bundle, **extra)
            return bundle

    return ExploreWidget


_ExploreWidget = None


def __getattr__(name):
    # ExploreWidget is made on first use, so `import asynclab` works without anywidget.
    if name == "ExploreWidget":
        return _get_widget_class()
    raise AttributeError(name)


def _get_widget_class():
    global _ExploreWidget
    if _ExploreWidget is None:
        _ExploreWidget = _widget_class()
    return _ExploreWidget


def explore(timeline, step=0, height=0):
    """An explorable view of `timeline` for JupyterLab: hover a bar for what it was, zoom and pan
    the time axis, click a task to see its parent and children, and replay the schedule one
    step at a time (buttons, slider or the arrow keys).  `step` starts the replay there;
    `height` is the timeline's height in pixels (0: up to 420, rows scroll beyond that)."""
    data = timeline_data(timeline)
    if not isinstance(step, int) or not 0 <= step <= len(data["steps"]):
        raise ValueError(f"step must be a whole number from 0 to {len(data['steps'])}, "
                         f"the number of steps this timeline recorded; got {step!r}.")
    try:
        widget_class = _get_widget_class()
    except ImportError as exc:             # e.g. a kernel where only the lessons' basics are installed
        print(tr("{problem}. Here is the same timeline as a picture instead.", problem=exc))
        if hasattr(timeline, "plot"):
            timeline.plot()
        return None
    return widget_class(data=data, timeline=timeline, step=step, height=int(height))
