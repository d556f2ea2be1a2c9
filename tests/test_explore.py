"""asynclab.explore(): what the browser receives from a Timeline (the front-end itself is tested in
a real browser by tests/browser/test_explore_in_jupyterlab.py)."""

import asyncio
import base64
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import asynclab
from asynclab.explore import FRONT_END, timeline_data
from asynclab.plots import timeline_png

ROOT = Path(__file__).resolve().parents[1]


def traced(scenario):
    async def main():
        async with asynclab.trace() as tl:
            await scenario()
        return tl
    return asyncio.run(main())


async def three_sleepers():
    async def work(delay):
        await asyncio.sleep(delay)

    await asyncio.gather(*(asyncio.create_task(work(d), name=n)
                           for n, d in [("A", 0.03), ("B", 0.01), ("C", 0.02)]))


def spans_of(data, label):
    i = data["tasks"]["label"].index(label)
    cols = data["spans"]
    return [{key: cols[key][k] for key in cols} for k in range(len(cols["task"])) if cols["task"][k] == i]


# --------------------------------------------------------------------------------------------
# from today's tracer


def test_every_task_is_a_row_with_the_label_the_static_plot_uses():
    tl = traced(three_sleepers)
    data = timeline_data(tl)
    assert data["tasks"]["label"] == [r.display_name for r in tl.tasks]
    assert data["tasks"]["outcome"] == [r.outcome for r in tl.tasks]
    assert data["duration"] == pytest.approx(tl.duration, abs=1e-6)


def test_running_and_waiting_spans_are_the_recorded_ones():
    tl = traced(three_sleepers)
    data = timeline_data(tl)
    for rec in tl.tasks:
        spans = spans_of(data, rec.display_name)
        running = [t for s in spans if s["kind"] == "running" for t in (s["start"], s["end"])]
        assert running == pytest.approx([t for span in rec.running for t in span], abs=1e-6)
        waiting = [(s["start"], s["end"], s["what"]) for s in spans if s["kind"] == "waiting"]
        expected = rec.waiting
        assert [w[2] for w in waiting] == [w[2] for w in expected]
        assert [t for w in waiting for t in w[:2]] == pytest.approx(
            [t for w in expected for t in w[:2]], abs=1e-6)
        starts = [s["start"] for s in spans]
        assert starts == sorted(starts), "a task's spans go in time order"


def test_a_task_waiting_for_its_first_turn_is_shown_ready():
    """create_task puts the new task in the loop's ready queue: until its first step it is ready."""
    tl = traced(three_sleepers)
    data = timeline_data(tl)
    for name in "ABC":
        rec = tl.by_name(name)
        first = spans_of(data, name)[0]
        assert first["kind"] == "ready"
        assert (first["start"], first["end"]) == pytest.approx((rec.created, rec.started), abs=1e-6)


def test_steps_are_every_running_span_in_the_order_the_loop_ran_them():
    tl = traced(three_sleepers)
    data = timeline_data(tl)
    cols, steps = data["spans"], data["steps"]
    assert sorted(steps) == [k for k, kind in enumerate(cols["kind"]) if kind == "running"]
    starts = [cols["start"][k] for k in steps]
    assert starts == sorted(starts)
    assert len(steps) == sum(len(r.running) for r in tl.tasks)
    # B slept least, so after everybody's first step B runs first, then C, then A.
    later = [data["tasks"]["label"][cols["task"][k]] for k in steps][-4:]
    assert later[1:] == ["B", "C", "A"], later


def test_the_browser_draws_with_the_static_plots_colours():
    data = timeline_data(traced(three_sleepers))
    assert data["colours"] == {"running": "#08519c", "ready": "#fb9a99", "waiting": {"sleep": "#9ecae1"}}
    data = timeline_data(richer_timeline())
    assert data["colours"]["waiting"] == {"gather": "#bcbddc", "sleep": "#9ecae1"}
    unnamed = FakeTimeline([Record("t", 0.0, [(0.0, 0.001), (0.002, 0.003)],
                                   waiting=[Wait(0.001, 0.002, None)])], 0.003)
    assert timeline_data(unnamed)["colours"]["waiting"] == {"": "#eeeeee"}   # a wait nothing could name


