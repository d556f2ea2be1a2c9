"""The zh-CN notebooks run clean in a fresh kernel, and what a learner reads from them is Chinese.

tools/run_tests.sh runs this file, with ASYNCLAB_EDITION=zh-CN, together with test_notebooks.py
and every tests/test_lessonNN.py: in that run nbrun.execute() executes the zh-CN edition of each
notebook and hands the claim tests its outputs turned back into English, so each claim the
English lessons are tested for is tested on the Chinese ones too.  This file checks what that
turning-back would hide: that the outputs were Chinese in the first place.
"""

import re

import pytest

from nbrun import ROOT, execute

pytestmark = pytest.mark.zh

CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = sorted(str(p.relative_to(ROOT)) for folder in ("notebooks", "solutions", "exercises")
            for p in (ROOT / "zh-CN" / folder).glob("[0-9][0-9]-*.ipynb"))


def _check_cells(run):
    return [i for i, c in enumerate(run.nb.cells)
            if c.cell_type == "code" and re.search(r"^\s*check\(", c.source, re.M)]


def test_there_is_a_zh_notebook_for_every_english_one():
    english = sorted(str(p.relative_to(ROOT)) for folder in ("notebooks", "solutions", "exercises")
                     for p in (ROOT / folder).glob("[0-9][0-9]-*.ipynb"))
    assert ZH == [f"zh-CN/{p}" for p in english]


@pytest.mark.parametrize("relpath", ZH)
def test_runs_clean_and_speaks_chinese(relpath):
    run = execute(relpath)                  # raises CellExecutionError on any error
    assert run.seconds < 90, f"{relpath} took {run.seconds:.0f} s; lessons should take seconds"
    first = next(i for i, c in enumerate(run.nb.cells) if c.cell_type == "code")
    if "/notebooks/" in relpath:
        assert CJK.search(run.cell_text(first)), \
            f"{relpath}: the first cell's asynclab.versions() line is not in Chinese"
    for index in _check_cells(run):
        said = run.cell_text(index)
        assert CJK.search(said), f"{relpath}, cell {index}: the check spoke English:\n{said}"
        assert "not solved yet" not in said and "cases passed" not in said, said
        if "/exercises/" in relpath:
            assert "尚未" in said or "还没" in said, f"{relpath}, cell {index}: {said}"
        if "/solutions/" in relpath:
            assert "✔" in said and "✘" not in said, f"{relpath}, cell {index}: {said}"
