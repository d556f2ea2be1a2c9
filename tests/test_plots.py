"""The Gantt chart: the right artists, readable with few tasks and with many."""

import ast
import asyncio
import time
import warnings
from pathlib import Path

import matplotlib
import nbformat
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402

import asynclab  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def traced(n, delay=0.0):
    async def main():
        sem = asyncio.Semaphore(max(1, n // 10))

        async def job():
            async with sem:
                await asyncio.sleep(delay)

        async with asynclab.trace() as tl:
            await asyncio.gather(*(job() for _ in range(n)))
        return tl

    return asyncio.run(main())


def test_few_tasks_get_named_rows_and_a_legend():
    tl = traced(3, 0.01)
    ax = tl.plot(title="three")
    assert [t.get_text() for t in ax.get_yticklabels()] == [r.display_name for r in tl.tasks]
    assert ax.get_legend() is not None
    assert "ms" in ax.figure.axes[-1].get_xlabel()
    assert len(ax.figure.axes) == 2                   # the chart and the concurrency strip
    plt.close("all")


def test_ten_thousand_tasks_use_a_handful_of_collections():
    tl = traced(10_000)
    ax = tl.plot()
    bars = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_paths()) == 1]
    assert len(ax.collections) <= 8
    rectangles = sum(len(c.get_paths()[0].vertices) // 5 for c in bars)
    assert rectangles == sum(len(r.running) + len(r.waiting) + len(getattr(r, "ready", ()))
                             for r in tl.tasks)                            # every span drawn
    assert len(ax.patches) == 0
    assert ax.get_yticklabels() == [] or len(ax.get_yticks()) <= 60
    ax.figure.canvas.draw()
    plt.close("all")


def test_outcomes_are_marked_and_units_switch_to_seconds():
    async def main():
        async def bad():
            raise ValueError

        async with asynclab.trace() as tl:
            t = asyncio.create_task(asyncio.sleep(5))
            await asyncio.gather(bad(), return_exceptions=True)
            await asyncio.sleep(0)
            t.cancel()
            await asyncio.gather(t, return_exceptions=True)
        return tl

    tl = asyncio.run(main())
    ax = tl.plot(unit="s", concurrency=False)
    labels = ax.get_legend_handles_labels()[1]
    assert "raised an error" in labels and "cancelled" in labels
    assert "(s)" in ax.get_xlabel()
    plt.close("all")


# ---------------------------------------------------------------- made-up records
# Records with times chosen by the test, so what the figure must show does not depend on how
# fast this machine ran a trace.  They have the attributes plots.py reads, and no more.

class FakeRecord:
    def __init__(self, name, running, waiting=(), ready=None, outcome="result"):
        self.name = self.display_name = name
        self.running, self.waiting = list(running), list(waiting)
        if ready is not None:
            self.ready = list(ready)
        self.outcome = outcome
        self.started = self.running[0][0] if self.running else None
        self.finished = self.running[-1][1] if self.running and outcome != "pending" else None


class FakeTimeline:
    def __init__(self, tasks, duration):
        self.tasks, self.duration = tasks, duration

    plot = asynclab.Timeline.plot


READY_COLOUR = matplotlib.colors.to_rgba("#fb9a99")
READY_TEXT = "ready, held up by the loop"


def legend_texts(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def collections_coloured(ax, colour):
    return [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_facecolors())
            and tuple(c.get_facecolors()[0]) == colour]


def stalled():
    """Lesson 07's picture in made-up numbers: A and B sleep 30 ms, then are ready for 70 ms
    while C blocks the loop; B waits 20 ms for its first turn."""
    a = FakeRecord("A", [(0.0, 0.001), (0.1, 0.101)], [(0.001, 0.03, "sleep")],
                   ready=[(0.03, 0.1)])
    b = FakeRecord("B", [(0.02, 0.021), (0.1015, 0.102)], [(0.021, 0.05, "sleep")],
                   ready=[(0.0, 0.02), (0.05, 0.1015)])
    c = FakeRecord("C", [(0.001, 0.1)], ready=[])
    return FakeTimeline([a, b, c], 0.11)


def test_ready_spans_have_their_own_colour_and_legend_entry():
    tl = stalled()
    ax = tl.plot()
    ready = collections_coloured(ax, READY_COLOUR)
    assert len(ready) == 1
    corners = ready[0].get_paths()[0].vertices.reshape(-1, 5, 2)
    assert sorted(corners[:, 0, 0].round(3).tolist()) == [0.0, 30.0, 50.0]  # ms: B's first turn, A's, B's
    labels = legend_texts(ax)
    assert READY_TEXT in labels
    assert labels.index("running (its code executing)") < labels.index(READY_TEXT)
    assert "sleep / simulated I/O" in labels
    assert not [t for t in labels if "first turn" in t]     # a first turn is a ready span like any
    plt.close("all")


def test_records_without_ready_still_draw(monkeypatch):
    tl = stalled()
    for rec in tl.tasks:
        del rec.ready                                 # what today's tracer makes
    ax = tl.plot()
    assert READY_TEXT not in legend_texts(ax)
    assert collections_coloured(ax, READY_COLOUR) == []
    plt.close("all")


def test_ready_spans_on_a_real_trace(monkeypatch):
    async def main():
        async def polite():
            for _ in range(3):
                await asyncio.sleep(0.01)

        async def rude():
            await asyncio.sleep(0.005)
            time.sleep(0.05)

        async with asynclab.trace() as tl:
            await asyncio.gather(asyncio.create_task(polite(), name="polite"),
                                 asyncio.create_task(rude(), name="rude"))
        return tl

    tl = asyncio.run(main())
    polite = tl.by_name("polite")
    if not getattr(polite, "ready", None):            # a tracer that records no ready spans yet:
        monkeypatch.setattr(polite, "ready", [(0.01, 0.055)], raising=False)   # say what it was
    ax = tl.plot()
    assert READY_TEXT in legend_texts(ax)
    assert len(collections_coloured(ax, READY_COLOUR)) == 1
    ax.figure.canvas.draw()
    plt.close("all")


def test_legend_names_only_what_can_be_seen():
    # A first turn of 0.2 ms in a 150 ms figure is drawn, but nobody can make it out.
    a = FakeRecord("A", [(0.0002, 0.0003), (0.15, 0.1501)],
                   [(0.0003, 0.15, "sleep")], ready=[(0.0, 0.0002), (0.15, 0.15001)])
    b = FakeRecord("B", [(0.0004, 0.0005), (0.09, 0.0901)],
                   [(0.0005, 0.09, "sleep")], ready=[(0.0, 0.0004)])
    ax = FakeTimeline([a, b], 0.151).plot()
    assert legend_texts(ax) == ["running (its code executing)", "sleep / simulated I/O"]
    plt.close("all")


def strip_of(ax):
    return [other for other in ax.figure.axes if other is not ax][0]


def dark_line(strip):
    return [line for line in strip.get_lines() if line.get_linewidth() < 2][0]


def test_strip_legend_names_the_dark_line():
    # No gate: the dark line and the shaded area are one number, and one entry names both.
    tl = stalled()
    strip = strip_of(tl.plot())
    legend = strip.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == ["tasks in progress (shaded, and the dark line)"]
    assert dark_line(strip).get_color() == "#08519c"
    plt.close("all")
    # A gate: the dark line has an entry of its own.
    tl = traced(6, 0.01)
    strip = strip_of(tl.plot(limit=1))
    texts = [t.get_text() for t in strip.get_legend().get_texts()]
    assert texts == ["tasks in progress", "dark line: in progress, not held at a gate", "limit 1"]
    plt.close("all")


def test_strip_ticks_are_whole_numbers():
    for tl in (stalled(), FakeTimeline([FakeRecord("A", [(0.0, 0.01)]), FakeRecord("B", [(0.02, 0.03)])],
                                       0.03)):
        # A tall strip, where matplotlib's own ticks would be 0.5 or 0.25 apart.
        fig, (ax, strip) = plt.subplots(2, 1, figsize=(6, 9), sharex=True)
        tl.plot(ax=ax, strip=strip, concurrency=True, limit=1)
        fig.canvas.draw()
        low, high = strip.get_ylim()
        ticks = [t for t in strip.get_yticks() if low <= t <= high]
        assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
        plt.close("all")


def test_limit_line_lies_under_the_dark_line_and_shows_on_both_sides():
    tl = traced(9, 0.01)                              # the dark line sits on the limit, 1
    strip = strip_of(tl.plot(limit=1))
    line = dark_line(strip)
    limit = [ln for ln in strip.get_lines() if ln is not line][0]
    assert limit.get_ydata()[0] == 1
    assert limit.get_zorder() < line.get_zorder()     # the dark line is drawn on top ...
    assert limit.get_linewidth() >= 2 * line.get_linewidth()   # ... and the limit shows around it
    assert matplotlib.colors.to_hex(limit.get_color()) != matplotlib.colors.to_hex(line.get_color())
    plt.close("all")


def test_tmax_gives_two_figures_one_time_scale():
    short = traced(3, 0.01)
    long = traced(3, 0.05)
    ax_long = long.plot()
    ax_short = short.plot(tmax=long.duration)
    assert ax_short.get_xlim() == ax_long.get_xlim()
    assert strip_of(ax_short).get_xlim() == ax_long.get_xlim()
    plt.close("all")
    fig, (left, right) = plt.subplots(1, 2)
    longest = max(short.duration, long.duration)
    short.plot(ax=left, tmax=longest)
    long.plot(ax=right, tmax=longest)
    assert left.get_xlim() == right.get_xlim()
    # The unit follows what the axis shows: a short trace beside a 3 s one is drawn in seconds.
    assert "(s)" in short.plot(tmax=3, concurrency=False).get_xlabel()
    plt.close("all")


@pytest.mark.parametrize("bad", [0, -1, "1", float("nan"), True])
def test_tmax_must_be_seconds(bad):
    with pytest.raises(ValueError, match="tmax must be a number of seconds greater than 0"):
        stalled().plot(tmax=bad)


def sequential_trace():
    async def fetch_all(fetch, ids):                  # a sequential answer: no task at all
        return [await fetch(i) for i in ids]

    async def main():
        async with asynclab.trace() as tl:
            await fetch_all(lambda label: asynclab.fetch(label, 0.005), "ABC")
        return tl

    return asyncio.run(main())


def test_a_trace_without_tasks_draws_the_block_without_a_warning():
    tl = sequential_trace()
    assert tl.tasks == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = tl.plot(title="fetch_all")
        ax.figure.canvas.draw()
        assert [t.get_text() for t in ax.get_yticklabels()] == ["the traced block"]
        assert any("No task was created" in t.get_text() for t in ax.texts)
        assert ax.get_xlim()[1] >= tl.duration * 1000
        plt.close("all")
        fig, (ax, strip) = plt.subplots(2, 1, sharex=True)          # as the playground draws
        tl.plot(ax=ax, strip=strip, concurrency=True, limit=2)
        fig.canvas.draw()
        assert not strip.get_visible() and ax.xaxis.get_tick_params()["labelbottom"]
        plt.close("all")


SEE_YOUR_ANSWERS = {
    # solution notebook: (a sequential answer for each exercise the cell runs)
    "02-gather-vs-create-task.ipynb": """
async def fetch_all(fetch, ids):
    return [await fetch(i) for i in ids]

async def in_completion_order(fetch, ids):
    return [(i, await fetch(i)) for i in ids]
""",
    "03-semaphore-limits.ipynb": """
async def bounded_gather(jobs, limit):
    return [await job() for job in jobs]

class RateLimiter:
    def __init__(self, rate, per=1.0):
        raise NotImplementedError("exercise not solved yet")
""",
}


@pytest.mark.parametrize("notebook", sorted(SEE_YOUR_ANSWERS))
def test_see_your_answers_cells_draw_a_sequential_answer_without_warnings(notebook, capsys):
    nb = nbformat.read(str(ROOT / "solutions" / notebook), as_version=4)
    heading = [i for i, c in enumerate(nb.cells) if c.source.startswith("## See your answers on a timeline")]
    assert len(heading) == 1
    cells = []
    for cell in nb.cells[heading[0] + 1:]:
        if cell.cell_type != "code":
            break
        cells.append(cell.source)
    namespace = {"asyncio": asyncio, "asynclab": asynclab}
    exec(SEE_YOUR_ANSWERS[notebook], namespace)

    async def run_cells():
        for source in cells:          # top-level await, as in a notebook cell
            code = compile(source, notebook, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            result = eval(code, namespace)
            if result is not None:
                await result

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        asyncio.run(run_cells())
        figures = [plt.figure(n) for n in plt.get_fignums()]
        assert figures
        for fig in figures:
            fig.canvas.draw()
            assert any("No task was created" in t.get_text() for t in fig.axes[0].texts)
    assert "returned" in capsys.readouterr().out
    plt.close("all")
