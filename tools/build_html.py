"""Build the reading copy: every lesson executed and written as a static HTML site.

    python tools/build_html.py                  # all of notebooks/NN-*.ipynb -> build/html/
    python tools/build_html.py --only 00 03     # just these lessons (by number or file name)
    python tools/build_html.py --out DIR
    python tools/build_html.py --edition zh-CN --out build/html/zh-CN   # the Chinese edition

Each lesson runs top to bottom in a fresh kernel of this interpreter (nbclient), from a
temporary copy of notebooks/, so nothing in the repository is rewritten.  Pages use
nbconvert's "lab" template, which inlines its CSS: the site reads offline.  A playground
cannot move without a kernel, so the reading copy shows it as it was first drawn (its
controls' values, its timeline picture and its caption), with a note on how to play with it.

index.html lists the lessons in learning-path order; every page links to the previous
lesson, the contents and the next lesson, at its top and bottom.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import html
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Each edition's lessons, and the words the site adds around them.
EDITIONS = {"en": ROOT / "notebooks", "zh-CN": ROOT / "zh-CN" / "notebooks"}
WORDS = {
    "en": {"lang": "en", "contents": "Contents", "title": "asyncio-lab: the lessons",
           "intro": "The reading copy: every lesson as it ran, with its timelines. To run the code and "
                    "move the playgrounds' sliders, open the notebooks in JupyterLab (<code>make lab</code>).",
           "footer": "Built by <code>make html</code> on {stamp} with Python {py}.",
           "other": '<a href="zh-CN/index.html" hreflang="zh-CN">简体中文</a>', "other_index": "zh-CN/index.html",
           "frozen": "Playground, shown as first drawn", "with": " with ",
           "frozen_end": ". Open this notebook in JupyterLab (<code>make lab</code>) to move its controls."},
    "zh-CN": {"lang": "zh-CN", "contents": "目录", "title": "asyncio-lab：课程",
              "intro": "阅读版：每一课运行后的样子，连同它的时间线。要运行代码、拖动试验场的滑块，请在 JupyterLab "
                       "里打开笔记本（<code>make lab LANG=zh-CN</code>）。",
              "footer": "由 <code>make html</code> 于 {stamp} 用 Python {py} 生成。",
              "other": '<a href="../index.html" hreflang="en">English</a>', "other_index": "../index.html",
              "frozen": "试验场，显示的是第一次画出的样子", "with": "，控件取值 ",
              "frozen_end": "。在 JupyterLab 里打开这个笔记本（<code>make lab LANG=zh-CN</code>）即可拖动控件。"},
}
_edition = "en"                 # the edition being built (build() sets it)
DEFAULT_OUT = ROOT / "build" / "html"
CELL_LIMIT = 120            # seconds any one cell may take (as in the tests)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
LESSON_LINK = re.compile(r'href="((?:\./)?(\d\d-[\w.-]+?)\.ipynb)(#[^"]*)?"')
MATH = re.compile(r"\$\$|\\\(|\\\[|(?<![\\\w$])\$(?=[^\s$`])[^$`\n]+(?<=[^\s$])\$(?![\w$])")
MATHJAX_SCRIPTS = re.compile(r'<script[^>]*src="[^"]*mathjax[^"]*"[^>]*>\s*</script>\s*'
                             r'|(?:<!-- MathJax configuration -->\s*)?'
                             r'<script type="text/x-mathjax-config">.*?</script>\s*', re.S | re.I)
RELATIVE_LINK = re.compile(r'href="(?![a-z][a-z0-9+.-]*:|#|/)([^"]+)"', re.I)


@dataclass
class Lesson:
    source: Path                        # notebooks/NN-topic.ipynb in the repository
    number: str = ""
    title: str = ""
    minutes: str = ""
    figures: int = 0
    seconds: float = 0.0
    math: bool = False                  # does its Markdown hold TeX (so the page needs MathJax)?
    page: str = field(default="")

    def __post_init__(self):
        self.number = self.source.name[:2]
        self.page = self.source.stem + ".html"


def lesson_files(only=None, edition="en"):
    """Lessons in learning-path order; `only`: numbers ("03") or file names to keep."""
    found = sorted(EDITIONS[edition].glob("[0-9][0-9]-*.ipynb"))
    if not only:
        return found
    wanted = set(only)
    picked = [p for p in found if p.name[:2] in wanted or p.name in wanted or p.stem in wanted]
    missing = wanted - {p.name[:2] for p in picked} - {p.name for p in picked} - {p.stem for p in picked}
    if missing:
        raise SystemExit(f"no lesson matches {sorted(missing)} in {EDITIONS[edition]}")
    return picked


# ------------------------------------------------------------------------------------------
# reading a notebook


def first_heading(nb):
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                m = re.match(r"\s*#{1,6}\s+(.+?)\s*#*\s*$", line)
                if m:
                    return m.group(1)
    return ""


def title_of(nb, path):
    """The lesson's title from its first heading, without the leading number ("00 · ")."""
    heading = first_heading(nb) or path.stem[3:].replace("-", " ").capitalize()
    return re.sub(r"^\d\d(?:\s*[·.:\-–—]\s*|\s+)", "", heading)


