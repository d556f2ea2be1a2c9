"""Learners re-run cells and jump ahead: every lesson copes with both.

- Every code cell of every lesson (and of every solution notebook) can be run twice in a row (cell, the same cell again, next
  cell, ...): the second run raises nothing and asyncio reports nothing on stderr (an orphaned
  task, an exception never retrieved, a coroutine never awaited), unless raising on the second run
  is itself the lesson (RAISES_ON_SECOND_RUN, with the reason and the exception it must be),
  and it shows as many pictures and widgets as the first run (no doubled plots).
- A lesson run out of order (its first section, then a later cell that checks something with
  `assert`) fails with a sentence: an AssertionError with its message, or a NameError for a name
  an earlier cell makes, followed by asynclab's hint to run the cells above.

One kernel per lesson for each; they do not depend on the Python version (conftest: ONCE_FILES).
"""

import ast
import re

import nbformat
import pytest

import nbrun
from nbrun import ROOT, errors_in, execute_jumping_ahead, execute_twice, first_section

LESSONS = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))]
SOLUTIONS = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "solutions").glob("[0-9][0-9]-*.ipynb"))]

# Cells whose second run raising is what they teach: (lesson, a line of the cell) ->
# (the exception the second run must end in, why).  None today: the lessons show such errors
# inside try/except, in the cell itself, so that a re-run shows them again.
RAISES_ON_SECOND_RUN = {}


def _first_line(source):
    return source.strip().splitlines()[0][:70] if source.strip() else "(empty)"


def _shown(outputs):
    """How many pictures and widgets a cell's outputs show, by kind (a re-run must not double them)."""
    kinds = {}
    for out in outputs:
        if out.output_type in ("display_data", "execute_result"):
            for kind in out.get("data", {}):
                if kind != "text/plain":
                    kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def problems_after_running_twice(relpath, run, raises_on_second_run):
    """What went wrong when every cell of `run` ran twice, one sentence per cell."""
    expected = {needle: why for (lesson, needle), why in raises_on_second_run.items() if lesson == relpath}
    used = set()
    problems = []
    for index, source, first, second in run.pairs():
        where = f"cell {index} ({_first_line(source)!r})"
        if errors_in(first):
            problems.append(f"{where}, after the cell above ran twice: {errors_in(first)}")
        matches = [needle for needle in expected if needle in source]
        if matches:
            used.update(matches)
            ename, why = expected[matches[0]]
            ended = [o.ename for o in second if o.output_type == "error"]
            if ended != [ename]:
                problems.append(f"{where}: its second run should end in {ename} ({why}), "
                                f"but ended in {ended or 'no exception'}")
        elif errors_in(second):
            problems.append(f"{where}, run a second time: {errors_in(second)}")
        if _shown(first) != _shown(second):
            problems.append(f"{where}: showed {_shown(first)} the first time, {_shown(second)} the second")
    problems += [f"no cell contains {needle!r} (listed in RAISES_ON_SECOND_RUN)" for needle in set(expected) - used]
    return problems


@pytest.mark.parametrize("relpath", LESSONS + SOLUTIONS)
def test_every_cell_can_run_twice_in_a_row(relpath):
    problems = problems_after_running_twice(relpath, execute_twice(relpath), RAISES_ON_SECOND_RUN)
    assert not problems, f"{relpath}:\n" + "\n".join(problems)


