"""Every lesson in a real JupyterLab, driven by headless Chromium, as a learner would use it.

For each notebooks/NN-*.ipynb (a temporary copy; the committed file is never written):
open it, Kernel > Restart Kernel and Run All Cells, wait until every code cell has run and
the kernel is idle, then check what the learner sees:

- no cell shows an error (a traceback);
- the timelines rendered as images (every cell that calls `.plot(` at its top level shows one);
- each playground rendered: its controls, and its timeline picture;
- moving a playground's slider (keyboard, on the slider's handle) redraws its picture.

A full-length screenshot of each lesson goes to test-artifacts/browser/NN-name.png.

nbclient runs the same notebooks in tests/test_notebooks.py, but it never runs widget callbacks:
only a browser shows whether a playground really responds.

test_where_widget_callbacks_run records (in test-artifacts/browser/callback-thread.txt) which
thread and loop an ipywidgets callback runs in.  Seen with JupyterLab 4.6.6, ipykernel 7.4.0:
Lab sends widget messages to a subshell, but ipykernel routes a comm's messages to the subshell
that last *published* on that comm.  So the first callback after a widget was displayed by a
cell runs on MainThread, on the cells' loop (and waits if a cell is busy); later ones run on a
`subshell-...` thread with another running loop (and run while a cell is busy).  asyncio.run()
raises in both.  Playground code must work in either: it runs each scenario in its own thread.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_ALL_LIMIT = 120          # seconds for Restart & Run All of one lesson
REDRAW_LIMIT = 30            # seconds for a playground to redraw after a slider moved

# whatever lessons exist today, English and zh-CN (`-k zh` selects the zh-CN ones, `-k "not zh"` the others)
LESSONS = (sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
           + sorted((ROOT / "zh-CN" / "notebooks").glob("[0-9][0-9]-*.ipynb")))

# The notebook JupyterLab shows in the main area, and its cells' state from Lab's own model.
CURRENT = ".jp-NotebookPanel:not(.lm-mod-hidden)"
JS_STATE = r"""() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model) return null;
  const cells = [];
  const model = panel.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const c = model.cells.get(i);
    if (c.type !== 'code') continue;
    const outs = [];
    for (let j = 0; j < c.outputs.length; j++) outs.push(c.outputs.get(j).toJSON());
    cells.push({index: i, source: c.sharedModel.getSource(), count: c.executionCount,
                state: c.executionState || null,
                printed: outs.filter(o => o.output_type === 'stream')
                             .map(o => Array.isArray(o.text) ? o.text.join('') : o.text).join('').slice(-600),
                where: outs.filter(o => o.output_type === 'error')
                           .map(o => (o.traceback || []).join('\n').replace(/\x1b\[[0-9;]*m/g, '').slice(-800)).join('\n'),
                errors: outs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue)});
  }
  const ctx = panel.sessionContext;
  return {path: panel.context.path, kernel: ctx.kernelDisplayStatus, cells};
}"""


def lesson_id(path):
    """00-start-here, or zh-CN-00-start-here for the Chinese edition's lesson."""
    return path.stem if path.parent.parent == ROOT else f"{path.parent.parent.name}-{path.stem}"


# ----------------------------------------------------------------------------------------------
# driving JupyterLab


def open_notebook(page, server, relpath, workspace):
    """Open relpath in its own fresh workspace; returns notes about what Lab asked on the way."""
    page.goto(f"{server.url}/lab/workspaces/{workspace}/tree/{relpath}?token={server.token}",
              wait_until="domcontentloaded", timeout=90_000)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=90_000)
    return wait_until_open(page, relpath)


