"""Execute notebooks in a fresh kernel (nbclient) and read what they printed.

Each notebook runs at most once per test session: the test that it runs without
error and the tests of the claims it makes share one execution.

The kernel is always this interpreter's own ipykernel (see `kernel_manager`), and every
execution checks that the kernel reported this interpreter's version: a kernelspec named
python3 found elsewhere (~/.local/share/jupyter/kernels, JUPYTER_PATH) cannot silently run
the notebooks on another Python.  `KERNELS` records what each notebook's kernel ran, for the
summary that tools/run_tests.sh prints.
"""

import functools
import json
import os
import re
import string
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
CELL_LIMIT = 120       # seconds any one cell may take before the run fails (nothing hangs)


class Executed:
    def __init__(self, path, nb, seconds):
        self.path, self.nb, self.seconds = path, nb, seconds

    def cell_text(self, index):
        """Everything cell `index` printed or displayed as text."""
        return _text(self.nb.cells[index])

    @property
    def text(self):
        """Everything the notebook printed, in order."""
        return "\n".join(_text(c) for c in self.nb.cells if c.cell_type == "code")

    def cells_with(self, needle):
        """Indices of code cells whose source contains `needle`."""
        return [i for i, c in enumerate(self.nb.cells) if c.cell_type == "code" and needle in c.source]

    def text_of(self, needle):
        """What the one cell whose source contains `needle` printed."""
        found = self.cells_with(needle)
        assert len(found) == 1, f"{self.path.name}: {len(found)} cells contain {needle!r}"
        return self.cell_text(found[0])

    def revealed(self, needle):
        """What the reveal lines of the cell containing `needle` said happened, in order (no guess
        made when the tests run: every guess is still `...`)."""
        said = re.findall(r"^You made no prediction\. What happened: (.+)\.$", self.text_of(needle), re.M)
        assert said, self.text_of(needle)
        return said

    def images(self):
        return sum(1 for c in self.nb.cells if c.cell_type == "code"
                   for o in c.outputs if "image/png" in o.get("data", {}))


def _text(cell):
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
    return "".join(parts)


KERNELS = {}           # notebook -> the Python version its kernel reported, for the run's summary


def kernel_manager():
    """A kernel manager that starts this interpreter's ipykernel and nothing else.

    With no kernel folders to search, the only "python3" kernelspec left is the one ipykernel
    builds from sys.executable: kernelspecs installed elsewhere are never looked at.
    """
    return KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))


def run_notebook(nb, label, cwd, timeout=CELL_LIMIT, **options):
    """Execute `nb` in place in a fresh kernel of this interpreter; check and record that it was."""
    NotebookClient(nb, km=kernel_manager(), timeout=timeout,
                   resources={"metadata": {"path": str(cwd)}}, **options).execute()
    ran = nb.metadata.get("language_info", {}).get("version")
    KERNELS[label] = ran
    assert ran == python_version(), (
        f"{label}: its kernel ran Python {ran}, but these tests run on Python {python_version()}; "
        "a kernelspec from another interpreter was used")
    return nb


# ASYNCLAB_EDITION=zh-CN: execute() runs the zh-CN edition of each notebook instead, and gives it
# back with the English sources and its outputs turned back into English (see english_outputs), so
# that every claim test of the English lessons checks the Chinese ones too.
EDITION = os.environ.get("ASYNCLAB_EDITION", "en")


@functools.lru_cache(maxsize=None)
def execute(relpath):
    """Run ROOT/relpath top to bottom in a fresh kernel of this interpreter."""
    if EDITION != "en" and not relpath.startswith(EDITION + "/"):
        return _execute_edition(relpath)
    path = ROOT / relpath
    nb = nbformat.read(str(path), as_version=4)
    started = time.perf_counter()
    run_notebook(nb, relpath, path.parent)
    return Executed(path, nb, time.perf_counter() - started)