def test_what_the_browser_receives_is_plain_json():
    data = timeline_data(traced(three_sleepers))
    assert json.loads(json.dumps(data, allow_nan=False)) == data


# --------------------------------------------------------------------------------------------
# from the richer records the tracer is growing (ready spans, parents, wait sites)


class Site:
    def __init__(self, file, line, function):
        self.file, self.line, self.function = file, line, function


class Wait(tuple):
    """A waiting item that unpacks as (start, end, what) and carries the line it waited at."""

    def __new__(cls, start, end, what, site=None):
        item = super().__new__(cls, (start, end, what))
        item.site = site
        return item


class Record:
    def __init__(self, name, created, running, waiting=(), ready=(), parent=None, outcome="result"):
        self.name = self.display_name = name
        self.created, self.running, self.waiting = created, list(running), list(waiting)
        self.ready, self.parent, self.outcome = list(ready), parent, outcome


class FakeTimeline:
    def __init__(self, tasks, duration):
        self.tasks, self.duration = tasks, duration


def richer_timeline():
    return FakeTimeline([
        Record("main", 0.0, [(0.0, 0.001), (0.005, 0.006)],
               waiting=[Wait(0.001, 0.004, "gather", Site("/x/lesson.py", 7, "main"))],
               ready=[(0.004, 0.005)]),
        Record("worker", 0.0005, [(0.001, 0.002)], ready=[(0.0005, 0.001)], parent="main"),
        Record("worker", 0.0008, [(0.002, 0.003), (0.0035, 0.004)],
               waiting=[Wait(0.003, 0.0034, "sleep", Site("/x/lesson.py", 3, "work"))],
               ready=[(0.0008, 0.002), (0.0034, 0.0035)], parent="main"),
        Record("late", 0.0055, [(0.0058, 0.0059)], ready=[(0.0055, 0.0058)], parent="worker"),
    ], duration=0.007)


def test_ready_spans_come_from_the_record():
    data = timeline_data(richer_timeline())
    cols = data["spans"]
    ready = [(cols["task"][k], cols["start"][k], cols["end"][k])
             for k in range(len(cols["task"])) if cols["kind"][k] == "ready"]
    assert (2, 0.0034, 0.0035) in ready and (0, 0.004, 0.005) in ready
    assert len(ready) == 5


def test_wait_sites_are_file_line_and_function():
    data = timeline_data(richer_timeline())
    cols = data["spans"]
    sites = {cols["what"][k]: cols["site"][k] for k in range(len(cols["task"])) if cols["kind"][k] == "waiting"}
    assert sites == {"gather": "lesson.py:7, in main()", "sleep": "lesson.py:3, in work()"}


def test_parents_are_task_indices_and_a_shared_label_means_the_one_running_then():
    data = timeline_data(richer_timeline())
    tasks = data["tasks"]
    assert tasks["parent"][:3] == [-1, 0, 0]
    assert tasks["parent_label"] == [None, "main", "main", "worker"]
    # "late" was created at 5.5 ms, when no "worker" ran: the first task with that label is meant.
    assert tasks["parent"][3] == 1


def test_a_parent_that_is_not_in_the_trace_keeps_its_name_only():
    tl = FakeTimeline([Record("child", 0.0, [(0.0, 0.001)], parent="outside")], 0.002)
    tasks = timeline_data(tl)["tasks"]
    assert tasks["parent"] == [-1] and tasks["parent_label"] == ["outside"]


# --------------------------------------------------------------------------------------------
# the widget


def test_explore_returns_a_widget_with_the_data_and_the_front_end():
    tl = traced(three_sleepers)
    widget = asynclab.explore(tl, step=2)
    assert widget.data == timeline_data(tl)
    assert json.loads(widget._data_json) == dict(widget.data, texts={})   # English: no texts
    assert "_data_json" in widget.keys and "data" not in widget.keys     # sent once, as one string
    assert widget.step == 2
    assert str(widget._esm) == FRONT_END[0].read_text(encoding="utf-8")
    assert "export default" in str(widget._esm)


