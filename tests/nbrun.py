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
import re
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


@functools.lru_cache(maxsize=None)
def execute(relpath):
    """Run ROOT/relpath top to bottom in a fresh kernel of this interpreter."""
    path = ROOT / relpath
    nb = nbformat.read(str(path), as_version=4)
    started = time.perf_counter()
    run_notebook(nb, relpath, path.parent)
    return Executed(path, nb, time.perf_counter() - started)


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


def all_notebooks():
    return [str(p.relative_to(ROOT)) for folder in ("notebooks", "solutions", "exercises")
            for p in sorted((ROOT / folder).glob("[0-9][0-9]-*.ipynb"))]


def python_version():
    return "%d.%d.%d" % sys.version_info[:3]
