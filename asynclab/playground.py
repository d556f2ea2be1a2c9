"""Playgrounds: sliders that re-run a scenario and redraw its timeline.

Why each run happens in a worker thread with its own event loop: in JupyterLab 4.4+
a widget callback may run in a kernel *subshell* thread, whose running loop is not
the one the cells use.  Our browser tests saw both with JupyterLab
4.6.6 and ipykernel 7.4.0: the first slider move after a cell ran on the main thread, in
the cells' loop; later moves ran on a `subshell-...` thread with a loop of its own.  A scenario run by `asyncio.run()` in a
fresh thread behaves the same wherever the callback runs, never touches the cells'
loop, and can be abandoned if it takes too long.  The picture is drawn without pyplot
(no global state, safe in any thread) and sent to the browser as a PNG in an Image
widget, which also works from any thread.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import io
import threading

from matplotlib.figure import Figure

from . import environment
from .language import tr
from .tracer import trace

RUN_LIMIT = 10.0   # seconds a scenario may take before the playground gives up on it


def _widget_for(name, spec):
    """A control from a short description, as ipywidgets.interact understands them."""
    import ipywidgets as w

    style = {"description_width": "initial"}
    if isinstance(spec, w.ValueWidget):
        return spec
    if isinstance(spec, bool):
        return w.Checkbox(value=spec, description=name)
    if isinstance(spec, (list, tuple)) and spec and all(isinstance(x, str) for x in spec):
        # The menu shows each choice in the current language; the scenario still gets the choice
        # itself (its code compares it with the English words).
        labels = [tr(x) for x in spec]
        options = list(spec) if labels == list(spec) else list(zip(labels, spec))
        return w.Dropdown(options=options, value=spec[0], description=name, style=style)
    if isinstance(spec, tuple) and len(spec) in (3, 4) and all(isinstance(x, (int, float)) for x in spec):
        lo, hi, step = spec[:3]
        value = spec[3] if len(spec) == 4 else lo
        cls = w.IntSlider if all(isinstance(x, int) for x in spec) else w.FloatSlider
        return cls(min=lo, max=hi, step=step, value=value, description=name,
                   continuous_update=False, style=style)
    raise TypeError(tr("playground control {name}={spec}: give (min, max, step[, value]) for a "
                       "slider, a list of strings for a menu, True/False for a checkbox, or a widget",
                       name=name, spec=repr(spec)))


class Playground:
    """A scenario, its controls and its latest timeline.  Display it as the last line of a cell.

    scenario     an `async def` taking the controls' values as keyword arguments; it may
                 return a short text, shown under the timeline
    controls     name=(min, max, step[, value]) | ["a", "b"] | True/False | a widget
    limit        name of a control whose value is drawn as a limit line (a Semaphore's k)
    """

    def __init__(self, scenario, *, title=None, limit=None, **controls):
        import ipywidgets as w

        if not inspect.iscoroutinefunction(scenario):
            raise TypeError(tr("playground() needs an `async def` scenario function, not {scenario}",
                               scenario=repr(scenario)))
        if not controls:
            raise TypeError(tr("playground() needs at least one control, e.g. tasks=(1, 10, 1)"))
        if limit is not None and (not isinstance(limit, str) or limit not in controls):
            raise TypeError(tr("playground(limit=...) names the control whose value is drawn as a "
                               "limit line, one of {controls}; got {limit}. (To have a control "
                               "called `limit`, call it something else, e.g. `at_once`.)",
                               controls=list(controls), limit=repr(limit)))
        self.scenario = scenario
        self.title = title
        self.limit = limit
        self.controls = {name: _widget_for(name, spec) for name, spec in controls.items()}
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.caption = w.HTML()
        self.timeline = None
        self.runs = 0
        self._lock = threading.Lock()
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.widget = w.VBox([w.HBox(list(self.controls.values())), self.image, self.caption])
        self.update()

    @property
    def values(self):
        return {name: c.value for name, c in self.controls.items()}

    def set(self, **values):
        """Move controls from code (as a learner would with the mouse); redraws once."""
        for name, value in values.items():
            if name not in self.controls:
                raise KeyError(tr("no control named {name}; the controls are {controls}",
                                  name=repr(name), controls=list(self.controls)))
        for control in self.controls.values():
            control.unobserve(self._on_change, names="value")
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            for control in self.controls.values():
                control.observe(self._on_change, names="value")
        self.update()

    def _on_change(self, _change):
        self.update()

    def update(self):
        """Run the scenario once with the current values and redraw."""
        with self._lock:                     # one run at a time, even if sliders race
            values = self.values
            outcome = {}
            worker = threading.Thread(target=self._run, args=(values, outcome),
                                      name="asynclab-playground", daemon=True)
            worker.start()
            worker.join(RUN_LIMIT)
            if worker.is_alive():
                self.caption.value = tr("<b>This run took longer than {seconds} s and was "
                                        "abandoned.</b> Try smaller values.",
                                        seconds=f"{RUN_LIMIT:.0f}")
                return
            if "error" in outcome:
                err = outcome["error"]
                self.caption.value = tr("<b>The scenario raised {error_type}:</b> {message}",
                                        error_type=type(err).__name__, message=_escape(str(err)))
                return
            self.timeline = outcome["timeline"]
            self.image.value = outcome["png"]
            self.runs += 1
            text = outcome["text"]
            self.caption.value = _escape(text) if text else ""

    def _run(self, values, outcome):
        async def traced():
            async with trace() as tl:
                text = await self.scenario(**values)
            return tl, text

        try:
            # A notebook that has drawn many figures holds tens of thousands of objects of
            # cyclic garbage; the full collection that frees them pauses the thread for
            # 100-200 ms, and inside a run that pause would reorder the scenario's tasks.
            # Collecting now, before the run, makes such a pause during it unlikely.
            gc.collect()
            tl, text = asyncio.run(traced())
            fig = Figure(figsize=(9, min(7, 2.2 + 0.3 * len(tl.tasks))), layout="constrained")
            ax, strip = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1]})
            limit = values.get(self.limit) if self.limit else None
            tl.plot(ax=ax, strip=strip, title=self.title, limit=limit, concurrency=True)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=90)
            outcome.update(timeline=tl, png=buf.getvalue(),
                           text=text if isinstance(text, str) else None)
        except Exception as err:  # shown in the caption: a scenario's own mistake
            outcome["error"] = err

    def _ipython_display_(self):
        """Show the live widget; where widgets cannot run, the current picture and why.

        `display(widget)` works on ipywidgets 7 and 8 alike (a version 7 VBox has no
        `_repr_mimebundle_`, only its own display hook).
        """
        from IPython.display import Image, display

        if environment.widgets_work():
            display(self.widget)
            return
        if self.image.value:
            display(Image(data=self.image.value, format="png"))
        print(tr("The sliders need a notebook kernel with ipywidgets, which this is not; above is the "
                 "picture for the starting values. To see others, call .set(name=value) and show it "
                 "again."))


def _escape(text):
    import html
    return html.escape(text).replace("\n", "<br>")


def playground(scenario, *, title=None, limit=None, **controls):
    """Make a Playground (see its docstring).  Put it last in a cell to show it."""
    return Playground(scenario, title=title, limit=limit, **controls)
