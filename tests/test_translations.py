"""The zh-CN edition: generated from the English notebooks and the catalogues, complete and current.

- zh-CN/ is what `make translations` writes, byte for byte, and no cell is stale or missing;
- every text asynclab shows (its tr() calls, the figure labels, explore.js's tr() calls) has a
  Chinese translation with the same {fields}, and the catalogues hold nothing unused;
- a Chinese figure has every glyph it draws (CI installs fonts-noto-cjk), and without a CJK font
  the figures keep English labels and say so once;
- a check's verdict and hint come out in Chinese.
The zh-CN notebooks are executed in tests/test_zh_notebooks.py.
"""

import ast
import io
import json
import os
import re
import string
import sys
import warnings

import pytest

import asynclab
from asynclab import fonts, language
from nbrun import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import translations  # noqa: E402

CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = language.catalogue.__wrapped__("zh-CN")      # read afresh, not the cached copy


@pytest.fixture
def chinese():
    before = language.current()
    language.use_language("zh-CN")
    yield
    language.use_language(before)


# -- the notebooks -------------------------------------------------------------------------------

def test_make_translations_writes_exactly_what_is_committed():
    texts, _ = translations.edition()
    committed = sorted(str(p.relative_to(ROOT / "zh-CN")) for folder in ("notebooks", "solutions", "exercises")
                       for p in (ROOT / "zh-CN" / folder).glob("[0-9][0-9]-*.ipynb"))
    assert committed == sorted(texts), "zh-CN/ holds other notebooks than `make translations` writes"
    for name, text in texts.items():
        assert (ROOT / "zh-CN" / name).read_text(encoding="utf-8") == text, \
            f"zh-CN/{name} differs from what `make translations` writes: run it and commit"


def test_no_cell_is_stale_or_missing():
    _, reports = translations.edition()
    left = translations.problems(reports)
    cells = sum(len(r) for r in reports.values())
    assert not left, (f"{len(left)} of {cells} cells are stale or missing "
                      f"(`python tools/translations.py --status` shows how each changed):\n"
                      + "\n".join(left))


def test_a_changed_english_cell_shows_as_stale_not_as_an_old_translation(tmp_path, monkeypatch):
    """A catalogue made for a notebook, then the English changes: that cell (only) is stale."""
    source = tmp_path / "notebooks" / "01-probe.ipynb"
    source.parent.mkdir()
    nb = translations.read(ROOT / "notebooks" / "01-coroutines-and-tasks.ipynb")
    source.write_text(translations.dumps(nb), encoding="utf-8")
    monkeypatch.setattr(translations, "CATALOGUES", tmp_path / "translations")
    monkeypatch.setattr(translations, "ROOT", tmp_path)
    translations.template()                                   # an entry per cell, untranslated
    path = translations.catalogue_path(source)
    catalogue = json.loads(path.read_text(encoding="utf-8"))
    for entry in catalogue["cells"]:
        entry["zh" if entry["type"] == "markdown" else "replace"] = ["译文"] if entry["type"] == "markdown" else []
    path.write_text(json.dumps(catalogue, ensure_ascii=False), encoding="utf-8")
    zh, report = translations.translate(source)
    assert {status for _, _, status in report} == {"ok"}
    index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown")
    assert zh.cells[index].source == "译文"

    nb.cells[index].source += "\nOne more English sentence."
    source.write_text(translations.dumps(nb), encoding="utf-8")
    zh, report = translations.translate(source)
    assert [r for r in report if r[2] != "ok"] == [(index, nb.cells[index].id, "stale")]
    assert zh.cells[index].source == translations.STALE_NOTE + nb.cells[index].source


def test_a_piece_to_replace_that_is_gone_is_an_error_not_a_silent_skip():
    with pytest.raises(translations.CatalogueError, match="not in the cell"):
        translations.translated_code("print('hello')\n", [["goodbye", "再见"]], "probe")


def test_every_zh_notebook_switches_asynclab_to_chinese():
    texts, _ = translations.edition()
    for name, text in texts.items():
        sources = [c["source"] for c in json.loads(text)["cells"] if c["cell_type"] == "code"]
        assert any(translations.USE_LANGUAGE in "".join(s) for s in sources), \
            f"zh-CN/{name} never calls asynclab.use_language"


