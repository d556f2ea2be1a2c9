"""A sentence under a NameError: what a learner who ran a lesson's cells out of order needs.

Run out of order (a cell opened half-way down, a kernel restarted), a cell fails with
`NameError: name 'tl' is not defined`, which does not say that an earlier cell makes `tl`.
After any cell that ends in a NameError, the lesson's kernel prints one more line saying which
name is missing and how to get it.  It is an IPython event callback (`post_run_cell`), so it
composes with other callbacks and leaves the traceback itself untouched.
"""

from __future__ import annotations

from . import environment
from .language import tr


def _run_above(where):
    """Where the front end `where` keeps "run every cell above this one" (its menus' own words), or None."""
    return {
        "jupyter": tr("Run > Run All Above Selected Cell"),
        "colab": tr("Runtime > Run before"),
        "vscode": tr("the cell's ... menu > Execute Above Cells"),
    }.get(where)


def sentence(error: NameError, where: str = "jupyter") -> str:
    """What to do about `error`, in words a learner understands; `where` is environment.detect()."""
    name = getattr(error, "name", None)
    menu = _run_above(where)
    if name and menu:
        return tr("Hint: `{name}` is not defined in this kernel yet. If an earlier cell of this notebook "
                  "makes it, run the cells above this one first ({menu}), then this cell again; if you "
                  "typed `{name}` yourself, check its spelling.", name=name, menu=menu)
    if name:
        return tr("Hint: `{name}` is not defined in this kernel yet. If an earlier cell of this notebook "
                  "makes it, run the cells above this one first, then this cell again; if you typed "
                  "`{name}` yourself, check its spelling.", name=name)
    if menu:
        return tr("Hint: that name is not defined in this kernel yet. If an earlier cell of this "
                  "notebook makes it, run the cells above this one first ({menu}), then this cell "
                  "again; if you typed that name yourself, check its spelling.", menu=menu)
    return tr("Hint: that name is not defined in this kernel yet. If an earlier cell of this notebook "
              "makes it, run the cells above this one first, then this cell again; if you typed that "
              "name yourself, check its spelling.")


def _after_cell(result):
    if isinstance(getattr(result, "error_in_exec", None), NameError):
        print(sentence(result.error_in_exec, environment.detect()))


def install():
    """Print the hint after every cell that ends in a NameError (once per kernel; not in plain Python)."""
    shell = environment._shell()
    if shell is None or getattr(shell, "_asynclab_name_hint", False):
        return
    shell.events.register("post_run_cell", _after_cell)
    shell._asynclab_name_hint = True
