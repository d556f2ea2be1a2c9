"""Write exercises/NN-*.ipynb from solutions/NN-*.ipynb: the solutions are the one source.

In every code cell of a solution, the lines from `### BEGIN SOLUTION` to `### END SOLUTION`
become a stub that raises NotImplementedError (the checks report "not solved yet").

    python tools/make_exercises.py            # write exercises/
    python tools/make_exercises.py --out DIR  # write somewhere else (the tests compare)

A learner's work is never lost: if an exercise notebook differs both from what this tool
would write and from what it wrote last time (recorded in exercises/.generated.json),
it was edited by hand, and is first copied aside as NN-topic.edited-<time>.ipynb.
"""

import argparse
import hashlib
import json
import re
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbfiles import ROOT, dumps, read  # noqa: E402

BEGIN = re.compile(r"^(\s*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")
STUB = 'raise NotImplementedError("exercise not solved yet")'
MANIFEST = ".generated.json"


class SourceError(Exception):
    pass


def stub_source(source, where):
    """Replace each solution region in a cell's source with a stub at the same indentation."""
    out, inside = [], None
    for number, line in enumerate(source.splitlines(), 1):
        if inside is None:
            m = BEGIN.match(line)
            if m:
                inside = m.group(1)
                out.append(f"{inside}# Your code here: replace the next line.")
                out.append(f"{inside}{STUB}")
            elif END.match(line):
                raise SourceError(f"{where}, line {number}: END SOLUTION without BEGIN")
            else:
                out.append(line)
        elif END.match(line):
            inside = None
        elif BEGIN.match(line):
            raise SourceError(f"{where}, line {number}: BEGIN SOLUTION inside another region")
    if inside is not None:
        raise SourceError(f"{where}: BEGIN SOLUTION is never closed by END SOLUTION")
    return "\n".join(out)


def exercise_text(solution_path):
    nb = read(solution_path)
    regions = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            regions += cell.source.count("### BEGIN SOLUTION")
            cell.source = stub_source(cell.source, f"{solution_path.name}, cell {index}")
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace("(this is the solution notebook)", "")
    if not regions:
        raise SourceError(f"{solution_path.name} has no ### BEGIN SOLUTION region")
    return dumps(nb)


def _sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def generate(out_dir, solutions_dir=ROOT / "solutions", keep_edits=True):
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    written = []
    for solution in sorted(solutions_dir.glob("[0-9][0-9]-*.ipynb")):
        text = exercise_text(solution)
        target = out_dir / solution.name
        if target.exists():
            current = target.read_text(encoding="utf-8")
            if current == text:
                manifest[solution.name] = _sha(text)
                continue
            if keep_edits and _sha(current) != manifest.get(solution.name):
                stamp = time.strftime("%Y%m%d-%H%M%S")
                aside = target.with_name(f"{target.stem}.edited-{stamp}.ipynb")
                shutil.copy2(target, aside)
                print(f"kept your edited {target.name} as {aside.name}")
        target.write_text(text, encoding="utf-8")
        manifest[solution.name] = _sha(text)
        written.append(target)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "exercises")
    args = parser.parse_args(argv)
    try:
        written = generate(args.out)
    except SourceError as err:
        sys.exit(f"make_exercises: {err}")
    for path in written:
        print(f"wrote {path.relative_to(args.out.parent) if args.out.parent in path.parents else path}")
    if not written:
        print("exercises are up to date")


if __name__ == "__main__":
    main()