def _execute_edition(relpath):
    translated = execute(f"{EDITION}/{relpath}")
    english = nbformat.read(str(ROOT / relpath), as_version=4)
    assert [c.get("id") for c in english.cells] == [c.get("id") for c in translated.nb.cells], \
        f"{EDITION}/{relpath} does not have the cells of {relpath}: run `make translations`"
    folder, name = relpath.split("/")
    catalogue = ROOT / "translations" / EDITION / ("solutions" if folder == "exercises" else folder) \
        / name.replace(".ipynb", ".json")
    # Each cell's outputs are read back with its own pieces first, then with the other cells'
    # (a cell prints what a function defined in an earlier cell says); and the zh-CN exercises'
    # stub message.
    entries = json.loads(catalogue.read_text("utf-8"))["cells"]
    own = {e["id"]: [tuple(p) for p in e.get("replace") or []] for e in entries}
    everyone = {tuple(p) for e in entries for p in e.get("replace") or []}
    everyone.add(("exercise not solved yet", "练习还没有完成"))
    for cell, ran in zip(english.cells, translated.nb.cells):
        if cell.cell_type == "code":
            cell.outputs = ran.outputs
            for out in cell.outputs:
                english_outputs(out, own.get(cell.get("id"), []), everyone)
    english.metadata = translated.nb.metadata
    return Executed(ROOT / relpath, english, translated.seconds)


def _reader(pairs, specific_only=False):
    """A function that puts the English of `pairs` back in one pass over a text, longest piece
    first at each place, so that English put back is never read again (" ms）" -> " ms)" must
    not then meet " ms" -> " ms ").  Pieces that differ only in spaces or translate to nothing
    cannot be read back; with `specific_only`, neither can pieces with fewer than two Chinese
    characters that stand for several English pieces (" 个") or are a single character: from
    another cell they would match too much."""
    english_of, meanings = {}, {}
    printed = [_printed(e, t) for e, t in pairs]
    for english, translated in printed:
        meanings.setdefault(translated, set()).add(english)
    for english, translated in sorted(printed, key=lambda p: -len(p[0])):
        if not translated.strip() or english.split() == translated.split():
            continue
        short = len(re.findall(r"[\u4e00-\u9fff]", translated)) < 2
        if specific_only and short and (len(meanings[translated]) > 1 or len(translated.strip()) < 2
                                        or translated.isascii()):
            continue
        english_of.setdefault(translated, english)
    if not english_of:
        return lambda text: text
    pattern = re.compile("|".join(map(re.escape, sorted(english_of, key=len, reverse=True))))
    return lambda text: pattern.sub(lambda m: english_of[m.group(0)], text)


def english_outputs(out, own, everyone=()):
    """Turn one output of a translated notebook back into English, in place.

    (1) A line that is one of asynclab's messages as a whole (a check's verdict, reveal()'s
    line) becomes its English, and so do the values in its fields; (2) the cell's own translated
    pieces, then the notebook's other ones; (3) asynclab's messages inside other text."""
    readers = (_reader(own), _reader(everyone, specific_only=True))

    def back(text):
        text = "\n".join(_whole_message(line, _asynclab_templates(4)) for line in text.split("\n"))
        for read in readers:
            text = read(text)
        for pattern, english in _asynclab_templates(4):
            text = pattern.sub(lambda m: _fill(english, m), text)
        return text
    if out.output_type == "stream":
        out.text = back(out.text)
    elif out.output_type in ("execute_result", "display_data"):
        for kind in ("text/plain", "text/html"):
            if kind in out.get("data", {}):
                out.data[kind] = back(out.data[kind])
    elif out.output_type == "error":
        out.evalue = back(out.evalue)
        out.traceback = [back(line) for line in out.traceback]


def _whole_message(text, templates):
    """`text` in English if all of it is one asynclab message (fields read back the same way,
    where any message will do: a field holds one whole message or a value)."""
    for pattern, english in templates:
        match = pattern.fullmatch(text)
        if match:
            return _fill(english, match, lambda value: _whole_message(value, _asynclab_templates(0)))
    return text


