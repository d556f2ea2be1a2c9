"""Draw the README's picture of the replay (docs/figures/replay.png).   make figures

The scenario of lesson 03's gate (nine requests under Semaphore(3)) is traced, given to the same
front-end `asynclab.explore()` shows in JupyterLab (asynclab/explore.js), and photographed in
headless Chromium at the first step where tasks queue in the ready queue while others wait at the
gate.  No JupyterLab is needed: the page hands the front-end a small stand-in for the widget's
model.  Needs Debian's `chromium` and playwright (requirements-dev.txt); says so if they are missing.
"""

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
try:
    from asynclab.explore import FRONT_END, timeline_data
    from make_figures import semaphore_gate          # the README's gate figure, the same scenario
except ImportError as err:                  # run with a Python other than .venv's: say how to run it
    from check_python import use_the_venv
    use_the_venv(err)

OUT = Path(__file__).resolve().parent.parent / "docs" / "figures" / "replay.png"
CHROMIUM = os.environ.get("ASYNCLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
WIDTH = 1000


def standalone_page(data, step=0):
    """An HTML page that shows the front-end with `data`, without Jupyter: a stand-in model."""
    def script_json(value):                 # JSON that cannot end the <script> element early
        return json.dumps(value).replace("</", "<\\/")
    js, css = (path.read_text(encoding="utf-8") for path in FRONT_END)
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>{css}
body {{ margin: 8px; width: {WIDTH}px; background: #fff; }}</style></head><body><div id="host"></div>
<script type="module">
const source = {script_json(js)};
const front = await import(URL.createObjectURL(new Blob([source], {{type: "text/javascript"}})));
const values = {script_json({"_data_json": json.dumps(data), "step": step, "height": 0})};
const model = {{get: k => values[k], set: (k, v) => {{ values[k] = v; }}, save_changes() {{}},
               on() {{}}, off() {{}}}};
front.default.render({{model, el: document.getElementById("host")}});
</script></body></html>"""


# The first step at which at least two tasks are queued and some wait at the Semaphore.
PICK_STEP = """root => {
    const api = root.asynclabExplore, last = Number(root.querySelector('.ax-slider').max);
    for (let k = 1; k <= last; k++) {
        root.querySelector('.ax-slider').value = String(k);
        root.querySelector('.ax-slider').dispatchEvent(new Event('input'));
        const s = api.state();
        if (s.ready.length >= 2 && s.waiting.some(([, what]) => what === 'Semaphore')) return k;
    }
    return null;
}"""


def main():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipped docs/figures/replay.png: playwright is not installed (pip install -r requirements-dev.txt)")
        return 0
    if not os.access(CHROMIUM, os.X_OK):
        print("skipped docs/figures/replay.png: chromium is not installed (apt-get install chromium)")
        return 0
    data = timeline_data(asyncio.run(semaphore_gate())[0])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, timeout=90_000,
                                     args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": WIDTH + 40, "height": 900}, device_scale_factor=1)
            page.set_default_timeout(30_000)
            page.set_content(standalone_page(data), wait_until="load", timeout=30_000)
            root = page.locator(".asynclab-explore")
            page.wait_for_function("() => document.querySelector('.asynclab-explore')?.dataset.ready === '1'",
                                   timeout=30_000)
            step = root.evaluate(PICK_STEP)
            if step is None:
                print("docs/figures/replay.png not redrawn: no step with a queue and a wait at the gate")
                return 1
            OUT.parent.mkdir(parents=True, exist_ok=True)
            root.screenshot(path=str(OUT))
        finally:
            browser.close()
    print(f"wrote {OUT.relative_to(OUT.parent.parent.parent)} (the replay at step {step})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