def test_the_twice_run_catches_a_coroutine_awaited_again(tmp_path):
    """The check above is not blind: a coroutine made in one cell and awaited in the next fails the
    second run of both (never awaited; cannot reuse), an expected exception passes, a different
    one does not, and a cell that shows one more picture each run fails."""
    path = tmp_path / "twice.ipynb"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import asyncio\n\nasync def cook():\n    return 'soup'\n\nsoup = cook()"),
        nbformat.v4.new_code_cell("await soup"),
        nbformat.v4.new_code_cell("from IPython.display import HTML, display\n\nshown = globals().get('shown', []) + ['x']\n"
                                  "for item in shown:\n    display(HTML(item))"),
    ])
    nbformat.write(nb, str(path))
    label = str(path)
    run = execute_twice(label)
    nbrun.KERNELS.pop(f"{label} (every cell twice)")        # not a notebook of the collection
    found = problems_after_running_twice(label, run, {})
    assert len(found) == 3, found
    assert "cell 0" in found[0] and "coroutine 'cook' was never awaited" in found[0], found
    assert "cell 1" in found[1] and "RuntimeError: cannot reuse already awaited coroutine" in found[1], found
    right = {(label, "await soup"): ("RuntimeError", "a coroutine can be awaited once")}
    assert "cell 2" in found[2] and "showed {'text/html': 1} the first time, {'text/html': 2} the second" in found[2]
    assert problems_after_running_twice(label, run, right) == [found[0], found[2]]
    wrong = {(label, "await soup"): ("ValueError", "not what happens")}
    assert "should end in ValueError" in problems_after_running_twice(label, run, wrong)[1]


def names_made_by(cells):
    """Every name the code cells bind at top level or anywhere (assignments, defs, imports, loops)."""
    made = set()
    for cell in cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines()
                         if not line.lstrip().startswith(("%", "!")))     # IPython magics
        tree = compile(code, "cell", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                made.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                made.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                made.update((a.asname or a.name).split(".")[0] for a in node.names)
    return made


HINT = re.compile(r"Hint: `(\w+)` is not defined in this kernel yet\. If an earlier cell of this notebook "
                  r"makes it, run the cells above this one first(?: \([^()]+\))?, "
                  r"then this cell again")


@pytest.mark.parametrize("relpath", LESSONS)
def test_a_cell_run_out_of_order_says_why(relpath):
    """Run out of order, a learner reads a sentence: an AssertionError's message, or, for a name an
    earlier cell makes, the NameError followed by the hint to run the cells above.  A bare
    AssertionError, a NameError for a name no earlier cell makes (the hint would send the learner
    up for nothing) or any other exception (stale state the learner cannot understand) fails."""
    nb = nbformat.read(str(ROOT / relpath), as_version=4)
    assert first_section(nb), f"{relpath}: no code cells before its second section"
    problems = []
    for index, outputs in execute_jumping_ahead(relpath).items():
        where = f"cell {index} ({_first_line(nb.cells[index].source)!r})"
        errors = [o for o in outputs if o.output_type == "error"]
        if not errors:
            continue
        error = errors[0]
        if error.ename == "AssertionError":
            if not error.evalue.strip():
                problems.append(f"{where}: a bare AssertionError")
        elif error.ename == "NameError":
            name = re.search(r"name '(\w+)' is not defined", error.evalue).group(1)
            printed = "".join(o.text for o in outputs if o.output_type == "stream")
            if name not in names_made_by(nb.cells[:index]):
                problems.append(f"{where}: NameError for {name!r}, which no earlier cell makes")
            elif HINT.search(printed) is None or HINT.search(printed).group(1) != name:
                problems.append(f"{where}: NameError for {name!r} without the hint to run the cells above; "
                                f"it printed {printed!r}")
        else:
            problems.append(f"{where}: {error.ename}: {error.evalue}")
    assert not problems, f"{relpath}, run out of order:\n" + "\n".join(problems)


def test_the_hint_names_the_missing_name_and_needs_a_kernel():
    from asynclab import missing_names
    try:
        tl_seq  # noqa: F821 (the point: it does not exist)
    except NameError as raised:
        error = raised
    said = missing_names.sentence(error)
    assert HINT.search(said).group(1) == "tl_seq", said
    assert said.endswith("if you typed `tl_seq` yourself, check its spelling."), said
    assert "(Runtime > Run before)" in missing_names.sentence(error, "colab")
    assert "first, then this cell again" in missing_names.sentence(error, "ipython")
    missing_names.install()             # plain Python (no IPython shell): nothing to register, no error