def minutes_of(nb):
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"\*\*Time:\*\*\s*([^.\n*]+)", cell.source)
            if m:
                return m.group(1).strip()
    return ""


def inline_markdown(text):
    """Enough Markdown for a title: `code`, **bold**, *emphasis*; everything else escaped."""
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"(?<!\*)\*([^*]+)\*(?!\*)", r"<em>\1</em>", out)


# ------------------------------------------------------------------------------------------
# playgrounds: a picture of their first drawing instead of live widgets


def _widget_states(nb):
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def _walk(states, model_id, seen=None):
    """The models under model_id, depth first, in display order."""
    seen = set() if seen is None else seen
    if model_id in seen or model_id not in states:
        return
    seen.add(model_id)
    model = states[model_id]
    yield model
    for child in model.get("state", {}).get("children", []) or []:
        if isinstance(child, str) and child.startswith("IPY_MODEL_"):
            yield from _walk(states, child[len("IPY_MODEL_"):], seen)


def _control_value(state):
    if "_options_labels" in state and state.get("index") is not None:
        labels = state["_options_labels"]
        index = state["index"]
        return labels[index] if isinstance(index, int) and 0 <= index < len(labels) else ""
    return state.get("value")


def static_widget(states, model_id):
    """HTML for a widget tree as it was last drawn, or None if it holds nothing to show."""
    controls, pictures, captions = [], [], []
    for model in _walk(states, model_id):
        name, state = model.get("model_name", ""), model.get("state", {})
        if name == "ImageModel":
            for buf in model.get("buffers", []):
                if buf.get("path") == ["value"] and buf.get("encoding") == "base64":
                    fmt = state.get("format", "png")
                    pictures.append(f'<img alt="timeline" src="data:image/{html.escape(fmt)};base64,{buf["data"]}">')
        elif name in ("HTMLModel", "HTMLMathModel") and state.get("value"):
            captions.append(f'<div class="asynclab-caption">{state["value"]}</div>')
        elif state.get("description") and name.endswith(("SliderModel", "DropdownModel", "CheckboxModel",
                                                          "ToggleButtonsModel", "RadioButtonsModel",
                                                          "TextModel", "IntTextModel", "FloatTextModel")):
            controls.append(f"<b>{html.escape(str(state['description']))}</b> = "
                            f"{html.escape(str(_control_value(state)))}")
    if not (pictures or captions or controls):
        return None
    words = WORDS[_edition]
    note = (f"<p class=\"asynclab-note\">{words['frozen']}"
            + (f"{words['with']}{' · '.join(controls)}" if controls else "")
            + f"{words['frozen_end']}</p>")
    return f'<div class="asynclab-playground">{note}{"".join(pictures)}{"".join(captions)}</div>'