def _printed(english, translated):
    """The part of a code piece that a print shows: the quotes and field braces a piece had to
    include to be unique in its cell ('"with"', '} pages, {') are not in the output."""
    while english and translated and english[0] == translated[0] and english[0] in "\"'}":
        english, translated = english[1:], translated[1:]
    while english and translated and english[-1] == translated[-1] and english[-1] in "\"'{":
        english, translated = english[:-1], translated[:-1]
    return english, translated


def _group(field):
    """The regex group for a template's {field} (also {field!r}, {field:.1f}, {field.attr})."""
    return "f_" + re.sub(r"\W", "_", field.split(".")[0].split("[")[0]) + "_0"


def _fill(english, match, inner=lambda value: value):
    """`english` with each {field} replaced by what the translated message had there."""
    values = {name: inner(value) for name, value in match.groupdict().items()}
    return "".join(literal + (values.get(_group(field), "") if field else "")
                   for literal, field, _, _ in string.Formatter().parse(english))


@functools.lru_cache(maxsize=None)
def _asynclab_templates(least_chinese):
    """[(regex matching a zh-CN message, its English template)], longest message first; only
    messages with at least `least_chinese` Chinese characters outside their fields (a word or
    two, or fields joined by punctuation, "{name}：{value}", match too much other text)."""
    from asynclab.language import catalogue
    found = []
    for english, chinese in catalogue(EDITION).items():
        regex, seen = "", set()
        try:
            parts = list(string.Formatter().parse(chinese))
        except ValueError:
            parts = [(chinese, None, None, None)]
        literal = "".join(p[0] for p in parts)
        if len(re.findall(r"[\u4e00-\u9fff]", literal)) < least_chinese or not literal.strip():
            continue
        for text, field, _, _ in parts:
            regex += re.escape(text)
            if field:
                group = _group(field)
                regex += f"(?P={group})" if group in seen else f"(?P<{group}>.+?)"
                seen.add(group)
        if regex.endswith(".+?)"):
            regex = regex[:-4] + ".+)"          # a field at the end takes the rest of the line
        found.append((len(chinese), len(english), re.compile(regex), english))
    # Longest message first; where two English texts share a translation ("{n} task", "{n} tasks":
    # "{n} 个任务"), the longer English (the plural) is the one read back.
    found.sort(key=lambda f: (-f[0], -f[1]))
    return [(pattern, english) for _, _, pattern, english in found]


def function_from(relpath, name):
    """Run a notebook's code cells (not its check cells) until one defines `name`; return it.

    Cells with top-level await are demos, not definitions: they are skipped.
    """
    nb = nbformat.read(str(ROOT / relpath), as_version=4)
    namespace = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and "check(" not in cell.source:
            try:
                code = compile(cell.source, relpath, "exec")
            except SyntaxError:
                continue
            exec(code, namespace)
            if name in namespace:
                return namespace[name]
    raise LookupError(f"{relpath} defines no {name!r}")


def scenario_from(relpath, name):
    """A playground scenario `async def name(...)` from the notebook code cell that defines it,
    without the playground the cell goes on to make (that needs a kernel's widgets)."""
    nb = nbformat.read(str(ROOT / relpath), as_version=4)
    source = next(c.source for c in nb.cells if c.cell_type == "code" and f"async def {name}(" in c.source)
    import asyncio

    import asynclab
    namespace = {"asyncio": asyncio, "asynclab": asynclab, "time": time}   # the lesson's imports
    exec(compile(source.split("pg = asynclab.playground")[0], relpath, "exec"), namespace)
    return namespace[name]


def all_notebooks():
    return [str(p.relative_to(ROOT)) for folder in ("notebooks", "solutions", "exercises")
            for p in sorted((ROOT / folder).glob("[0-9][0-9]-*.ipynb"))]


def python_version():
    return "%d.%d.%d" % sys.version_info[:3]


class RunTwice:
    """What each code cell of a notebook did when every code cell ran twice in a row
    (cell, the same cell again, next cell, ...), all in one fresh kernel."""

    def __init__(self, relpath, sources, first, second):
        self.relpath, self.sources, self.first, self.second = relpath, sources, first, second

    def pairs(self):
        """(index in the original notebook, source, first outputs, second outputs), per code cell."""
        return [(i, self.sources[i], self.first[i], self.second[i]) for i in sorted(self.sources)]