def wait_until_open(page, relpath):
    """Wait until relpath is the notebook in the main area, with a kernel; returns Lab's questions."""
    notes = []
    deadline = time.monotonic() + 90
    while True:
        ready = page.evaluate("""(path) => {
            const w = window.jupyterapp.shell.currentWidget;
            const dialog = document.querySelector('.jp-Dialog');
            if (dialog) return 'dialog:' + dialog.innerText;
            return !!(w && w.context && w.context.path === path && w.sessionContext
                      && w.sessionContext.session && w.sessionContext.session.kernel);
        }""", relpath)
        if ready is True:
            break
        if isinstance(ready, str):
            # No kernelspec in the notebook's metadata: Lab asks which kernel to use.  Take the
            # default (Python 3), run the checks anyway, and report it at the end.  Any other
            # question (a build, news) is declined and reported too.
            text = ready.removeprefix("dialog:").strip()
            notes.append(text.splitlines()[0] if text else "a dialog")
            kernel_question = "kernel" in text.lower()
            page.click(".jp-Dialog .jp-mod-accept" if kernel_question else ".jp-Dialog .jp-mod-reject")
            page.wait_for_selector(".jp-Dialog", state="detached", timeout=30_000)
        if time.monotonic() > deadline:
            raise AssertionError(f"{relpath}: JupyterLab did not open it with a kernel within 90 s")
        time.sleep(0.3)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")    # room for the notebook
    return notes


def restart_and_run_all(page, relpath):
    """Kernel > Restart Kernel and Run All Cells, confirmed; wait until all ran (or one failed).

    On a busy machine a kernel can take long to start; restarting it before it has started can
    leave JupyterLab with no kernel at all.  So we wait for the first kernel to be idle, and if
    after a restart not a single cell ran, we restart once more (a learner would, too).
    """
    kernel_idle = f"() => {{ const s = ({JS_STATE})(); return s && s.kernel === 'idle'; }}"
    page.wait_for_function(kernel_idle, timeout=90_000, polling=250)
    try:
        return _restart_and_run_all_once(page, relpath)
    except AssertionError as err:
        state = page.evaluate(JS_STATE)
        if any(c["count"] is not None for c in state["cells"] if c["source"].strip()):
            raise
        print(f"{relpath}: no cell ran after the restart (kernel {state['kernel']}); restarting again")
        return _restart_and_run_all_once(page, relpath)


def _restart_and_run_all_once(page, relpath):
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:restart-run-all'); }")
    page.wait_for_selector(".jp-Dialog .jp-mod-accept", timeout=30_000)
    title = page.inner_text(".jp-Dialog .jp-Dialog-header")
    assert "Restart" in title, f"{relpath}: unexpected dialog {title!r}"
    page.click(".jp-Dialog .jp-mod-accept")
    page.wait_for_selector(".jp-Dialog", state="detached", timeout=30_000)
    started = time.monotonic()
    # Finished: the kernel is idle and every non-empty code cell has an execution count, or
    # a cell failed (Run All stops there).  Checked twice, a second apart, to be sure.
    done = f"""() => {{
      const s = ({JS_STATE})();
      if (!s || s.kernel !== 'idle') return false;
      const todo = s.cells.filter(c => c.source.trim());
      if (todo.some(c => c.errors.length)) return true;
      return todo.every(c => typeof c.count === 'number' && c.state !== 'running');
    }}"""
    for _ in range(2):
        remaining = RUN_ALL_LIMIT - (time.monotonic() - started)
        try:
            page.wait_for_function(done, timeout=max(remaining, 1) * 1000, polling=250)
        except Exception as err:
            state = page.evaluate(JS_STATE)
            stuck = [c["index"] for c in state["cells"] if c["source"].strip() and c["count"] is None]
            raise AssertionError(f"{relpath}: Restart & Run All did not finish within {RUN_ALL_LIMIT} s "
                                 f"(kernel {state['kernel']}; cells not run: {stuck})") from err
        time.sleep(1)
    return time.monotonic() - started


def figure_cells(state):
    """Code cells that draw a timeline at their top level: `tl.plot(...)` on an unindented line."""
    found = []
    for cell in state["cells"]:
        for line in cell["source"].splitlines():
            if line[:1] not in (" ", "\t", "#") and ".plot(" in line and not line.startswith(("def ", "async def ")):
                found.append(cell["index"])
                break
    return found


def cell_locator(page, index):
    return page.locator(f"{CURRENT} .jp-Notebook .jp-Cell").nth(index)