def freeze_widgets(nb):
    """Replace live widget outputs by static HTML and drop the widget state (and its scripts)."""
    states = _widget_states(nb)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                frozen = static_widget(states, data[WIDGET_VIEW].get("model_id", ""))
                del data[WIDGET_VIEW]
                if frozen:
                    data["text/html"] = frozen
                elif "image/png" in data:          # tl.explore(): its static timeline and sentence
                    sentence = data.get("text/plain", "")
                    sentence = "".join(sentence) if isinstance(sentence, list) else sentence
                    picture = "".join(data["image/png"]) if isinstance(data["image/png"], list) \
                        else data["image/png"]
                    data["text/html"] = (f'<div class="asynclab-playground"><p class="asynclab-note">'
                                         f'{html.escape(sentence)}</p><img alt="timeline" '
                                         f'src="data:image/png;base64,{picture.strip()}"></div>')
    nb.metadata.pop("widgets", None)


# ------------------------------------------------------------------------------------------
# building


STYLE = """
<style type="text/css">
  .asynclab-nav { display: flex; justify-content: space-between; gap: 1em; max-width: 1100px;
                  margin: 0 auto; padding: 0.6em 1em; font: 14px/1.4 system-ui, sans-serif;
                  border-bottom: 1px solid #ddd; }
  .asynclab-nav.bottom { border-bottom: 0; border-top: 1px solid #ddd; margin-top: 2em; }
  .asynclab-nav a { text-decoration: none; }
  .asynclab-nav .placeholder { visibility: hidden; }
  .asynclab-playground { border: 1px solid #ccd; border-radius: 4px; padding: 0.5em; }
  .asynclab-playground img { max-width: 100%; }
  .asynclab-note { font-style: italic; color: #555; margin: 0 0 0.5em 0; }
</style>
"""


def nav(lessons, index, where):
    def link(i, arrow_first):
        if i is None or not 0 <= i < len(lessons):
            return '<span class="placeholder">&nbsp;</span>'
        les = lessons[i]
        label = f"{les.number} · {inline_markdown(les.title)}"
        text = f"← {label}" if arrow_first else f"{label} →"
        rel = "prev" if arrow_first else "next"
        return f'<a rel="{rel}" href="{les.page}">{text}</a>'

    return (f'<nav class="asynclab-nav {where}">{link(index - 1, True)}'
            f'<a href="index.html">{WORDS[_edition]["contents"]}</a>{link(index + 1, False)}</nav>')


def rewrite_links(body, built, out):
    """Links between lessons go to their pages; other relative links to the repository's files."""
    def lesson(m):
        target, stem, anchor = m.group(1), m.group(2), m.group(3) or ""
        return f'href="{stem}.html{anchor}"' if stem in built else m.group(0)

    body = LESSON_LINK.sub(lesson, body)

    def other(m):
        target = m.group(1)
        if target.endswith(".html") and target.split("#")[0][:-5] in built:
            return m.group(0)
        file_part = html.unescape(target.split("#")[0])
        real = (EDITIONS[_edition] / file_part).resolve()
        if file_part and real.exists():
            rel = os.path.relpath(real, out).replace(os.sep, "/")
            return f'href="{html.escape(rel, quote=True)}{target[len(target.split("#")[0]):]}"'
        return m.group(0)

    return RELATIVE_LINK.sub(other, body)


def check_out(out):
    """Only ever replace an earlier reading copy, never a folder that holds anything else."""
    if not out.exists():
        return
    if not out.is_dir():
        raise SystemExit(f"{out} is a file; choose another --out")
    names = [p.name for p in out.iterdir() if p.name not in EDITIONS]   # zh-CN/: the other edition
    others = [n for n in names if not n.endswith(".html")]
    if others or (names and "index.html" not in names):
        raise SystemExit(f"{out} exists and is not a reading copy (it holds {sorted(others or names)[:5]}); "
                         "choose another --out")


def execute(path, workdir):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=CELL_LIMIT, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(workdir)}})
    started = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - started


def build(notebooks, out=DEFAULT_OUT, log=print, edition="en"):
    """Execute `notebooks` (paths in notebooks/, or zh-CN/notebooks/ for edition "zh-CN") and write
    the site to `out`.  Returns the lessons."""
    global _edition
    _edition = edition
    try:
        return _build(notebooks, out, log, edition)
    finally:
        _edition = "en"


