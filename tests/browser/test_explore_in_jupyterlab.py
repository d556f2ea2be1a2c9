"""asynclab.explore() in a real JupyterLab, driven by headless Chromium.

A small notebook (written into the server's temporary root, never into the repository) traces a
scenario whose order does not depend on timing: `main` creates A, B and C, and each holds the loop
for 10 ms (time.sleep) before it sleeps, so while one runs the others wait in the ready queue in
the order they were created.  Then it shows `asynclab.explore(tl)`, and a second one of a
10,000-task trace.  The tests hover, zoom, click and step like a learner, and keep screenshots in
test-artifacts/browser/explore-*.png.  The 10,000-task test measures the first draw and a zoom,
writes the figures to test-artifacts/browser/explore-10000-tasks.txt, and asserts nothing about
them: times on a shared machine are reported, not tested.
"""

from __future__ import annotations

import concurrent.futures
import io
import json
import time
from pathlib import Path

import nbformat
import pytest

from asynclab.explore import FRONT_END
from test_lessons_in_jupyterlab import JS_STATE, open_notebook, restart_and_run_all

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "explore-test.ipynb"
WIDGET_LIMIT = 60_000        # ms for a widget to appear after its cell ran

SCENARIO = '''\
import asyncio, time
import asynclab

async def work(busy, pause):
    time.sleep(busy)            # holds the loop: every other task waits in the ready queue
    await asyncio.sleep(pause)
    time.sleep(busy)

async def main():
    tasks = [asyncio.create_task(work(0.01, pause), name=name)
             for name, pause in [("A", 0.03), ("B", 0.01), ("C", 0.02)]]
    await asyncio.gather(*tasks)

async with asynclab.trace() as tl:
    await asyncio.create_task(main(), name="main")
asynclab.explore(tl)'''

BIG = '''\
async def tiny():
    await asyncio.sleep(0)

async with asynclab.trace() as big:
    await asyncio.gather(*(tiny() for _ in range(10_000)))
print(len(big.tasks), "tasks")
asynclab.explore(big)'''


def widget(page, index):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .asynclab-explore").nth(index)


@pytest.fixture(scope="module")
def explore_notebook(lab_server):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(SCENARIO), nbformat.v4.new_code_cell(BIG)]
    nbformat.write(nb, str(lab_server.root / NOTEBOOK))
    return NOTEBOOK