def test_zh_solutions_mark_themselves_and_their_exercises_do_not():
    for path in sorted((ROOT / "zh-CN" / "solutions").glob("[0-9][0-9]-*.ipynb")):
        title = translations.read(path).cells[0].source.splitlines()[0]
        english = translations.read(ROOT / "solutions" / path.name).cells[0].source.splitlines()[0]
        assert title.endswith(translations.SOLUTION_MARK) == english.endswith(
            "(this is the solution notebook)"), f"zh-CN/solutions/{path.name}: {title}"
        exercise = translations.read(ROOT / "zh-CN" / "exercises" / path.name)
        assert translations.SOLUTION_MARK not in exercise.cells[0].source


# -- asynclab's own texts ------------------------------------------------------------------------

# The functions whose first argument is a text to translate.
TRANSLATING = {"tr", "_label", "label"}


def _texts_in_python():
    """{English text: [(file, line, fields given)]} for every tr()-like call with a literal text."""
    found = {}
    for path in sorted((ROOT / "asynclab").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0]
            if name in TRANSLATING and isinstance(first, ast.Constant) and isinstance(first.value, str):
                fields = {k.arg for k in node.keywords if k.arg}
                found.setdefault(first.value, []).append((path.name, node.lineno, fields))
    return found


def _texts_in_javascript():
    js = (ROOT / "asynclab" / "explore.js").read_text(encoding="utf-8")
    return set(re.findall(r'\btr\("((?:[^"\\]|\\.)*)"', js))


def _fields(template):
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template)
            if name}


def test_every_text_asynclab_shows_has_a_chinese_translation():
    python = _texts_in_python()
    wanted = set(python) | _texts_in_javascript()
    missing = sorted(wanted - set(ZH))
    assert not missing, f"{len(missing)} texts have no zh-CN translation in asynclab/locale/zh-CN:\n" + \
        "\n".join(f"  {t!r} ({python.get(t, [('explore.js', '', '')])[0][:2]})" for t in missing)


def test_translations_have_the_same_fields_as_the_english():
    python = _texts_in_python()
    wrong = []
    for english, uses in python.items():
        if english not in ZH:
            continue
        if any(given for _, _, given in uses):          # filled with str.format: fields must match
            if _fields(ZH[english]) != _fields(english):
                wrong.append(f"{english!r}: {_fields(english)} vs {_fields(ZH[english])}")
            for file, line, given in uses:
                if given and _fields(english) - given:
                    wrong.append(f"{file}:{line} does not fill {_fields(english) - given}")
        elif ZH[english].count("{") != english.count("{"):
            wrong.append(f"{english!r}: shown as written, but the braces differ")
    for english in _texts_in_javascript():
        if english in ZH and _fields(ZH[english]) != _fields(english):
            wrong.append(f"explore.js {english!r}: fields differ")
    assert not wrong, "\n".join(wrong)