def _build(notebooks, out, log, edition):
    from nbconvert import HTMLExporter

    notebooks = sorted(Path(p).resolve() for p in notebooks)
    if not notebooks:
        raise SystemExit("no lessons to build")
    out = Path(out).resolve()
    check_out(out)                      # before spending minutes running the lessons
    lessons = [Lesson(p) for p in notebooks]
    built = {les.source.stem for les in lessons}
    exporter = HTMLExporter(template_name="lab")
    pages = {}
    with tempfile.TemporaryDirectory(prefix="asynclab-html-") as tmp:
        work = Path(tmp) / "notebooks"
        shutil.copytree(EDITIONS[edition], work,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        for les in lessons:
            log(f"running {les.source.name} ...")
            try:
                nb, les.seconds = execute(work / les.source.name, work)
            except Exception as err:
                raise SystemExit(f"{les.source.name} failed while running, so the reading copy was not "
                                 f"written:\n{err}") from None
            les.title, les.minutes = title_of(nb, les.source), minutes_of(nb)
            les.math = any(c.cell_type == "markdown" and MATH.search(c.source) for c in nb.cells)
            les.figures = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                              if "image/png" in o.get("data", {}))
            freeze_widgets(nb)
            nb.metadata["title"] = f"{les.number} · {les.title}"
            body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": les.source.stem}})
            pages[les.source.stem] = body
    check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.html"):          # an earlier copy's pages (not the other edition's folder)
        old.unlink()
    for i, les in enumerate(lessons):
        body = pages[les.source.stem]
        body = body.replace(f'<script src="{exporter.require_js_url}"></script>', "")   # not needed, offline
        if not les.math:            # MathJax comes from a CDN: leave it out where nothing needs it
            body = MATHJAX_SCRIPTS.sub("", body)
        body = rewrite_links(body, built, out)
        body = body.replace("</head>", STYLE + "</head>", 1)
        body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + nav(lessons, i, "top"), body, count=1)
        body = body.replace("</body>", nav(lessons, i, "bottom") + "</body>", 1)
        (out / les.page).write_text(body, encoding="utf-8")
    (out / "index.html").write_text(index_page(lessons, other=(out / WORDS[edition]["other_index"]).exists()),
                                    encoding="utf-8")
    log(f"wrote {len(lessons)} lessons and index.html to {out}")
    return lessons


def index_page(lessons, other=False):
    """The contents page; `other`: link to the other edition's (built beside it)."""
    words = WORDS[_edition]
    rows = "\n".join(
        f'    <li><a href="{les.page}"><span class="num">{les.number}</span> {inline_markdown(les.title)}</a>'
        + (f' <span class="meta">{html.escape(les.minutes)}</span>' if les.minutes else "")
        + "</li>" for les in lessons)
    stamp = datetime.date.today().isoformat()
    py = "%d.%d.%d" % sys.version_info[:3]
    footer = words["footer"].format(stamp=stamp, py=py)
    switch = f"<p>{words['other']}</p>\n" if other else ""
    return f"""<!DOCTYPE html>
<html lang="{words['lang']}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{words['title']}</title>
<style type="text/css">
  body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em; color: #222; }}
  ol {{ list-style: none; padding: 0; }}
  li {{ padding: 0.4em 0; border-bottom: 1px solid #eee; }}
  .num {{ display: inline-block; width: 2.2em; color: #888; font-variant-numeric: tabular-nums; }}
  .meta {{ color: #888; font-size: 0.9em; margin-left: 0.5em; }}
  a {{ text-decoration: none; }}
  footer {{ color: #888; font-size: 0.85em; margin-top: 2em; }}
</style>
</head>
<body>
<h1>{words['title']}</h1>
{switch}<p>{words['intro']}</p>
<ol class="lessons">
{rows}
</ol>
<footer>{footer}</footer>
</body>
</html>
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NN",
                        help="build only these lessons (numbers like 03, or file names)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to write (default {DEFAULT_OUT})")
    parser.add_argument("--edition", choices=sorted(EDITIONS), default="en")
    args = parser.parse_args(argv)
    try:
        import nbclient, nbconvert, nbformat  # noqa: F401  (imported where used; checked here first)
    except ImportError as err:              # run with a Python other than .venv's: say how to run it
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from check_python import use_the_venv
        use_the_venv(err)
    build(lesson_files(args.only, args.edition), args.out, edition=args.edition)


if __name__ == "__main__":
    main()
