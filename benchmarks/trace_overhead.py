"""How much does asynclab.trace() cost, and how fast does a big timeline draw?

    make bench      (installs viztracer, the best-known Python tracer, for the comparison)

One process; the variants run alternately, several rounds, and we report medians and ratios
measured side by side, never absolute times (this machine's speed varies with its load).

Workload: 10,000 tasks, each `async with Semaphore(100): await asyncio.sleep(0)`, gathered.
Memory: bytes held by the tracer's records (tracemalloc) divided by the task steps recorded.
Drawing: the traced workload as one Gantt chart (collections) vs one `barh` call per task.
"""

import asyncio
import gc
import platform
import statistics
import sys
import time
import tracemalloc

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import asynclab  # noqa: E402

TASKS = 10_000
ROUNDS = 11


async def workload():
    sem = asyncio.Semaphore(100)

    async def job():
        async with sem:
            await asyncio.sleep(0)

    await asyncio.gather(*(asyncio.create_task(job()) for _ in range(TASKS)))


async def bare():
    await workload()


async def traced():
    async with asynclab.trace() as tl:
        await workload()
    return tl


def run_viztracer():
    from viztracer import VizTracer
    tracer = VizTracer(log_async=True, verbose=0, tracer_entries=2_000_000)
    tracer.start()
    asyncio.run(workload())
    tracer.stop()
    return tracer


def seconds(fn):
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    try:
        import viztracer  # noqa: F401
        have_viz = True
    except ImportError:
        have_viz = False
        print("viztracer is not installed: `make bench` installs it; comparing bare vs traced only")

    variants = {"bare": lambda: asyncio.run(bare()), "asynclab.trace": lambda: asyncio.run(traced())}
    if have_viz:
        variants["viztracer log_async"] = lambda: run_viztracer().clear()
    times = {name: [] for name in variants}
    for name, fn in variants.items():          # warm up
        fn()
    for _ in range(ROUNDS):
        for name, fn in variants.items():
            times[name].append(seconds(fn))
    med = {name: statistics.median(ts) for name, ts in times.items()}

    # Memory: what the records of one traced run hold, per recorded step.
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tl = asyncio.run(traced())
    gc.collect()
    ours = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    steps = sum(len(r.running) for r in tl.tasks)
    mem = {"asynclab.trace": ours / steps}
    if have_viz:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        tracer = run_viztracer()
        tracer.parse()                         # its records as Python data, as a lesson would use them
        viz = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        mem["viztracer log_async"] = viz / steps
        tracer.clear()

    # Drawing the 10,000-task trace.
    def ours_plot():
        ax = tl.plot()
        ax.figure.canvas.draw()
        plt.close("all")

    def barh_plot():
        fig, ax = plt.subplots(figsize=(9, 8))
        for row, r in enumerate(tl.tasks):
            ax.barh(row, r.finished - r.started, left=r.started, height=0.7)
        fig.canvas.draw()
        plt.close("all")

    draw = {"asynclab plot": statistics.median(seconds(ours_plot) for _ in range(3)),
            "one barh per task": seconds(barh_plot)}

    print(f"asynclab trace overhead, {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
          f"{platform.machine()}, {TASKS} tasks, {steps} recorded steps, median of {ROUNDS} alternating rounds")
    print()
    print("| variant | median time | vs bare | memory per recorded step |")
    print("|---|---|---|---|")
    for name, value in med.items():
        m = f"{mem[name]:.0f} bytes" if name in mem else "-"
        print(f"| {name} | {value * 1000:.0f} ms | {value / med['bare']:.2f}x | {m} |")
    print()
    print("| drawing the 10,000-task trace | time | ratio |")
    print("|---|---|---|")
    for name, value in draw.items():
        print(f"| {name} | {value * 1000:.0f} ms | {value / draw['asynclab plot']:.1f}x |")
    ok = med["asynclab.trace"] / med["bare"] <= 1.3 and draw["one barh per task"] / draw["asynclab plot"] >= 20
    print()
    print("targets (traced/bare <= 1.3x, drawing >= 20x faster than barh):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
