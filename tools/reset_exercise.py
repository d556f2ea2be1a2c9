"""Give a learner a fresh copy of one exercise, keeping their edited one beside it.

    python tools/reset_exercise.py 03                   (or: make reset-exercise N=03)
    python tools/reset_exercise.py 03 --edition zh-CN   (or: make reset-exercise N=03 LANG=zh-CN)

The learner's file is copied to NN-topic.edited-<date>-<time>.ipynb first; nothing is
ever overwritten without that copy.  If the exercise is already pristine, nothing changes.
"""

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_exercises import SourceError, exercise_text  # noqa: E402
from nbfiles import ROOT  # noqa: E402
import translations  # noqa: E402


def reset(number, exercises=ROOT / "exercises", solutions=ROOT / "solutions", edition="en"):
    """Reset exercise `number`; returns (fresh path, path of the kept copy or None)."""
    if edition != "en":                 # the zh-CN exercise is made from the translated solution
        exercises = ROOT / edition / "exercises"
    number = str(number).zfill(2)
    sources = sorted(solutions.glob(f"{number}-*.ipynb"))
    if not sources:
        known = ", ".join(p.name[:2] for p in sorted(solutions.glob("[0-9][0-9]-*.ipynb")))
        raise SystemExit(f"There is no exercise {number}. The exercises are: {known}.")
    source = sources[0]
    target = exercises / source.name
    pristine = exercise_text(source) if edition == "en" else translations.exercise_text(source)
    kept = None
    if target.exists():
        if target.read_text(encoding="utf-8") == pristine:
            return target, None
        kept = target.with_name(f"{target.stem}.edited-{time.strftime('%Y%m%d-%H%M%S')}.ipynb")
        while kept.exists():                 # two resets in one second: never overwrite a copy
            kept = kept.with_name(kept.stem + "x.ipynb")
        shutil.copy2(target, kept)
    target.write_text(pristine, encoding="utf-8")
    return target, kept


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("number", help="the exercise's number, e.g. 03")
    parser.add_argument("--edition", choices=("en", translations.LANGUAGE), default="en")
    args = parser.parse_args(argv)
    try:
        target, kept = reset(args.number, edition=args.edition)
    except (SourceError, translations.CatalogueError) as err:
        sys.exit(f"reset_exercise: {err}")
    name = target.relative_to(ROOT)
    if kept is None:
        print(f"{name} is already the fresh copy; nothing changed.")
    else:
        print(f"Your edited exercise is kept as {kept.relative_to(ROOT)}.")
        print(f"{name} is a fresh copy. (If it is open in JupyterLab, close it without saving, then reopen it.)")


if __name__ == "__main__":
    main()