def image_ok(locator):
    """The <img> has a source and the browser decoded it into a picture."""
    return locator.evaluate("img => !!img.getAttribute('src') && img.complete && img.naturalWidth > 0")


def move_slider(page, slider):
    """Press an arrow key on the slider's handle, as a learner using the keyboard would."""
    handle = slider.locator(".noUi-handle").first
    now, top = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemax"))
    handle.focus()
    page.keyboard.press("ArrowLeft" if now >= top else "ArrowRight")
    return now


def screenshot_notebook(page, path):
    """The whole notebook in one PNG: scroll its panel and stitch the pieces."""
    from PIL import Image

    scroller = page.locator(f"{CURRENT} .jp-WindowedPanel-outer").first
    if not scroller.count():
        page.screenshot(path=str(path), full_page=True)
        return
    box = scroller.bounding_box()
    total = scroller.evaluate("el => el.scrollHeight")
    view = page.viewport_size
    x, y, w, h = (int(round(v)) for v in (box["x"], box["y"], box["width"], box["height"]))
    total = min(total, 60_000)
    # Scroll shadows would draw a line at every seam.
    page.add_style_tag(content="*, *::before, *::after { box-shadow: none !important; }")
    scroller.evaluate("el => { el.scrollTop = 0; }")
    page.wait_for_timeout(300)
    first = Image.open(io.BytesIO(page.screenshot()))
    canvas = Image.new("RGB", (view["width"], y + total + (view["height"] - y - h)), "white")
    canvas.paste(first.crop((0, 0, view["width"], y + h)), (0, 0))
    offset = h
    while offset < total:
        top = scroller.evaluate("(el, t) => { el.scrollTop = t; return el.scrollTop; }", offset)
        page.wait_for_timeout(250)
        piece = Image.open(io.BytesIO(page.screenshot(clip={"x": x, "y": y, "width": w, "height": h})))
        canvas.paste(piece, (x, y + int(top)))
        offset = int(top) + h
        if top + h >= total:
            break
    # Beside the notebook (side bars), continue the first view's last row downwards.
    for left, right in ((0, x), (x + w, view["width"])):
        if right > left and total > h:
            strip = first.crop((left, y + h - 1, right, y + h)).resize((right - left, total - h))
            canvas.paste(strip, (left, y + h))
    canvas.paste(first.crop((0, y + h, view["width"], view["height"])), (0, y + total))
    scroller.evaluate("el => { el.scrollTop = 0; }")
    canvas.save(path, optimize=True)


def shut_down_kernel(page):
    try:
        page.evaluate("async () => { const w = window.jupyterapp.shell.currentWidget;"
                      " if (w && w.sessionContext) await w.sessionContext.shutdown(); }")
    except Exception:
        pass


# ----------------------------------------------------------------------------------------------
# the tests