def test_the_catalogues_hold_nothing_unused_and_say_each_thing_once():
    used = set(_texts_in_python()) | _texts_in_javascript() | set(sys.modules["asynclab.explore"]._OUTCOMES)
    # Texts kept as data and translated where shown (hints, wait kinds; a playground's choices,
    # which the lessons' code gives) are found as literals in asynclab or in the notebooks.
    codes = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "asynclab").rglob("*.py"))]
    for folder in ("notebooks", "solutions"):
        for path in sorted((ROOT / folder).glob("[0-9][0-9]-*.ipynb")):
            codes += [c.source for c in translations.read(path).cells if c.cell_type == "code"]
    for code in codes:
        code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = compile(code, "<code>", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                used.add(node.value)
    unused = sorted(set(ZH) - used)
    assert not unused, "translations of texts asynclab no longer shows:\n" + "\n".join(map(repr, unused))
    seen, twice = {}, []
    for path in sorted((ROOT / "asynclab" / "locale" / "zh-CN").glob("*.json")):
        for english, chinese in json.loads(path.read_text(encoding="utf-8")).items():
            if english in seen and seen[english][1] != chinese:
                twice.append(f"{english!r}: {seen[english][0]} and {path.name} disagree")
            seen[english] = (path.name, chinese)
    assert not twice, "\n".join(twice)


def test_chinese_texts_are_chinese():
    # (a menu path, "Run > Run All Above Selected Cell", is named as the front end shows it)
    english_left = [e for e, z in ZH.items() if CJK.search(e) is None and CJK.search(z) is None
                    and len(re.findall(r"[A-Za-z]{3,}", e)) >= 3 and z == e and " > " not in e]
    assert not english_left, "left in English:\n" + "\n".join(map(repr, english_left))


# -- figures -------------------------------------------------------------------------------------

def _traced():
    import asyncio

    async def main():
        sem = asyncio.Semaphore(1)

        async def worker(n):
            async with sem:
                await asyncio.sleep(0.01 * n)
        async with asynclab.trace() as tl:
            await asyncio.gather(*(worker(n) for n in range(1, 4)))
        return tl
    return asyncio.run(main())


def _drawn_texts(fig):
    from matplotlib.text import Text
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def test_a_chinese_figure_has_every_glyph(chinese):
    if fonts.chinese_font() is None:
        if os.environ.get("CI"):
            pytest.fail("no CJK font: CI installs fonts-noto-cjk (.ci/run)")
        pytest.skip("no CJK font on this machine (apt install fonts-noto-cjk)")
    from matplotlib.figure import Figure
    from asynclab.plots import plot_timeline
    tl = _traced()
    fig = Figure(figsize=(9, 4))
    ax, strip = fig.subplots(2, 1, sharex=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plot_timeline(tl, ax, strip=strip, concurrency=True, limit=1)
        fig.savefig(io.BytesIO(), format="png")
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing
    texts = _drawn_texts(fig)
    assert any(CJK.search(t) for t in texts), texts
    assert "运行（它的代码正在执行）" in texts and "从追踪开始算起的时间（ms）" in texts, texts


def test_without_a_chinese_font_figures_keep_english_and_say_so_once(chinese, monkeypatch, capsys):
    monkeypatch.setattr(fonts, "_found", [None])
    monkeypatch.setattr(fonts, "_told", [])
    from matplotlib.figure import Figure
    from asynclab.plots import plot_timeline
    tl = _traced()
    for _ in range(2):
        fig = Figure()
        plot_timeline(tl, fig.add_subplot(), concurrency=False)
        assert "running (its code executing)" in _drawn_texts(fig)
        assert not any(CJK.search(t) for t in _drawn_texts(fig))
    said = capsys.readouterr().out
    assert said.count("fonts-noto-cjk") == 1 and CJK.search(said), said


def test_the_explorable_timeline_gets_its_words_in_chinese(chinese):
    explore = sys.modules["asynclab.explore"]
    texts = explore.widget_texts()
    assert texts["whole timeline"] == "整条时间线"
    assert all(CJK.search(z) or not re.search(r"[a-z]{3}", z) for z in texts.values()), texts
    widget = asynclab.explore(_traced())
    assert json.loads(widget._data_json)["texts"] == texts
    assert CJK.search(repr(widget))


def test_the_zh_stub_is_known_to_the_checks_as_not_solved():
    from asynclab.checks.core import STUB_MESSAGES
    message = re.search(r'NotImplementedError\("(.+)"\)', translations.STUB).group(1)
    assert message in STUB_MESSAGES
    texts, _ = translations.edition()
    for name in (n for n in texts if n.startswith("exercises/")):
        code = "".join("".join(c["source"]) for c in json.loads(texts[name])["cells"])
        assert translations.STUB in code and "exercise not solved yet" not in code, name


def test_the_catalogues_are_in_the_package_pip_installs(tmp_path):
    """Colab's first cell and an offline room install asynclab as a wheel: the Chinese must be in it."""
    import subprocess
    import zipfile
    made = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "-q", "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=240)
    assert made.returncode == 0, made.stderr[-2000:]
    assert "BuildBackendWarning" not in made.stderr, made.stderr[-2000:]
    wheel, = tmp_path.glob("asynclab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {f"asynclab/locale/zh-CN/{p.name}" for p in (ROOT / "asynclab" / "locale" / "zh-CN").glob("*.json")}
    assert wanted and wanted <= names, sorted(wanted - names)


def test_a_check_verdict_and_a_hint_come_out_in_chinese(chinese):
    """The stub of exercise 03's bounded_gather, checked and hinted at in a zh-CN kernel."""
    from asynclab.checks import check, hint

    async def bounded_gather(jobs, limit):
        raise NotImplementedError("练习还没有完成")
    verdict = check(bounded_gather, limit=10).message
    assert CJK.search(verdict) and "not solved yet" not in verdict, verdict
    from asynclab.checks import core
    given = dict(core._hints_given)
    try:
        said = hint(bounded_gather).message
    finally:                                    # other tests count hints from the first one
        core._hints_given.clear()
        core._hints_given.update(given)
    assert CJK.search(said) and "Hint" not in said, said


def test_nothing_in_explore_js_hides_its_tr_function():
    """A local `t`/`tr` once shadowed the widget's translating function: draw() threw."""
    js = (ROOT / "asynclab" / "explore.js").read_text(encoding="utf-8")
    assert not re.search(r"\b(?:const|let|var)\s+tr\b|\btr\s*=>|\(\s*tr\s*[,)]", js)
