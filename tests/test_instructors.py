"""INSTRUCTORS.md names real cells and exercises, and its plans add up.

An instructor finds a projected cell by its section heading and the line it begins with (cell
numbers shift when a lesson changes), so every «heading» and every quoted first line in the
lesson-by-lesson tables must exist in that lesson, the quoted cell under that heading.  Every
exercise it sets must exist, with a check.  Each plan's minutes must add up to its total, and use
the per-lesson room minutes the lesson sections give.  No notebook is executed here.
"""

import re
from pathlib import Path

import nbformat
import pytest

from asynclab.checks import core as checks_core
from learner_tree import LEARNER_PATHS

ROOT = Path(__file__).resolve().parent.parent
TEXT = (ROOT / "INSTRUCTORS.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")

HEADING_REF = re.compile(r"«([^»]+)»")
CELL_ROW = re.compile(r"^\| «([^»]+)» \| `([^`]+)` \|(.*)\| (\d+) \| (keep|cut) \|$")
ROOM = re.compile(r"\*\*Room minutes: (\d+) demos \+ (\d+) exercise = (\d+)\.\*\*")
SET = re.compile(r"Exercise to set: `(\w+)`")
FAST = re.compile(r"Fast finishers: `(\w+)`")
IF_LATE = re.compile(r'\*\*If late:\*\* the "cut" rows? \((\d+) min\)')


def _part(text, start, end="\n## "):
    """The text from the line `start` up to the next level-2 heading."""
    begin = text.index(start)
    stop = text.find(end, begin + len(start))
    return text[begin:stop if stop != -1 else len(text)]


def lesson_sections():
    """{"02": section text} for each `### NN · ...` under "## Lesson by lesson"."""
    part = _part(TEXT, "## Lesson by lesson")
    pieces = re.split(r"^### (\d\d) · .*$", part, flags=re.M)
    return dict(zip(pieces[1::2], pieces[2::2]))