@pytest.mark.browser
@pytest.mark.timeout(600)
@pytest.mark.parametrize("lesson", LESSONS, ids=lesson_id)
def test_lesson_in_jupyterlab(lesson, lab_server, page, artifacts):
    relpath = str(lesson.relative_to(ROOT))
    name = lesson_id(lesson)
    t0 = time.monotonic()
    (artifacts / f"{name}-FAILED.png").unlink(missing_ok=True)
    try:
        notes = open_notebook(page, lab_server, relpath, workspace=f"test-{name}")
        seconds = restart_and_run_all(page, relpath)
        state = page.evaluate(JS_STATE)
        problems = []

        # 1. No cell shows an error.
        for cell in state["cells"]:
            for err in cell["errors"]:
                problems.append(f"cell {cell['index']} shows an error: {err}\n"
                                f"--- it printed:\n{cell['printed']}\n--- traceback (end):\n{cell['where']}")
        shown = page.locator(f'{CURRENT} .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')
        if shown.count() and not problems:
            problems.append(f"{shown.count()} error outputs shown: {shown.first.inner_text()[:300]}")
        not_run = [c["index"] for c in state["cells"] if c["source"].strip() and c["count"] is None]
        if not_run and not problems:
            problems.append(f"cells never ran: {not_run}")
        assert not problems, f"{relpath} after Restart & Run All ({seconds:.0f} s):\n" + "\n".join(problems)

        # Outputs render a moment after the kernel answered (widgets need their models first).
        wants_playground = any("playground(" in c["source"] for c in state["cells"])
        if wants_playground:
            try:
                page.wait_for_selector(f"{CURRENT} .jp-OutputArea-output img.widget-image", timeout=30_000)
            except Exception as err:
                raise AssertionError(f"{relpath}: no playground picture appeared within 30 s") from err
        page.wait_for_function(
            f"() => [...document.querySelectorAll('{CURRENT} .jp-OutputArea-output img')].every(i => i.complete)",
            timeout=30_000)

        # 2. The timelines rendered as pictures.
        expected = figure_cells(state)
        pictures = page.locator(f"{CURRENT} .jp-OutputArea-output.jp-RenderedImage img")
        if expected:
            assert pictures.count() >= len(expected), \
                f"{relpath}: {pictures.count()} figures shown, expected at least {len(expected)}"
        for index in expected:
            imgs = cell_locator(page, index).locator(".jp-RenderedImage img")
            assert imgs.count() >= 1, f"{relpath}: cell {index} calls .plot( but shows no picture"
            assert all(image_ok(imgs.nth(k)) for k in range(imgs.count())), \
                f"{relpath}: cell {index}'s figure did not load"

        # 3. Each playground rendered: controls and its picture, not a text fallback.
        outputs_text = page.locator(f"{CURRENT} .jp-OutputArea").all_inner_texts()
        broken = [t for t in outputs_text if "Error displaying widget" in t or
                  re.search(r"^\s*(VBox|HBox|Image|IntSlider)\(", t, re.M)]
        assert not broken, f"{relpath}: a widget did not render: {broken[0][:300]}"
        # A playground: a VBox of [controls, timeline picture, caption].
        playgrounds = page.locator(f"{CURRENT} .jp-OutputArea-output img.widget-image").locator("xpath=..")
        if wants_playground:
            assert playgrounds.count() >= 1, f"{relpath}: the playground's widgets did not render"
        for k in range(playgrounds.count()):
            pg = playgrounds.nth(k)
            controls = pg.locator(".widget-slider, .widget-dropdown, .widget-checkbox, .widget-toggle-buttons")
            assert controls.count() >= 1, f"{relpath}: playground {k} shows no controls"
            picture = pg.locator("img.widget-image").first
            assert image_ok(picture), f"{relpath}: playground {k} shows no timeline picture"

        # 4. Moving a slider redraws the playground's timeline.
        redraws = []
        for k in range(playgrounds.count()):
            pg = playgrounds.nth(k)
            sliders = pg.locator(".widget-slider")
            if not sliders.count():
                continue
            picture = pg.locator("img.widget-image").first
            before = picture.get_attribute("src")
            caption = pg.locator(".widget-html-content")
            pg.scroll_into_view_if_needed()
            started = time.monotonic()
            move_slider(page, sliders.first)
            try:
                page.wait_for_function("([el, src]) => el.getAttribute('src') !== src && el.naturalWidth > 0",
                                       arg=[picture.element_handle(), before],
                                       timeout=REDRAW_LIMIT * 1000)
            except Exception as err:
                said = caption.first.inner_text() if caption.count() else ""
                raise AssertionError(f"{relpath}: playground {k} did not redraw within {REDRAW_LIMIT} s "
                                     f"after its slider moved (caption: {said!r})") from err
            redraws.append(time.monotonic() - started)
            said = caption.first.inner_text() if caption.count() else ""
            assert not any(word in said for word in ("abandoned", "raised", "已被放弃", "抛出了")), \
                f"{relpath}: playground {k} after the slider moved says: {said}"
        if wants_playground:
            assert redraws, f"{relpath}: no playground slider to move"

        # Nothing went wrong while the playgrounds ran.
        page.wait_for_function(f"() => ({JS_STATE})().kernel === 'idle'", timeout=30_000)
        after = page.evaluate(JS_STATE)
        late = [e for c in after["cells"] for e in c["errors"]]
        assert not late, f"{relpath}: errors appeared after moving sliders: {late}"

        # Evidence for people: the whole lesson as the learner saw it.
        shot = artifacts / f"{name}.png"
        screenshot_notebook(page, shot)

        # A notebook without a kernelspec makes Lab ask which kernel to use: a learner should
        # not have to answer that.
        assert not notes, f"{relpath}: JupyterLab asked on opening: {notes} (is metadata.kernelspec missing?)"
        print(f"\n{relpath}: Restart & Run All {seconds:.1f} s, {pictures.count()} figures, "
              f"{playgrounds.count()} playground(s), redraw {', '.join(f'{r:.1f} s' for r in redraws) or '-'}, "
              f"whole test {time.monotonic() - t0:.0f} s, screenshot {shot.relative_to(artifacts.parents[1])}")
    except Exception:
        try:
            page.screenshot(path=str(artifacts / f"{name}-FAILED.png"))
        except Exception:
            pass
        raise
    finally:
        shut_down_kernel(page)


