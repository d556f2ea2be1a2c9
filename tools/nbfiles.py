"""Reading and writing notebooks the same way everywhere, so generated files compare byte for byte."""

import hashlib
import json
import shutil
import time
from pathlib import Path

try:
    import nbformat
except ImportError as err:                  # run with a Python other than .venv's: say how to run it
    from check_python import use_the_venv
    use_the_venv(err)

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("notebooks", "solutions", "exercises")


def read(path):
    return nbformat.read(str(path), as_version=4)


def dumps(nb):
    """The canonical text of a notebook: no outputs, no execution counts, sorted keys.

    Cell ids are kept: the translations (translations/) are keyed to them."""
    nb = nbformat.from_dict(json.loads(nbformat.writes(nb)))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")}
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def has_outputs(path):
    nb = read(path)
    return any(c.cell_type == "code" and (c.outputs or c.execution_count) for c in nb.cells)


def _sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def write_generated(target, text, manifest_path, key, keep_edits=True):
    """Write a generated notebook without losing a learner's work; True if the file changed.

    The manifest (JSON {key: hash of the text last written}) tells an edited file from an old one:
    a file that differs both from `text` and from what was last written was edited by hand, and
    is first copied aside as NAME.edited-<date>-<time>.ipynb."""
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    changed = True
    if target.exists():
        current = target.read_text(encoding="utf-8")
        if current == text:
            changed = False
        elif keep_edits and _sha(current) != manifest.get(key):
            stamp = time.strftime("%Y%m%d-%H%M%S")
            aside = target.with_name(f"{target.stem}.edited-{stamp}.ipynb")
            shutil.copy2(target, aside)
            print(f"kept your edited {target.name} as {aside.name}")
    if changed:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    manifest[key] = _sha(text)
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return changed
