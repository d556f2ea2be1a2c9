"""Every notebook runs top to bottom in a fresh kernel, carries no outputs, and exercises match solutions."""

import ast
import json
import re
import sys

import nbformat
import pytest
from nbclient import NotebookClient

import nbrun
from nbrun import ROOT, all_notebooks, execute, python_version

sys.path.insert(0, str(ROOT / "tools"))
import make_exercises  # noqa: E402
from nbfiles import dumps, read  # noqa: E402

NOTEBOOKS = all_notebooks()


@pytest.mark.parametrize("relpath", NOTEBOOKS)
def test_runs_clean_in_a_fresh_kernel(relpath):
    run = execute(relpath)          # raises CellExecutionError on any error
    # It ran on the interpreter under test (its first cell prints the versions).
    if relpath.startswith("notebooks/"):
        assert f"python {python_version()}" in run.cell_text(_first_code_cell(run.nb)), \
            "the first code cell should print asynclab.versions() from this interpreter"
    assert run.seconds < 90, f"{relpath} took {run.seconds:.0f} s; lessons should take seconds"


def test_kernels_are_this_interpreters_own(tmp_path, monkeypatch):
    """A python3 kernelspec planted first on JUPYTER_PATH does not take over the test kernels."""
    planted = tmp_path / "kernels" / "python3"
    planted.mkdir(parents=True)
    (planted / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "planted", "language": "python", "env": {"ASYNCLAB_PLANTED": "planted kernel"}}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    probe = "import os; print(os.environ.get('ASYNCLAB_PLANTED', 'own kernel'))"

    def said(nb):
        return nb.cells[0].outputs[0].text.strip()

    # The plant is real: a client that looks kernelspecs up the usual way starts it.
    usual = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(probe)])
    NotebookClient(usual, kernel_name="python3", timeout=60).execute()
    assert said(usual) == "planted kernel"
    ours = nbrun.run_notebook(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(probe)]),
                              "kernel guard probe", tmp_path, timeout=60)
    assert said(ours) == "own kernel"
    assert ours.metadata.language_info.version == python_version()


def test_a_kernel_of_another_version_fails_the_run(tmp_path, monkeypatch):
    """If a kernel reports another Python than the one under test, the run fails and says so."""
    monkeypatch.setattr(nbrun, "python_version", lambda: "3.0.1")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    with pytest.raises(AssertionError, match=r"version probe: its kernel ran Python 3\.\d+\.\d+, "
                                             r"but these tests run on Python 3\.0\.1"):
        nbrun.run_notebook(nb, "version probe", tmp_path, timeout=60)
    nbrun.KERNELS.pop("version probe")      # it ran this Python after all: not a notebook of the suite


def _first_code_cell(nb):
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")


@pytest.mark.parametrize("relpath", NOTEBOOKS)
def test_committed_without_outputs(relpath):
    path = ROOT / relpath
    assert path.read_text(encoding="utf-8") == dumps(read(path)), \
        f"{relpath} carries outputs or is not in canonical form: run `make clean-notebooks`"


def test_exercises_are_generated_from_solutions(tmp_path):
    make_exercises.generate(tmp_path, keep_edits=False)
    generated = sorted(p.name for p in tmp_path.glob("*.ipynb"))
    committed = sorted(p.name for p in (ROOT / "exercises").glob("[0-9][0-9]-*.ipynb"))
    assert generated == committed
    for name in generated:
        assert (tmp_path / name).read_bytes() == (ROOT / "exercises" / name).read_bytes(), \
            f"exercises/{name} differs from what solutions/{name} generates: run `make exercises`"


def test_every_lesson_links_on():
    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    assert lessons, "no lessons found"
    for here, after in zip(lessons, lessons[1:]):
        text = here.read_text(encoding="utf-8")
        assert after.name in text, f"{here.name} should link to the next lesson, {after.name}"


@pytest.mark.parametrize("relpath", [p for p in NOTEBOOKS if p.startswith("notebooks/")])
def test_every_assert_in_a_lesson_says_why(relpath):
    """Run out of order, a learner reads a sentence, never a bare AssertionError."""
    for cell in read(ROOT / relpath).cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines()
                         if not line.lstrip().startswith(("%", "!")))     # IPython magics
        tree = compile(code, relpath, "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        bare = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, ast.Assert) and n.msg is None]
        assert not bare, f"{relpath}: these asserts give no message: {bare}"


def test_exercise_checks_report_not_solved(tmp_path):
    """An unsolved exercise runs to the end and each check says 'not solved yet'."""
    for relpath in [p for p in NOTEBOOKS if p.startswith("exercises/")]:
        run = execute(relpath)
        checks = run.cells_with("check(")
        assert checks, f"{relpath} has no check cells"
        for index in checks:
            assert "not solved yet" in run.cell_text(index), (relpath, run.cell_text(index))


def test_solution_checks_pass():
    for relpath in [p for p in NOTEBOOKS if p.startswith("solutions/")]:
        run = execute(relpath)
        checks = run.cells_with("check(")
        assert checks, f"{relpath} has no check cells"
        for index in checks:
            text = run.cell_text(index)
            assert re.search(r"✔ \w+: all \d+ cases passed", text), (relpath, text)
