"""Write the zh-CN edition (zh-CN/notebooks, zh-CN/solutions, zh-CN/exercises) from the English
notebooks and the translation catalogues in translations/zh-CN/.

The English notebooks are the one source of code.  Each has one catalogue,
translations/zh-CN/<folder>/<name>.json, with an entry per cell, keyed by the cell's id:

    markdown cell:  {"id", "type": "markdown", "sha", "en": [lines], "zh": [lines]}
    code cell:      {"id", "type": "code", "sha", "en": [lines], "replace": [[English, 中文], ...]}

"en" is the English text the translation was made from and "sha" its hash.  A code cell keeps its
code: only the pieces named in "replace" (comments, explaining strings) are replaced, each of which
must occur in the cell; "replace": [] says "reviewed, nothing to translate".  When the English
cell changes, its hash no longer matches: the entry is *stale*, and the zh-CN notebook shows the
English cell under a note saying so, never an old translation silently.  A cell with no entry is
*missing* and shown the same way.  zh-CN exercises are made from the zh-CN solutions as
tools/make_exercises.py makes exercises/ from solutions/.

    python tools/translations.py            # write zh-CN/ (a learner's edited notebook is kept aside)
    python tools/translations.py --status   # list stale and missing cells, with what changed
    python tools/translations.py --template # add an empty entry for every missing cell
    python tools/translations.py --accept NOTEBOOK ID [ID ...]   # after updating a stale entry:
                                            # record the English it now translates
"""

import argparse
import difflib
import hashlib
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_exercises import SourceError, exercise_notebook  # noqa: E402
from nbfiles import ROOT, dumps, read, write_generated  # noqa: E402

LANGUAGE = "zh-CN"
CATALOGUES = ROOT / "translations" / LANGUAGE
OUT = ROOT / LANGUAGE
SOURCES = ("notebooks", "solutions")      # exercises are made from the translated solutions

STALE_NOTE = ("> **译文待更新：** 这个单元格的英文原文改过了，译文还没有跟上。"
              "下面先给出英文原文。\n\n")
MISSING_NOTE = "> **尚未翻译：** 下面是这个单元格的英文原文。\n\n"
STALE_CODE = "# （译文待更新：这个单元格的英文原文改过了，下面保留英文原文）\n"
MISSING_CODE = "# （尚未翻译：下面保留英文原文）\n"
USE_LANGUAGE = 'asynclab.use_language("zh-CN")  # asynclab 的消息、检查结果和图表都用中文'
STUB_COMMENT = "# 在这里写你的代码：替换下一行。"
STUB = 'raise NotImplementedError("练习还没有完成")'     # asynclab.checks.core.STUB_MESSAGES knows it
SOLUTION_MARK = "（这是参考答案笔记本）"


class CatalogueError(Exception):
    pass


def sha(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def lines(text):
    return text.splitlines(keepends=True)


def catalogue_path(source):
    """translations/zh-CN/notebooks/01-....json for notebooks/01-....ipynb."""
    return CATALOGUES / source.parent.name / (source.stem + ".json")


def load_catalogue(source):
    path = catalogue_path(source)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise CatalogueError(f"{path.relative_to(ROOT)} is not valid JSON: {err}") from None
    return {entry["id"]: entry for entry in data["cells"]}


def save_catalogue(source, entries):
    path = catalogue_path(source)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"source": str(source.relative_to(ROOT)), "cells": entries}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def state(cell, entry):
    """'ok', 'stale' or 'missing' for one English cell and its catalogue entry (or None)."""
    if entry is None or entry.get("zh" if cell.cell_type == "markdown" else "replace") is None:
        return "missing"
    if entry["sha"] != sha(cell.source) or entry["type"] != cell.cell_type:
        return "stale"
    return "ok"


def translated_code(source, pairs, where):
    for english, chinese in pairs:
        if english not in source:
            raise CatalogueError(f"{where}: the piece to replace is not in the cell: {english!r}")
        source = source.replace(english, chinese)
    return source