@pytest.fixture(scope="module")
def lab_page(browser, lab_server, explore_notebook):
    """One page with the notebook run once; the tests below share it (in file order)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    pg.uncaught = []                                # exceptions no code caught, in any script
    pg.on("pageerror", lambda e: pg.uncaught.append(str(e)))
    try:
        open_notebook(pg, lab_server, explore_notebook, workspace="test-explore")
        restart_and_run_all(pg, explore_notebook)
        state = pg.evaluate(JS_STATE)
        errors = [e for c in state["cells"] for e in c["errors"]]
        assert not errors, errors
        for index in (0, 1):
            pg.wait_for_function(
                "i => { const w = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
                ".asynclab-explore')[i]; return w && w.dataset.ready === '1'; }",
                arg=index, timeout=WIDGET_LIMIT, polling=200)
        yield pg
    finally:
        context.close()


def api(locator, call, *args):
    return locator.evaluate(f"(root, args) => root.asynclabExplore.{call}(...args)", list(args))


def shot(page, locator, artifacts, name):
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(artifacts / f"explore-{name}.png"))


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_hovering_a_span_shows_its_task_and_kind(lab_page, artifacts):
    w = widget(lab_page, 0)
    w.scroll_into_view_if_needed()
    tooltip = w.locator(".ax-tooltip")
    for task, kind, words in [("B", "running", "running"), ("A", "waiting", "waiting for sleep"),
                              ("C", "ready", "ready")]:
        point = api(w, "spanCenter", task, kind)
        assert point, f"no {kind} span of {task} is drawn"
        lab_page.mouse.move(point["x"], point["y"])
        lab_page.wait_for_function("t => t.style.display === 'block'", arg=tooltip.element_handle(),
                                   timeout=10_000)
        assert tooltip.get_attribute("data-task") == task
        assert tooltip.get_attribute("data-kind") == kind
        text = tooltip.inner_text()
        assert text.splitlines()[0] == task and words in text, text
        assert "start" in text and "duration" in text and "parent" in text, text
        if task == "A":
            shot(lab_page, w, artifacts, "hover")
    lab_page.mouse.move(5, 5)


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_spans_have_the_static_plots_colours(lab_page):
    """Pink ready, blue running, light blue sleeping: what the lessons say of tl.plot() holds here."""
    from PIL import Image
    from matplotlib.colors import to_rgb

    from asynclab.plots import colours

    plot = colours(["sleep"])
    w = widget(lab_page, 0)
    w.scroll_into_view_if_needed()
    lab_page.mouse.move(5, 5)                       # no hover outline
    assert api(w, "state")["step"] == 0             # no "now" line across the spans
    api(w, "draw")
    picture = Image.open(io.BytesIO(w.screenshot())).convert("RGB")
    box = w.bounding_box()
    for task, kind, expected in [("B", "running", plot["running"]), ("C", "ready", plot["ready"]),
                                 ("A", "waiting", plot["waiting"]["sleep"])]:
        point = api(w, "spanCenter", task, kind)
        assert point, f"no {kind} span of {task} is drawn"
        got = picture.getpixel((round(point["x"] - box["x"]), round(point["y"] - box["y"])))
        assert got == tuple(round(255 * c) for c in to_rgb(expected)), (task, kind, got, expected)


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_a_zoom_changes_the_visible_range_and_whole_brings_it_back(lab_page, artifacts):
    w = widget(lab_page, 0)
    w.scroll_into_view_if_needed()
    whole = api(w, "range")
    w.locator(".ax-zoom-in").click()
    zoomed = api(w, "range")
    assert zoomed[1] - zoomed[0] == pytest.approx((whole[1] - whole[0]) / 2, rel=1e-6)
    assert "showing" in w.locator(".ax-range").inner_text()
    # Ctrl + wheel over the timeline zooms around the pointer.
    box = w.locator(".ax-canvas").bounding_box()
    lab_page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    lab_page.keyboard.down("Control")
    lab_page.mouse.wheel(0, -300)
    lab_page.keyboard.up("Control")
    lab_page.wait_for_function(
        "([root, span]) => root.asynclabExplore.range()[1] - root.asynclabExplore.range()[0] < span * 0.99",
        arg=[w.element_handle(), zoomed[1] - zoomed[0]], timeout=10_000)
    # Dragging pans: the same span, later or earlier.
    before = api(w, "range")
    lab_page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    lab_page.mouse.down()
    lab_page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] / 2, steps=5)
    lab_page.mouse.up()
    lab_page.wait_for_function("([root, t0]) => root.asynclabExplore.range()[0] !== t0",
                               arg=[w.element_handle(), before[0]], timeout=10_000)
    after = api(w, "range")
    assert after[0] > before[0] and after[1] - after[0] == pytest.approx(before[1] - before[0], rel=1e-6)
    shot(lab_page, w, artifacts, "zoomed")
    w.locator(".ax-reset").click()
    assert api(w, "range") == pytest.approx(whole)


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_stepping_the_replay_moves_now_and_the_ready_queue(lab_page, artifacts):
    w = widget(lab_page, 0)
    w.scroll_into_view_if_needed()
    ready = w.locator(".ax-ready .ax-ready-chip")
    assert api(w, "state")["step"] == 0 and ready.count() == 0

    w.locator(".ax-forward").click()                # step 1: main runs, creating A, B and C
    first = api(w, "state")
    assert first["running"] == "main", first
    w.locator(".ax-forward").click()                # step 2: A runs; B and C are queued, in order
    second = api(w, "state")
    assert second["running"] == "A" and second["ready"] == ["B", "C"], second
    assert second["now"] > first["now"]
    assert [ready.nth(i).inner_text() for i in range(ready.count())] == ["B", "C"]
    assert w.locator(".ax-running .ax-run").inner_text() == "A"
    shot(lab_page, w, artifacts, "replay-step-2")

    w.focus()                                       # the arrow keys step too
    lab_page.keyboard.press("ArrowRight")           # step 3: B runs; C is queued
    third = api(w, "state")
    assert third["running"] == "B" and third["ready"] == ["C"], third
    assert float(w.get_attribute("data-now")) == pytest.approx(third["now"]) and third["now"] > second["now"]
    assert [ready.nth(i).inner_text() for i in range(ready.count())] == ["C"]
    assert "A" in [c.inner_text() for c in w.locator(".ax-waiting .ax-wait-chip").all()]
    assert w.locator(".ax-slider").input_value() == "3"

    lab_page.keyboard.press("ArrowLeft")            # and back
    assert api(w, "state")["ready"] == ["B", "C"]
    w.locator(".ax-slider").fill("1")               # the slider moves it anywhere
    assert api(w, "state")["running"] == "main"


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_clicking_a_task_highlights_its_family(lab_page, artifacts):
    w = widget(lab_page, 0)
    w.scroll_into_view_if_needed()
    point = api(w, "spanCenter", "main", "running")
    lab_page.mouse.click(point["x"], point["y"])
    assert w.get_attribute("data-selected") == "main"
    assert "main" in w.locator(".ax-selection").inner_text()
    lab_page.mouse.click(point["x"], point["y"])    # again: nothing selected
    assert w.get_attribute("data-selected") is None


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_measure_10000_tasks(lab_page, artifacts):
    """Measured, not asserted: the first draw and a zoom of a 10,000-task timeline."""
    w = widget(lab_page, 1)
    w.scroll_into_view_if_needed()
    first_draw = float(w.get_attribute("data-first-draw-ms"))
    zooms = w.evaluate("""root => {
        const out = [];
        for (let i = 0; i < 5; i++) {
            const t = performance.now();
            root.asynclabExplore.zoom(0.5);
            out.push(performance.now() - t);
        }
        root.querySelector('.ax-reset').click();
        return out;
    }""")
    steps = w.evaluate("""root => {
        const t = performance.now();
        for (let i = 0; i < 20; i++) root.querySelector('.ax-forward').click();
        return (performance.now() - t) / 20;
    }""")
    shot(lab_page, w, artifacts, "10000-tasks")
    js, css = (p.read_bytes() for p in FRONT_END)
    report = {
        "tasks": 10_000,
        "first_draw_ms (data to arrays, DOM, first canvas draw)": first_draw,
        "zoom_ms (each: new range and a full redraw)": [round(z, 2) for z in zooms],
        "replay_step_ms (mean of 20: state scan, panel, redraw)": round(steps, 2),
        "front_end_bytes": {"explore.js": len(js), "explore.css": len(css)},
        "measured": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    (artifacts / "explore-10000-tasks.txt").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    assert api(w, "state")["step"] == 20


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_nothing_raised_in_the_page(lab_page):
    """After all of the above: no uncaught exception in JupyterLab's page."""
    assert not lab_page.uncaught, lab_page.uncaught