# ----------------------------------------------------------------------------------------------
# From a lesson to its exercise, as a learner goes: click the link, run the first check.

EXERCISE_LINK = "../exercises/01-coroutines-and-tasks.ipynb"   # as written in the lesson


@pytest.mark.browser
@pytest.mark.timeout(400)
def test_lesson_01_opens_its_exercise_and_the_first_check_runs(lab_server, page, artifacts):
    lesson, exercise = "notebooks/01-coroutines-and-tasks.ipynb", "exercises/01-coroutines-and-tasks.ipynb"
    try:
        open_notebook(page, lab_server, lesson, workspace="test-exercise-link")
        # JupyterLab rewrites a local link's href to its download URL, and keeps the path it
        # resolved (here exercises/01-...) for its own "open this document" command.
        link = page.locator(f'{CURRENT} .jp-RenderedMarkdown a[href*="{exercise}"]').first
        assert link.count(), f"{lesson} shows no link to {exercise} (written {EXERCISE_LINK})"
        link.scroll_into_view_if_needed()
        link.click()
        notes = wait_until_open(page, exercise)
        assert not notes, f"{exercise}: JupyterLab asked on opening: {notes}"
        # Run the cells down to the first `check(...)` cell, as a learner would with Shift+Enter.
        state = page.evaluate(JS_STATE)
        first_check = next(c["index"] for c in state["cells"] if c["source"].lstrip().startswith("check("))
        page.wait_for_function(f"() => ({JS_STATE})().kernel === 'idle'", timeout=90_000, polling=250)
        page.evaluate("""(index) => {
            const panel = window.jupyterapp.shell.currentWidget;
            panel.content.activeCellIndex = index;
            return window.jupyterapp.commands.execute('notebook:run-all-above')
                .then(() => window.jupyterapp.commands.execute('notebook:run-cell'));
        }""", first_check)
        page.wait_for_function(f"""() => {{
            const s = ({JS_STATE})();
            const c = s && s.cells.find(c => c.index === {first_check});
            return s.kernel === 'idle' && c && typeof c.count === 'number';
        }}""", timeout=RUN_ALL_LIMIT * 1000, polling=250)
        output = cell_locator(page, first_check).locator(".jp-OutputArea")
        output.scroll_into_view_if_needed()
        said = output.inner_text()
        page.screenshot(path=str(artifacts / "exercise-link-01.png"))
        assert "not solved yet" in said, f"{exercise}: the first check said {said[:400]!r}"
        verdict = next(line for line in said.splitlines() if "not solved yet" in line)
        print(f"\n{lesson} -> {exercise}: clicked; its first check says {verdict.strip()[:120]!r}")
    finally:
        try:      # both notebooks' kernels
            page.evaluate("() => window.jupyterapp.serviceManager.sessions.shutdownAll()")
        except Exception:
            pass


# ----------------------------------------------------------------------------------------------
# Where does a widget callback run?  (GUIDE section 7.)  Observed and reported, not enforced.