SECTIONS = lesson_sections()
LESSONS = sorted(p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def notebook(folder, number):
    (path,) = (ROOT / folder).glob(f"{number}-*.ipynb")
    return nbformat.read(str(path), as_version=4)


def headings_and_cells(nb):
    """[(heading text, [first lines of the cells after it, up to the next cell with a heading])]."""
    found, current = [], None
    for cell in nb.cells:
        lines = cell.source.splitlines()
        heads = [line.lstrip("#").strip() for line in lines if cell.cell_type == "markdown"
                 and re.match(r"#+ ", line)]
        if heads:
            current = []
            found.extend((head, current) for head in heads)
            continue
        if current is not None:
            first = next((line for line in lines if line.strip()), "")
            current.append(first)
    return found


def room_minutes(number):
    match = ROOM.search(SECTIONS[number])
    assert match, f"INSTRUCTORS.md, lesson {number}: no line **Room minutes: N demos + N exercise = N.**"
    demos, exercise, total = map(int, match.groups())
    return demos, exercise, total


def test_every_lesson_has_a_section():
    assert sorted(SECTIONS) == LESSONS, \
        f"INSTRUCTORS.md's lesson sections {sorted(SECTIONS)} should be one per lesson: {LESSONS}"


@pytest.mark.parametrize("number", LESSONS)
def test_named_headings_and_cells_exist_in_the_lesson(number):
    sections = headings_and_cells(notebook("notebooks", number))
    known = {head for head, _ in sections}
    text = SECTIONS[number]
    for head in HEADING_REF.findall(text):
        head = " ".join(head.split())                 # a reference may wrap across lines
        assert head in known, f"INSTRUCTORS.md, lesson {number}: no heading «{head}» in the lesson"
    rows = [CELL_ROW.match(line) for line in text.splitlines() if line.startswith("| «")]
    assert rows and all(rows), f"INSTRUCTORS.md, lesson {number}: a projected-cell row is malformed"
    for row in rows:
        head, quote = row.group(1), row.group(2)
        under = [first for h, firsts in sections if h == head for first in firsts]
        assert any(first.startswith(quote) for first in under), \
            f"INSTRUCTORS.md, lesson {number}: no cell beginning `{quote}` under «{head}»"


def test_headings_are_named_only_in_lesson_sections():
    outside = TEXT.replace(_part(TEXT, "## Lesson by lesson"), "")
    assert not HEADING_REF.findall(outside), \
        "«headings» outside the lesson-by-lesson sections are not checked against a lesson"


@pytest.mark.parametrize("number", LESSONS)
def test_room_minutes_add_up_and_cut_rows_say_what_they_save(number):
    demos, exercise, total = room_minutes(number)
    assert demos + exercise == total, f"lesson {number}: {demos} + {exercise} is not {total}"
    rows = [CELL_ROW.match(line) for line in SECTIONS[number].splitlines() if line.startswith("| «")]
    assert sum(int(r.group(4)) for r in rows) == demos, \
        f"lesson {number}: the projected cells' minutes should add up to its {demos} demo minutes"
    cut = sum(int(r.group(4)) for r in rows if r.group(5) == "cut")
    late = IF_LATE.search(SECTIONS[number])
    if cut:
        assert late and int(late.group(1)) == cut, \
            f"lesson {number}: its **If late:** line should say the cut rows save {cut} min"


def exercises_set(number):
    text = SECTIONS[number]
    return SET.findall(text) + FAST.findall(text)


@pytest.mark.parametrize("number", [n for n in LESSONS if n != "00"])
def test_exercises_named_exist_with_a_check(number):
    names = exercises_set(number)
    assert SET.search(SECTIONS[number]), f"INSTRUCTORS.md, lesson {number}: no `Exercise to set:`"
    nb = notebook("exercises", number)
    sources = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    for name in names:
        assert any(re.search(rf"^(async def|def|class) {name}\b", s, re.M) for s in sources), \
            f"exercises/{number}: no exercise {name} to set"
        assert any(s.strip() == f"check({name})" for s in sources), f"exercises/{number}: no check({name}) cell"
        spec = checks_core._REGISTRY.get(name)
        assert spec and spec["cases"].__module__ == f"asynclab.checks.lesson{number}", \
            f"{name} has no check in asynclab/checks/lesson{number}.py"


def summary_table():
    """{"02": (demos, exercise, total, exercise name, self-study)} from the "Room minutes" table."""
    part = _part(TEXT, "## Room minutes")
    rows = {}
    for line in part.splitlines():
        match = re.match(r"^\| (\d\d) \| (\d+) \| (-|\d+) \| (\d+) \| (-|`\w+`) \| (\d+) \|$", line)
        if match:
            n, demos, exercise, total, name, alone = match.groups()
            rows[n] = (int(demos), 0 if exercise == "-" else int(exercise), int(total),
                       name.strip("`") if name != "-" else None, int(alone))
    return rows


def test_room_minutes_table_matches_the_lesson_sections_and_readme():
    table = summary_table()
    assert sorted(table) == LESSONS
    readme_minutes = dict(re.findall(r"^\| \[(\d\d) [^]]*\]\([^)]*\) \| .* \| (\d+) \|$", README, re.M))
    for number, (demos, exercise, total, name, alone) in table.items():
        assert (demos, exercise, total) == room_minutes(number), \
            f"lesson {number}: the Room minutes table and its section disagree"
        set_here = SET.search(SECTIONS[number])
        assert name == (set_here.group(1) if set_here else None), f"lesson {number}: exercise differs"
        assert readme_minutes.get(number) == str(alone), \
            f"lesson {number}: self-study minutes should be the README's ({readme_minutes.get(number)})"


def plan_rows(name):
    """[(start minute, minutes, part)] and the stated total of the plan marked plan:name."""
    block = TEXT.split(f"<!-- plan:{name} -->", 1)[1].split("<!-- /plan -->", 1)[0]
    rows, total = [], None
    for line in block.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == "":
            total = int(cells[1].strip("*"))
            continue
        hours, minutes = map(int, cells[0].split(":"))
        rows.append((hours * 60 + minutes, int(cells[1]), cells[2]))
    return rows, total


@pytest.mark.parametrize("name, expected", [("workshop", 180), ("onboarding", 90)])
def test_plan_adds_up_and_uses_the_lessons_room_minutes(name, expected):
    rows, total = plan_rows(name)
    assert total == expected, f"the {name} plan states {total} minutes, not {expected}"
    assert sum(minutes for _, minutes, _ in rows) == total, f"the {name} plan's minutes do not add up"
    clock = 0
    for start, minutes, part in rows:
        assert start == clock, f"{name} plan: '{part}' starts at {start} min, the rows before end at {clock}"
        clock += minutes
        lesson = re.match(r"lesson (\d\d), demos( \+ exercise `(\w+)`)?$", part)
        if lesson:
            demos, _, full = room_minutes(lesson.group(1))
            if lesson.group(2):
                assert minutes == full, f"{name} plan: {part} takes {full} room minutes, not {minutes}"
                assert lesson.group(3) == SET.search(SECTIONS[lesson.group(1)]).group(1)
            else:
                assert minutes == demos, f"{name} plan: {part} takes {demos} room minutes, not {minutes}"
        else:
            assert part in ("set-up", "break", "wrap-up"), f"{name} plan: unknown part '{part}'"
    if name == "workshop":
        parts = [part for _, _, part in rows]
        assert parts[0] == "set-up" and rows[0][1] == 15, "the workshop starts with 15 minutes of set-up"
        assert parts.count("break") == 2, "the workshop has two breaks"


def test_readmes_onboarding_track_matches_the_plan():
    paragraph = README[README.index("**Onboarding track (90 minutes)**"):].split("\n\n", 1)[0]
    said = {n: int(m) for n, m in re.findall(r"\b(\d\d) \((\d+)(?: min)?:", paragraph)}
    planned = {}
    for _, minutes, part in plan_rows("onboarding")[0]:
        lesson = re.match(r"lesson (\d\d)", part)
        if lesson:
            planned[lesson.group(1)] = minutes
    assert said == planned, f"README's onboarding track says {said}; INSTRUCTORS.md plans {planned}"


def test_learner_facing_files_never_mention_the_developers_guide():
    for name in (*LEARNER_PATHS, "asynclab"):          # asynclab: its messages reach the learner
        path = ROOT / name
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*")
                                                      if p.suffix in (".md", ".ipynb", ".txt", ".py", ""))
        for file in files:
            if file.is_file():
                assert "GUIDE" not in file.read_text(encoding="utf-8", errors="replace"), \
                    f"{file.relative_to(ROOT)} mentions the developers' guide"
