"""The tools that write notebooks never lose a learner's work."""

import shutil
import sys

import pytest

from nbrun import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import make_exercises  # noqa: E402
import reset_exercise  # noqa: E402
from nbfiles import dumps, read  # noqa: E402


@pytest.fixture
def repo(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    make_exercises.generate(tmp_path / "exercises", tmp_path / "solutions")
    return tmp_path


def _edit(path):
    nb = read(path)
    nb.cells.append(nb.cells[-1].copy())
    nb.cells[-1].source = "# my notes"
    nb.cells[-1]["id"] = "my-notes"           # a new cell gets a new id, as in JupyterLab
    path.write_text(dumps(nb), encoding="utf-8")
    return path.read_text(encoding="utf-8")


def _first(repo):
    return sorted((repo / "exercises").glob("[0-9][0-9]-*.ipynb"))[0]


def test_reset_keeps_the_edited_exercise_next_to_the_fresh_one(repo):
    target = _first(repo)
    pristine = target.read_text(encoding="utf-8")
    edited = _edit(target)
    fresh, kept = reset_exercise.reset(target.name[:2], repo / "exercises", repo / "solutions")
    assert fresh == target and fresh.read_text(encoding="utf-8") == pristine
    assert kept.parent == target.parent and ".edited-" in kept.name
    assert kept.read_text(encoding="utf-8") == edited
    # A second reset of a pristine file changes nothing and keeps no copy.
    assert reset_exercise.reset(target.name[:2], repo / "exercises", repo / "solutions")[1] is None


def test_reset_of_an_unknown_number_says_which_exist(repo):
    with pytest.raises(SystemExit, match="There is no exercise 99"):
        reset_exercise.reset("99", repo / "exercises", repo / "solutions")


def test_regenerating_exercises_keeps_a_learners_edits(repo):
    target = _first(repo)
    edited = _edit(target)
    make_exercises.generate(repo / "exercises", repo / "solutions")
    kept = list(target.parent.glob(target.stem + ".edited-*.ipynb"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == edited


def test_a_solution_without_regions_is_refused_plainly(tmp_path):
    (tmp_path / "solutions").mkdir()
    src = sorted((ROOT / "solutions").glob("[0-9][0-9]-*.ipynb"))[0]
    nb = read(src)
    for cell in nb.cells:
        cell.source = cell.source.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", "")
    (tmp_path / "solutions" / src.name).write_text(dumps(nb), encoding="utf-8")
    with pytest.raises(make_exercises.SourceError, match="has no ### BEGIN SOLUTION"):
        make_exercises.generate(tmp_path / "exercises", tmp_path / "solutions")


def test_unbalanced_markers_are_refused_with_the_place():
    with pytest.raises(make_exercises.SourceError, match="never closed"):
        make_exercises.stub_source("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "x, cell 3")
    out = make_exercises.stub_source("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", "x")
    assert out == ('def f():\n    # Your code here: replace the next line.\n'
                   '    raise NotImplementedError("exercise not solved yet")')


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed here")
def test_make_lab_serves_on_localhost_with_a_token():
    """`make lab` binds to 127.0.0.1 and keeps Jupyter's token (we never turn it off)."""
    import subprocess
    out = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60).stdout
    command = [line for line in out.splitlines() if "jupyter lab" in line]
    assert command, out
    assert "--ip=127.0.0.1" in command[0]
    assert "token" not in command[0] and "password" not in command[0]
    assert command[-1].endswith("--ServerApp.root_dir=. notebooks/00-start-here.ipynb"), \
        "make lab must serve the repository (the lessons link to ../exercises/) and open lesson 00"