@functools.lru_cache(maxsize=None)
def execute_twice(relpath):
    """Run ROOT/relpath with every code cell run twice in a row; errors do not stop the run,
    so every cell's second run is seen.  Ends with a garbage collection and a short wait, so
    tasks a re-run orphaned report themselves ("Task was destroyed but it is pending!")."""
    path = ROOT / relpath
    nb = nbformat.read(str(path), as_version=4)
    cells, where = [], []           # where[k]: (original index, 1 or 2) for code cell k of the run
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for run in (1, 2):
            cells.append(nbformat.v4.new_code_cell(cell.source, metadata=dict(cell.metadata)))
            where.append((index, run))
    cells.append(nbformat.v4.new_code_cell("import gc as _gc\n_gc.collect()\nawait __import__('asyncio').sleep(0.05)"))
    where.append((None, 0))
    nb.cells = cells
    run_notebook(nb, f"{relpath} (every cell twice)", path.parent, allow_errors=True)
    sources, first, second = {}, {}, {}
    for cell, (index, run) in zip(nb.cells, where):
        if index is None:
            # what the final collection printed belongs to the last cell that ran
            second[last] = list(second[last]) + list(cell.outputs)
            continue
        sources[index] = cell.source
        (first if run == 1 else second)[index] = cell.outputs
        last = index
    return RunTwice(relpath, sources, first, second)


# What asyncio (or Python) writes to the kernel's stderr when something went wrong unseen.
# Demos that show these messages on purpose run them in a subprocess and print its output to
# stdout, so only stderr is looked at.
TROUBLE_ON_STDERR = ("Traceback (most recent call last)", "Task was destroyed but it is pending",
                     "Task exception was never retrieved", "was never awaited")


def errors_in(outputs):
    """The exception a cell raised, and what it wrote to stderr about trouble, one line each."""
    found = []
    for out in outputs:
        if out.output_type == "error":
            found.append(f"{out.ename}: {out.evalue}")
        elif out.output_type == "stream" and out.name == "stderr":
            found += [line for line in out.text.splitlines() if any(t in line for t in TROUBLE_ON_STDERR)]
    return found


def first_section(nb):
    """Indices of the code cells before the lesson's second `## ` heading: its set-up cell(s)
    and its first section, the part a learner who jumps ahead has most likely run."""
    headings = 0
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and re.search(r"^## ", cell.source, re.M):
            headings += 1
            if headings == 2:
                break
        elif cell.cell_type == "code":
            found.append(index)
    return found


# Cells that put the kernel's names back as they were after the first section, so that each
# later cell runs as if the learner had jumped straight to it.
_SNAPSHOT = "_asynclab_test_kept = dict(globals())"
_RESTORE = """\
for _asynclab_test_name in [n for n in globals() if n not in _asynclab_test_kept]:
    del globals()[_asynclab_test_name]
globals().update(_asynclab_test_kept)"""


@functools.lru_cache(maxsize=None)
def execute_jumping_ahead(relpath):
    """Run the lesson's first section, then each later cell that contains `assert` on its own,
    the names put back to what the first section left before each one (one kernel).
    Returns {index of the later cell: its outputs}."""
    path = ROOT / relpath
    nb = nbformat.read(str(path), as_version=4)
    start = first_section(nb)
    later = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and i > max(start) and "assert" in c.source]
    cells = [nbformat.v4.new_code_cell(nb.cells[i].source) for i in start]
    cells.append(nbformat.v4.new_code_cell(_SNAPSHOT))
    for i in later:
        cells.append(nbformat.v4.new_code_cell(_RESTORE))
        cells.append(nbformat.v4.new_code_cell(nb.cells[i].source))
    ran = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    run_notebook(ran, f"{relpath} (jumping ahead)", path.parent, allow_errors=True)
    return {i: ran.cells[len(start) + 2 + 2 * k].outputs for k, i in enumerate(later)}
