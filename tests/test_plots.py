"""The Gantt chart: the right artists, readable with few tasks and with many."""

import asyncio

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402

import asynclab  # noqa: E402


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
    assert rectangles == sum(len(r.running) + len(r.waiting) for r in tl.tasks)  # every span drawn
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
