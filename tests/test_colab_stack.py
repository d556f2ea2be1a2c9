"""Lessons where only the notebook was opened, and on Google Colab's kernel stack.

The first code cell of every lesson gets asynclab where it is missing (installs it on Colab, says
what to run elsewhere): checked here on any Python.  The rest runs only on the Colab-like stack of
requirements-colab.txt (ipykernel 6.17, IPython 7.34, ipywidgets 7.7, matplotlib 3.10 on Python
3.12), which tools/colab_env.sh makes in .venv-colab:

    bash tools/colab_env.sh && .venv-colab/bin/python -m pytest -q tests/test_colab_stack.py
"""

import subprocess
import sys
import types
from importlib import metadata

import nbformat
import pytest

import nbrun
from nbrun import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import first_cell  # noqa: E402
from public_links import repository  # noqa: E402

pytestmark = pytest.mark.once

LESSONS = [path.name for path in first_cell.lessons()]
URL = repository()[0]


def _colab_stack():
    try:
        return (metadata.version("ipykernel").startswith("6.")
                and metadata.version("ipywidgets").startswith("7."))
    except metadata.PackageNotFoundError:
        return False


on_colab_stack = pytest.mark.skipif(
    not _colab_stack(), reason="needs the Colab-like stack: bash tools/colab_env.sh, then run this "
                               "file with .venv-colab/bin/python -m pytest")


def _first_cell(name):
    return first_cell.first_code_cell(nbformat.read(str(ROOT / "notebooks" / name), as_version=4)).source


@pytest.mark.parametrize("name", LESSONS)
def test_first_cell_holds_readmes_repository_url(name):
    source = _first_cell(name)
    assert first_cell.updated(source, URL) == source, \
        f"{name}: its first cell is out of date with README's [repository]; run tools/first_cell.py --write"
    assert f'"asynclab @ git+{URL}"' in source


@pytest.mark.parametrize("name", LESSONS)
def test_without_asynclab_the_first_cell_says_what_to_run(name, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "asynclab", None)       # `import asynclab` now fails
    with pytest.raises(ModuleNotFoundError) as raised:
        exec(_first_cell(name), {})
    assert str(raised.value) == (f"asynclab is not installed here; run  %pip install 'asynclab @ git+{URL}'"
                                 "  in a cell, then run this cell again")


@pytest.mark.parametrize("name", ["00-start-here.ipynb", "10-capstone-crawler.ipynb"])
def test_on_colab_the_first_cell_installs_asynclab(name, monkeypatch, capsys):
    import asynclab
    installed = []

    def pip(command, check):
        installed.append(command)
        monkeypatch.setitem(sys.modules, "asynclab", asynclab)   # as if pip had installed it

    monkeypatch.setitem(sys.modules, "asynclab", None)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", pip)
    exec(_first_cell(name), {})
    assert installed == [[sys.executable, "-m", "pip", "install", "-q", f"asynclab @ git+{URL}"]]
    assert f"python {nbrun.python_version()}" in capsys.readouterr().out


def test_playground_without_widgets_shows_its_picture_and_says_why(capsys):
    import asynclab

    async def scenario(tasks):
        await asynclab.fetch("A", 0.01)

    pg = asynclab.playground(scenario, tasks=(1, 3, 1))
    pg._ipython_display_()                     # plain Python: no kernel, so no live widget
    out = capsys.readouterr().out
    assert "<IPython.core.display.Image object>" in out
    assert "The sliders need a notebook kernel with ipywidgets" in out


# --- on the Colab-like stack --------------------------------------------------------------

@on_colab_stack
def test_lesson00_runs_clean_and_says_where(monkeypatch):
    for name in ("VSCODE_PID", "VSCODE_CWD", "VSCODE_IPC_HOOK_CLI"):   # tests run from VS Code's terminal
        monkeypatch.delenv(name, raising=False)
    run = nbrun.execute("notebooks/00-start-here.ipynb")
    first = run.cell_text(run.cells_with("asynclab.versions();")[0])
    assert f"ipykernel {metadata.version('ipykernel')}" in first
    assert f"ipywidgets {metadata.version('ipywidgets')}" in first
    assert "Running in a Jupyter kernel" in first


PLAYGROUND = [
    "import asyncio, asynclab",
    "async def scenario(tasks, at_once):\n"
    "    gate = asyncio.Semaphore(at_once)\n"
    "    async def job(i):\n"
    "        async with gate:\n"
    "            await asynclab.fetch(f'job {i}', 0.02)\n"
    "    await asyncio.gather(*(job(i) for i in range(tasks)))\n"
    "    return f'{tasks} jobs, {at_once} at once'\n"
    "pg = asynclab.playground(scenario, tasks=(1, 8, 1, 4), at_once=(1, 4, 1, 2), limit='at_once')\n"
    "pg",
    # nbclient cannot move a slider: set the value and call the slider's callback, as a move does.
    "pg.controls['tasks'].unobserve(pg._on_change, names='value')\n"
    "pg.controls['tasks'].value = 6\n"
    "pg._on_change({'new': 6})\n"
    "print(pg.runs, len(pg.timeline.tasks), pg.image.value[:4] == b'\\x89PNG', repr(pg.caption.value))",
]


@on_colab_stack
def test_a_playground_builds_and_redraws():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in PLAYGROUND])
    nbrun.run_notebook(nb, "playground on the Colab-like stack", ROOT)
    shown = nb.cells[1].outputs
    assert [o.output_type for o in shown] == ["display_data"], shown
    assert "application/vnd.jupyter.widget-view+json" in shown[0].data
    printed = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert printed.split()[:3] == ["2", "6", "True"], printed
    assert "6 jobs, 2 at once" in printed


@on_colab_stack
def test_lesson04_runs_clean_and_shows_what_this_kernel_does():
    run = nbrun.execute("notebooks/04-asyncio-run-in-jupyter.ipynb")
    assert "this cell runs inside a task whose coroutine is: Kernel.dispatch_queue" in \
        run.text_of("kernel_loop = loop")
    assert "ipykernel's Tk loop (%gui tk) calls: nest_asyncio.apply()" in \
        run.text_of("needs = [r for r in metadata.requires")
    drop = run.text_of("run_all[module, queued] = ")
    assert "NO REPLY" not in drop and "with ipykernel 6 (Colab) all four reply" in drop, drop


PROBE = "import asyncio; print(asyncio.run.__module__)"


# jupyter_client < 8 (Colab's) calls nest_asyncio.apply() in the process that uses its blocking API, so
# the lessons drive their throwaway kernels from a separate process: the lesson's own kernel stays as it was.
@on_colab_stack
@pytest.mark.parametrize("name", ["04-asyncio-run-in-jupyter.ipynb", "10-capstone-crawler.ipynb"])
def test_throwaway_kernel_demos_leave_the_lessons_own_kernel_unpatched(name):
    nb = nbformat.read(str(ROOT / "notebooks" / name), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    nbrun.run_notebook(nb, f"{name} and a probe", ROOT / "notebooks")
    assert "".join(o.get("text", "") for o in nb.cells[-1].outputs) == "asyncio.runners\n"