# ---------------------------------------------------------------------------------------------
# the front-end alone (no JupyterLab: tools/explore_figure.py's stand-in model), on edge cases


def standalone(browser, data, step=0):
    from explore_figure import standalone_page

    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.set_content(standalone_page(data, step), wait_until="load", timeout=30_000)
    page.wait_for_function("() => document.querySelector('.asynclab-explore')?.dataset.ready === '1'",
                           timeout=30_000)
    return context, page


@pytest.mark.browser
@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", ["no tasks", "one pending task", "started at the last step"])
def test_edge_cases_draw_without_errors(browser, case):
    import asyncio
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import asynclab
    from asynclab.explore import timeline_data

    async def scenario():
        async with asynclab.trace() as tl:
            if case == "one pending task":
                never = asyncio.get_running_loop().create_future()
                task = asyncio.create_task(asyncio.wait_for(never, 5), name="forever")
                await asyncio.sleep(0.01)
            elif case == "started at the last step":
                await asyncio.gather(asyncio.sleep(0.005), asyncio.sleep(0.01))
        if case == "one pending task":
            task.cancel()
        return tl

    # Playwright's sync API holds this thread's event loop: the scenario runs in a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        data = timeline_data(pool.submit(lambda: asyncio.run(scenario())).result(timeout=60))
    step = len(data["steps"]) if case == "started at the last step" else 0
    context, page = standalone(browser, data, step)
    try:
        root = page.locator(".asynclab-explore")
        page.keyboard.press("ArrowRight")
        root.focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowLeft")
        root.locator(".ax-zoom-in").click()
        root.locator(".ax-reset").click()
        assert not page.errors, page.errors
        assert "showing" in root.locator(".ax-range").inner_text()
    finally:
        context.close()