PROBE = '''\
import asyncio, threading, time
import ipywidgets as w

cells_loop = asyncio.get_running_loop()
cells_thread = threading.current_thread().name
probe = w.IntSlider(value=0, min=0, max=10, description="probe")
report = w.HTML("not moved yet")

def on_change(change):
    try:
        where = "the cells' loop" if asyncio.get_running_loop() is cells_loop else "another running loop"
    except RuntimeError:
        where = "no running loop"
    try:
        asyncio.run(asyncio.sleep(0))
        run = "asyncio.run() works"
    except RuntimeError as err:
        run = f"asyncio.run() raises: {err}"
    report.value = (f"callback thread={threading.current_thread().name}; cells thread={cells_thread}; "
                    f"loop={where}; {run}; value={change['new']}")

probe.observe(on_change, names="value")
w.VBox([probe, report])
'''


@pytest.mark.browser
@pytest.mark.timeout(400)
def test_where_widget_callbacks_run(lab_server, page, artifacts):
    """Record which thread and loop an ipywidgets callback runs in, idle and while a cell is busy."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(PROBE)]
    (lab_server.root / "probe").mkdir(exist_ok=True)
    nbformat.write(nb, str(lab_server.root / "probe" / "callback-thread.ipynb"))
    relpath = "probe/callback-thread.ipynb"
    try:
        open_notebook(page, lab_server, relpath, workspace="test-callback-probe")
        restart_and_run_all(page, relpath)
        report = page.locator(f"{CURRENT} .widget-html-content").first
        slider = page.locator(f"{CURRENT} .widget-slider").first

        # Idle kernel: move the slider, read what the callback saw.
        move_slider(page, slider)
        page.wait_for_function("el => !el.innerText.includes('not moved')", arg=report.element_handle(),
                               timeout=REDRAW_LIMIT * 1000)
        idle = report.inner_text()

        # Busy kernel: a cell sleeps 6 s on the main thread; does the callback run meanwhile?
        page.evaluate("""() => {
            const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            window.__busy = {start: performance.now(), done: null};
            k.requestExecute({code: 'import time; time.sleep(6)', silent: true})
             .done.then(() => { window.__busy.done = performance.now(); });
        }""")
        page.wait_for_timeout(1000)
        before = report.inner_text()
        moved_at = page.evaluate("() => performance.now()")
        move_slider(page, slider)
        page.wait_for_function("([el, s]) => el.innerText !== s", arg=[report.element_handle(), before],
                               timeout=REDRAW_LIMIT * 1000)
        answered_at = page.evaluate("() => performance.now()")
        busy = page.evaluate("() => window.__busy")
        during = busy["done"] is None or answered_at < busy["done"]
        busy_text = report.inner_text()
        page.wait_for_function("() => window.__busy.done !== null", timeout=30_000)

        # Idle again: the same as the first time, or did the first message just come early?
        page.wait_for_function(f"() => ({JS_STATE})().kernel === 'idle'", timeout=30_000)
        page.wait_for_timeout(500)
        move_slider(page, slider)
        page.wait_for_function("([el, s]) => el.innerText !== s", arg=[report.element_handle(), busy_text],
                               timeout=REDRAW_LIMIT * 1000)
        idle_again = report.inner_text()

        def thread(said):
            return said.split(";")[0].removeprefix("callback thread=")
        lines = [
            "Where an ipywidgets callback runs in JupyterLab (observed by tests/browser):",
            f"  idle kernel: {idle}",
            f"  busy kernel: {busy_text}",
            f"  idle again:  {idle_again}",
            f"  while a cell was busy, the callback answered "
            f"{'DURING the busy cell' if during else 'only AFTER the busy cell finished'} "
            f"({(answered_at - moved_at) / 1000:.1f} s after the slider moved)",
            f"  threads, in that order: {thread(idle)}, {thread(busy_text)}, {thread(idle_again)}",
        ]
        text = "\n".join(lines)
        print("\n" + text)
        (artifacts / "callback-thread.txt").write_text(text + "\n", encoding="utf-8")
        # What is asserted: the callback ran and reported.  Which thread it was is recorded above.
        assert idle.startswith("callback thread="), idle
    finally:
        shut_down_kernel(page)
