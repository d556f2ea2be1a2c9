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
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbfiles import ROOT, dumps, read, write_generated  # noqa: E402

BEGIN = re.compile(r"^(\s*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")
STUB = 'raise NotImplementedError("exercise not solved yet")'
MANIFEST = ".generated.json"   # what this tool wrote last time (see nbfiles.write_generated)


class SourceError(Exception):
    pass


def stub_source(source, where, comment="# Your code here: replace the next line.", stub=STUB):
    """Replace each solution region in a cell's source with a stub at the same indentation."""
    out, inside = [], None
    for number, line in enumerate(source.splitlines(), 1):
        if inside is None:
            m = BEGIN.match(line)
            if m:
                inside = m.group(1)
                out.append(f"{inside}{comment}")
                out.append(f"{inside}{stub}")
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


def exercise_notebook(nb, name, stub_comment="# Your code here: replace the next line.",
                      solution_mark="(this is the solution notebook)", stub=STUB):
    """The exercise made from solution notebook `nb` (changed in place): stubs for the solutions."""
    regions = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            regions += cell.source.count("### BEGIN SOLUTION")
            cell.source = stub_source(cell.source, f"{name}, cell {index}", stub_comment, stub)
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace(solution_mark, "")
    if not regions:
        raise SourceError(f"{name} has no ### BEGIN SOLUTION region")
    return nb


def exercise_text(solution_path):
    return dumps(exercise_notebook(read(solution_path), solution_path.name))


def generate(out_dir, solutions_dir=ROOT / "solutions", keep_edits=True):
    written = []
    for solution in sorted(solutions_dir.glob("[0-9][0-9]-*.ipynb")):
        target = out_dir / solution.name
        if write_generated(target, exercise_text(solution), out_dir / MANIFEST, solution.name,
                           keep_edits):
            written.append(target)
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
