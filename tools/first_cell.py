"""Write the part of each lesson's first code cell that gets asynclab where only the notebook was opened.

A lesson opened alone (Colab's "Open in Colab", a downloaded .ipynb) has no asynclab to import.
Its first code cell then installs asynclab from the repository on Colab, and elsewhere says in one
line what to run.  That cell cannot ask asynclab for the repository's URL, so it holds a copy of
README.md's `[repository]` URL (the one place it is written, see tools/public_links.py); this tool
writes that copy.

    python tools/first_cell.py           # say whether every lesson's first cell is up to date
    python tools/first_cell.py --write   # rewrite them (only the first code cell of each lesson)
"""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbfiles import ROOT, dumps, read  # noqa: E402
from public_links import repository  # noqa: E402

GET_ASYNCLAB = '''\
try:
    import asynclab
except ModuleNotFoundError:  # only this notebook was opened (on Colab, or downloaded): get the helpers
    SOURCE = "asynclab @ git+{url}"
    if "google.colab" not in sys.modules:
        raise ModuleNotFoundError(f"asynclab is not installed here; run  %pip install '{{SOURCE}}'  "
                                  "in a cell, then run this cell again") from None
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", SOURCE], check=True)
    import asynclab
'''
NEEDS = ("import subprocess", "import sys")
BLOCK = re.compile(r"^try:\n    import asynclab\n.*?\n    import asynclab\n", re.S | re.M)


def first_code_cell(nb):
    return next(cell for cell in nb.cells if cell.cell_type == "code")


def updated(source, url):
    """`source` (a first code cell) with the block above in place of `import asynclab`."""
    block = GET_ASYNCLAB.format(url=url)
    if BLOCK.search(source):
        return BLOCK.sub(lambda _: block, source)
    lines = source.split("\n")
    # The standard-library imports come first, up to the first blank line; add what the block uses.
    end = lines.index("")
    plain = [line for line in lines[:end] if line.startswith("import ")]
    froms = [line for line in lines[:end] if not line.startswith("import ")]
    stdlib = sorted(set(plain) | set(NEEDS)) + froms
    rest = "\n".join(lines[end:])
    assert "\nimport asynclab\n" in rest, "the first code cell should import asynclab"
    return "\n".join(stdlib) + "\n" + rest.replace("\nimport asynclab\n", "\n" + block, 1)


def lessons():
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def main(argv):
    url = repository()[0]
    stale = []
    for path in lessons():
        nb = read(path)
        cell = first_code_cell(nb)
        new = updated(cell.source, url)
        if new != cell.source:
            stale.append(path.name)
            if "--write" in argv:
                cell.source = new
                path.write_text(dumps(nb), encoding="utf-8")
    if stale and "--write" not in argv:
        print("first cells not up to date (run python tools/first_cell.py --write):", ", ".join(stale))
        return 1
    print(("rewrote: " + ", ".join(stale)) if stale else "every lesson's first cell is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
