"""The reading copy (`make html`): lessons executed into a static site that reads offline."""

import re
import sys
from pathlib import Path

import pytest

from nbrun import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import build_html  # noqa: E402

FIRST = ROOT / "notebooks" / "00-start-here.ipynb"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Lesson 00 built into a temporary folder (the repository's build/ is left alone)."""
    out = tmp_path_factory.mktemp("reading-copy") / "html"
    before = FIRST.read_bytes()
    lessons = build_html.build([FIRST], out, log=lambda *a: None)
    assert FIRST.read_bytes() == before, "building the reading copy rewrote the committed notebook"
    return out, lessons


def test_index_links_every_lesson_built(site):
    out, lessons = site
    index = (out / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'<li><a href="([^"]+)">', index)
    assert links == [les.page for les in lessons] == ["00-start-here.html"]
    assert all((out / link).is_file() for link in links)
    assert "Start here" in index and ">00<" in index


def test_lesson_page_has_its_figures_embedded(site):
    out, _ = site
    page = (out / "00-start-here.html").read_text(encoding="utf-8")
    pictures = re.findall(r'<img[^>]+src="data:image/png;base64,[A-Za-z0-9+/=\s]{200,}"', page)
    assert len(pictures) >= 2, "expected the timeline and the playground's picture, as base64 PNGs"
    assert "asynclab-playground" in page, "the playground should be shown as a static picture"
    assert "widget-state+json" not in page, "live widget state (and its CDN scripts) should be gone"


def test_lesson_page_reads_offline_and_links_home(site):
    out, _ = site
    page = (out / "00-start-here.html").read_text(encoding="utf-8")
    external = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', page)
    assert not external, f"the page loads files from the network: {external}"
    assert page.count('href="index.html"') == 2, "contents link at the top and at the bottom"
    assert "<style" in page, "nbconvert's CSS should be inlined"


def test_navigation_between_lessons():
    lessons = [build_html.Lesson(ROOT / "notebooks" / name, title=title) for name, title in
               [("00-start-here.ipynb", "Start"), ("01-coroutines-and-tasks.ipynb", "Coroutines"),
                ("02-gather-vs-create-task.ipynb", "Gather")]]
    first, middle, last = (build_html.nav(lessons, i, "top") for i in range(3))
    assert 'rel="prev"' not in first and 'href="01-coroutines-and-tasks.html"' in first
    assert 'href="00-start-here.html"' in middle and 'href="02-gather-vs-create-task.html"' in middle
    assert 'rel="next"' not in last and 'href="index.html"' in last
    index = build_html.index_page(lessons)
    assert re.findall(r'<li><a href="([^"]+)"', index) == [les.page for les in lessons]


def test_links_between_lessons_point_at_pages(tmp_path):
    built = {"00-start-here", "01-coroutines-and-tasks"}
    body = ('<a href="01-coroutines-and-tasks.ipynb">next</a> '
            '<a href="01-coroutines-and-tasks.ipynb#Tasks">part</a> '
            '<a href="https://docs.python.org/3/">docs</a> <a href="#top">top</a>')
    out = build_html.rewrite_links(body, built, tmp_path)
    assert 'href="01-coroutines-and-tasks.html"' in out
    assert 'href="01-coroutines-and-tasks.html#Tasks"' in out
    assert 'href="https://docs.python.org/3/"' in out and 'href="#top"' in out


def test_only_picks_lessons_by_number():
    assert build_html.lesson_files(["00"]) == [FIRST]
    with pytest.raises(SystemExit):
        build_html.lesson_files(["99"])


def test_titles_come_from_the_first_heading_without_the_number():
    import nbformat

    def nb(heading):
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {heading}\n\ntext")])

    path = ROOT / "notebooks" / "02-x.ipynb"
    assert build_html.title_of(nb("02 · Gather vs create_task"), path) == "Gather vs create_task"
    assert build_html.title_of(nb("03 Semaphore limits"), path) == "Semaphore limits"
    assert build_html.title_of(nb("`asyncio.run()` inside a loop"), path) == "`asyncio.run()` inside a loop"


def test_never_replaces_a_folder_that_is_not_a_reading_copy(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="not a reading copy"):
        build_html.build([FIRST], tmp_path, log=lambda *a: None)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_the_zh_cn_edition_builds_beside_the_english_one(site, tmp_path):
    """`make html` builds zh-CN/ lessons into build/html/zh-CN/: Chinese pages, linked both ways."""
    out, _ = site
    zh = out / "zh-CN"
    lessons = build_html.build([ROOT / "zh-CN" / "notebooks" / FIRST.name], zh, log=lambda *a: None,
                               edition="zh-CN")
    assert [les.page for les in lessons] == ["00-start-here.html"]
    index = (zh / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in index and "asyncio-lab：课程" in index
    assert 'href="../index.html"' in index, "the zh-CN contents should link to the English ones"
    page = (zh / "00-start-here.html").read_text(encoding="utf-8")
    assert page.count(">目录</a>") == 2 and "从这里开始" in page
    assert "试验场，显示的是第一次画出的样子" in page
    # Rebuilding the English edition keeps the Chinese one, and now links to it.
    build_html.build([FIRST], out, log=lambda *a: None)
    assert (zh / "index.html").exists()
    assert 'href="zh-CN/index.html"' in (out / "index.html").read_text(encoding="utf-8")
