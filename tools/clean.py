"""Strip outputs from the committed notebooks (notebooks/ and solutions/) before a commit.

    python tools/clean.py          # list notebooks that carry outputs or are not canonical
    python tools/clean.py --write  # rewrite them without outputs (for developers, not learners:
                                   # it drops the outputs you see in your copy)
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbfiles import ROOT, dumps, read  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    dirty = []
    for folder in ("notebooks", "solutions"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            text = dumps(read(path))
            if path.read_text(encoding="utf-8") != text:
                dirty.append(path)
                if args.write:
                    path.write_text(text, encoding="utf-8")
    verb = "cleaned" if args.write else "needs cleaning"
    for path in dirty:
        print(f"{verb}: {path.relative_to(ROOT)}")
    if dirty and not args.write:
        sys.exit(1)


if __name__ == "__main__":
    main()