def add_use_language(nb):
    """The first code cell that uses asynclab switches it to Chinese (before it prints anything)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "asynclab" in cell.source:
            found = re.search(r"^asynclab\.versions\(\);?$", cell.source, re.M)
            has_import = re.search(r"^\s*import asynclab\s*$", cell.source, re.M)
            line = USE_LANGUAGE if has_import else "import asynclab\n" + USE_LANGUAGE
            if found:
                cell.source = cell.source[:found.start()] + line + "\n" + cell.source[found.start():]
            else:
                cell.source = cell.source.rstrip("\n") + "\n" + line
            return
    raise CatalogueError("no code cell uses asynclab, so none can switch its language")


def translate(source):
    """The zh-CN notebook for the English notebook `source`, and [(index, cell id, state)]."""
    nb = read(source)
    entries = load_catalogue(source)
    report = []
    for index, cell in enumerate(nb.cells):
        entry = entries.get(cell.get("id"))
        status = state(cell, entry)
        report.append((index, cell.get("id"), status))
        where = f"{catalogue_path(source).relative_to(ROOT)}, cell {cell.get('id')}"
        if cell.cell_type == "markdown":
            if status == "ok":
                cell.source = "".join(entry["zh"])
            else:
                cell.source = (STALE_NOTE if status == "stale" else MISSING_NOTE) + cell.source
        elif cell.cell_type == "code":
            if status == "ok":
                cell.source = translated_code(cell.source, entry["replace"], where)
            else:
                cell.source = (STALE_CODE if status == "stale" else MISSING_CODE) + cell.source
    add_use_language(nb)
    return nb, report


def edition():
    """{path under zh-CN/: notebook text} for the whole edition, and the report of every cell."""
    texts, reports = {}, {}
    for folder in SOURCES:
        for source in sorted((ROOT / folder).glob("[0-9][0-9]-*.ipynb")):
            nb, report = translate(source)
            reports[f"{folder}/{source.name}"] = report
            texts[f"{folder}/{source.name}"] = dumps(nb)
            if folder == "solutions":
                exercise = exercise_notebook(nb, source.name, stub_comment=STUB_COMMENT,
                                             solution_mark=SOLUTION_MARK, stub=STUB)
                texts[f"exercises/{source.name}"] = dumps(exercise)
    return texts, reports


def exercise_text(solution):
    """The zh-CN exercise made from the English solution notebook `solution`."""
    nb, _ = translate(solution)
    return dumps(exercise_notebook(nb, solution.name, stub_comment=STUB_COMMENT,
                                   solution_mark=SOLUTION_MARK, stub=STUB))


def problems(reports):
    """["notebooks/01-....ipynb cell 7 (id ...): stale", ...] for every cell not translated."""
    return [f"{name} cell {index} (id {cid}): {status}"
            for name, report in reports.items() for index, cid, status in report if status != "ok"]


def write(out=OUT):
    texts, reports = edition()
    written = []
    for name, text in texts.items():
        if write_generated(out / name, text, out / ".generated.json", name):
            written.append(name)
    return written, reports


def status():
    """Print every stale and missing cell; for a stale one, how its English changed."""
    count = 0
    for folder in SOURCES:
        for source in sorted((ROOT / folder).glob("[0-9][0-9]-*.ipynb")):
            entries = load_catalogue(source)
            for index, cell in enumerate(read(source).cells):
                entry = entries.get(cell.get("id"))
                what = state(cell, entry)
                if what == "ok":
                    continue
                count += 1
                print(f"{folder}/{source.name} cell {index} (id {cell.get('id')}, {cell.cell_type}): {what}")
                if what == "stale" and entry.get("en") is not None:
                    diff = difflib.unified_diff(entry["en"], lines(cell.source), "translated from",
                                                "English now", lineterm="")
                    print("".join(f"    {line.rstrip()}\n" for line in diff))
    print(f"{count} cells stale or missing" if count else "every cell is translated and current")
    return count


def template():
    """Add an empty entry (zh/replace null) for every cell without one, in notebook order."""
    for folder in SOURCES:
        for source in sorted((ROOT / folder).glob("[0-9][0-9]-*.ipynb")):
            entries = load_catalogue(source)
            ordered = []
            for cell in read(source).cells:
                entry = entries.pop(cell.get("id"), None)
                if entry is None:
                    entry = {"id": cell.get("id"), "type": cell.cell_type, "sha": sha(cell.source),
                             "en": lines(cell.source)}
                    entry["zh" if cell.cell_type == "markdown" else "replace"] = None
                ordered.append(entry)
            ordered.extend(entries.values())        # entries of deleted cells: kept, to reuse
            save_catalogue(source, ordered)


def accept(name, ids):
    source = ROOT / name
    entries = load_catalogue(source)
    cells = {cell.get("id"): cell for cell in read(source).cells}
    for cid in ids:
        if cid not in entries or cid not in cells:
            raise CatalogueError(f"{name} has no cell {cid} with a catalogue entry")
        entries[cid].update(sha=sha(cells[cid].source), en=lines(cells[cid].source),
                            type=cells[cid].cell_type)
    order = [c.get("id") for c in read(source).cells]
    save_catalogue(source, sorted(entries.values(),
                                  key=lambda e: order.index(e["id"]) if e["id"] in order else 1e9))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--status", action="store_true")
    parser.add_argument("--template", action="store_true")
    parser.add_argument("--accept", nargs="+", metavar=("NOTEBOOK", "ID"))
    args = parser.parse_args(argv)
    try:
        if args.status:
            sys.exit(1 if status() else 0)
        if args.template:
            template()
            return
        if args.accept:
            accept(args.accept[0], args.accept[1:])
            return
        written, reports = write()
    except (CatalogueError, SourceError) as err:
        sys.exit(f"translations: {err}")
    for name in written:
        print(f"wrote {LANGUAGE}/{name}")
    if not written:
        print(f"{LANGUAGE}/ is up to date")
    left = problems(reports)
    if left:
        print(f"{len(left)} cells are stale or missing (shown in English with a note); "
              "`python tools/translations.py --status` lists them")


if __name__ == "__main__":
    main()