def test_where_no_widget_runs_the_reader_sees_the_picture_and_a_whole_sentence():
    tl = traced(three_sleepers)
    widget = asynclab.explore(tl)
    bundle = widget._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    text = data["text/plain"]
    assert text.startswith("An explorable timeline of 3 tasks over ") and text.endswith("tl.plot() draws.")
    assert len(text) > 110                          # not cut where ipywidgets cuts its own text
    # the picture is tl.plot()'s, drawn without pyplot (so the cell shows no second figure)
    picture = base64.b64decode(data["image/png"])
    assert picture.startswith(b"\x89PNG") and picture == timeline_png(tl)
    import matplotlib.pyplot as plt
    assert plt.get_fignums() == []
    assert widget._repr_mimebundle_() == bundle     # drawn once, not at every display


@pytest.mark.once
def test_the_reading_copy_shows_the_picture_and_the_sentence_in_place_of_the_widget():
    import sys
    sys.path.insert(0, str(ROOT / "tools"))
    import build_html
    import nbformat

    bundle = asynclab.explore(traced(three_sleepers))._repr_mimebundle_()
    data = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("asynclab.explore(tl)", outputs=[
        nbformat.v4.new_output("display_data", data=data)])]
    build_html.freeze_widgets(nb)
    shown = nb.cells[0].outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" not in shown
    page = shown["text/html"]
    assert "An explorable timeline of 3 tasks" in page
    assert f'src="data:image/png;base64,{data["image/png"]}"' in page


def test_without_anywidget_explore_says_what_to_install_and_draws_the_picture():
    code = ("import sys; sys.modules['anywidget'] = None\n"
            "import asynclab\n"
            "print(asynclab.explore(type('Empty', (), {'tasks': [], 'duration': 0.0})()))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "explore() needs the anywidget package" in done.stdout, done.stdout + done.stderr
    assert "Here is the same timeline as a picture instead." in done.stdout
    assert done.stdout.rstrip().endswith("None")      # no widget, and no exception


def test_bad_input_gets_a_sentence():
    with pytest.raises(TypeError, match=r"explore\(\) needs the timeline that asynclab.trace\(\) gives"):
        asynclab.explore("tl")
    tl = traced(three_sleepers)
    steps = len(timeline_data(tl)["steps"])
    with pytest.raises(ValueError, match=f"step must be a whole number from 0 to {steps}"):
        asynclab.explore(tl, step=steps + 1)


@pytest.mark.once
def test_the_front_end_ships_with_the_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = config["tool"]["setuptools"]["package-data"]["asynclab"]
    for path in FRONT_END:
        assert path.is_file(), path
        assert path.name in shipped, f"{path.name} is missing from pyproject's package-data"


# --------------------------------------------------------------------------------------------
# replay(): what the replay shows at each step, for lessons to print and check


def test_replay_gives_each_step_its_runner_ready_queue_and_waits():
    from asynclab.explore import replay

    tl = traced(three_sleepers)
    steps = replay(tl)
    data = timeline_data(tl)
    assert [s["step"] for s in steps] == list(range(1, len(data["steps"]) + 1))
    assert [s["running"] for s in steps][:3] == ["A", "B", "C"]      # created in that order
    assert steps[0]["ready"] == ["B", "C"] and steps[1]["ready"] == ["C"]
    assert ("A", "sleep") in steps[2]["waiting"] and ("B", "sleep") in steps[2]["waiting"]
    assert [s["running"] for s in steps][-3:] == ["B", "C", "A"]    # shortest sleep first


def test_replay_lists_the_waits_with_what_they_wait_for():
    from asynclab.explore import replay

    steps = replay(richer_timeline())
    assert [s["running"] for s in steps] == ["main", "worker", "worker", "worker", "main", "late"]
    # at 1 ms the first worker runs; the second has been ready since 0.8 ms; main waits in gather
    assert steps[1]["ready"] == ["worker"] and steps[1]["waiting"] == [("main", "gather")]
    assert steps[0]["ready"] == [] and steps[0]["waiting"] == []
