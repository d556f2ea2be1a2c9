"""Lesson 10 (capstone crawler): every claim the lesson makes, the simulated site, and the crawl check.

(a) the claims, reproduced with asyncio.run: the lesson's own crawler code is taken from the
    notebook file and run outside Jupyter, plus the site and asyncio facts it relies on;
(b) what the executed lesson printed;
(c) the check: the solution passes, wrong crawlers fail with a message that names the problem,
    and the stub says "not solved".  Misbehaving answers are tested for all exercises at once in
    test_checks_robust.py.
"""

import ast
import asyncio
import re
import signal
import subprocess
import sys
import textwrap
import time

import nbformat
import pytest

import asynclab
from asynclab import simsite
from asynclab.checks import check
from asynclab.simsite import ALWAYS, Page, PageNotFound, Site
from nbrun import ROOT, execute

LESSON = "notebooks/10-capstone-crawler.ipynb"


def _is_constant(node):
    """An assignment to an UPPER_CASE name (a script's text, a list of URLs): part of the definitions."""
    return isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.isupper()
                                                  for t in node.targets)


def _cells_defining(relpath, *names):
    """Run the imports, functions, classes and constants defined in a notebook's code cells (not the demos).

    Returns the namespace; each of `names` must be in it.
    """
    nb = nbformat.read(str(ROOT / relpath), as_version=4)
    ns = {}
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = compile(cell.source, relpath, "exec",
                       flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        tree.body = [node for node in tree.body if isinstance(node, keep) or _is_constant(node)]
        exec(compile(tree, relpath, "exec"), ns)
    missing = [n for n in names if n not in ns]
    assert not missing, f"{relpath} defines no {missing}"
    return ns


@pytest.fixture(scope="module")
def lesson():
    return _cells_defining(LESSON, "crawl_sequential", "crawl_concurrent", "crawl", "CrawlResult",
                           "RateLimit", "crawl_fragile", "stubborn_get", "crawl_until", "SimSession",
                           "press_ctrl_c")


# ---------------------------------------------------------------- (a) the site

def test_demo_site_pages_links_and_failures():
    async def main():
        site = simsite.demo_site()
        links = await site.fetch("/")
        msgs = []
        for url in ["/missing", "/shop/item", "/shop/item", "/shop/cart", "/shop/cart"]:
            try:
                await site.fetch(url)
                msgs.append("ok")
            except Exception as e:
                msgs.append(f"{type(e).__name__}: {e}")
        return site, links, msgs

    site, links, msgs = asyncio.run(main())
    assert links == ["/about", "/blog", "/shop"]
    assert msgs == ["PageNotFound: 404 Not Found: /missing",
                    "ConnectionError: 503 Service Unavailable: /shop/item (attempt 1)",
                    "ConnectionError: 503 Service Unavailable: /shop/item (attempt 2)",
                    "ConnectionError: 503 Service Unavailable: /shop/cart (attempt 1)", "ok"]
    assert isinstance(PageNotFound("x"), LookupError)
    assert len(site.pages) == 11 and site.reachable("/") == set(site.pages)
    assert site.counts["/shop/item"] == 2 and site.peak == 1 and site.active == 0
    assert [r.outcome for r in site.log] == ["ok", "404", "failed", "failed", "failed", "ok"]
    assert "/slow         600 ms" in site.describe()
    site.reset()
    assert site.log == [] and not site.counts


def test_site_records_cancelled_requests_and_peak():
    async def main():
        site = Site({"/a": Page((), 0.2), "/b": Page((), 0.2)})
        tasks = [asyncio.create_task(site.fetch(u)) for u in ("/a", "/b")]
        await asyncio.sleep(0.05)
        peak, active = site.peak, site.active
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return site, peak, active

    site, peak, active = asyncio.run(main())
    assert peak == 2 and active == 2 and site.active == 0
    assert [r.outcome for r in site.log] == ["cancelled", "cancelled"]


# ---------------------------------------------------------------- (a) the lesson's crawlers

def test_sequential_crawl_takes_the_sum_of_the_delays(lesson):
    async def main():
        site = simsite.demo_site()
        t0 = time.perf_counter()
        pages, failures = await lesson["crawl_sequential"](site, "/")
        return site, pages, failures, time.perf_counter() - t0

    site, pages, failures, seconds = asyncio.run(main())
    assert site.peak == 1 and len(pages) == 9
    assert {u: type(e).__name__ for u, e in failures.items()} == {
        "/shop/cart": "ConnectionError", "/shop/item": "ConnectionError", "/missing": "PageNotFound"}
    assert seconds >= 0.9 * sum(p.delay for p in site.pages.values())


def test_concurrent_crawl_limit_3_each_page_once(lesson):
    async def main():
        site = simsite.demo_site()
        pages, failures = await lesson["crawl_concurrent"](site, "/", limit=3)
        return site, pages

    site, pages = asyncio.run(main())
    assert site.peak == 3 and len(pages) == 9 and all(n == 1 for n in site.counts.values())


def test_timeouts_and_retries(lesson):
    async def main():
        site = simsite.demo_site()
        return site, await lesson["crawl"](site, "/", limit=3, timeout=0.2, retries=1)

    site, result = asyncio.run(main())
    assert sorted(result.failures) == ["/missing", "/shop/item", "/slow"]
    assert isinstance(result.failures["/slow"], TimeoutError)
    assert isinstance(result.failures["/missing"], PageNotFound)
    assert "/shop/cart" in result.pages and len(result.pages) == 9 and result.retries == 3
    assert sorted(u for u, n in site.counts.items() if n == 2) == ["/shop/cart", "/shop/item", "/slow"]
    assert site.counts["/missing"] == 1 and result.peak == site.peak == 3


def test_rate_limit_spaces_the_request_starts(lesson):
    async def main():
        site = simsite.demo_site()
        return site, await lesson["crawl"](site, "/", limit=3, rate=20, timeout=0.2, retries=1)

    site, result = asyncio.run(main())
    starts = [r.start for r in site.log]
    assert starts[-1] - starts[0] >= 0.9 * (len(starts) - 1) / 20
    assert len(result.pages) == 9 and result.retries == 3


def test_semaphore_alone_is_not_a_rate_limit(lesson):
    """Without a rate limit, requests start far closer together than 1/20 s."""
    async def main():
        site = simsite.demo_site()
        await lesson["crawl"](site, "/", limit=3, timeout=0.2, retries=1)
        return site

    site = asyncio.run(main())
    starts = [r.start for r in site.log]
    assert min(b - a for a, b in zip(starts, starts[1:])) < 0.01


def test_cancelling_the_crawl_ends_every_task(lesson):
    async def main():
        site = simsite.demo_site(slow=5.0)
        partial = lesson["CrawlResult"]()
        task = asyncio.create_task(lesson["crawl"](site, "/", limit=3, timeout=10, result=partial))
        await asyncio.sleep(0.6)
        at_stop = [r for r in site.log if r.outcome == "in progress"]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return site, partial, left, at_stop

    site, partial, left, at_stop = asyncio.run(main())
    assert left == [] and site.active == 0
    assert [(r.url, r.outcome) for r in at_stop] == [("/slow", "cancelled")]
    assert len(partial.pages) == 9 and partial.retries == 2


def test_numbers_for_each_limit(lesson):
    async def main():
        rows = []
        for kwargs in (dict(limit=1), dict(limit=3), dict(limit=6), dict(limit=6, rate=10)):
            site = simsite.demo_site()
            r = await lesson["crawl"](site, "/", timeout=0.2, retries=1, **kwargs)
            rows.append((len(r.pages), len(r.failures), r.retries, r.peak, site.peak, kwargs["limit"]))
        return rows

    rows = asyncio.run(main())
    assert all(row[:3] == (9, 3, 3) for row in rows)
    assert all(row[3] == row[4] <= row[5] for row in rows)
    assert rows[0][3] == 1 and rows[1][3] == 3
    assert rows[3][3] < rows[2][3]          # with the rate limit, fewer requests overlap


def test_a_longer_timeout_lets_slow_succeed(lesson):
    async def main():
        site = simsite.demo_site()
        return await lesson["crawl"](site, "/", limit=2, timeout=0.8)

    result = asyncio.run(main())
    assert sorted(result.failures) == ["/missing", "/shop/item"] and "/slow" in result.pages


def test_one_failure_crashes_a_crawl_without_try(lesson):
    async def main():
        site = Site({"/": Page(("/a", "/b", "/c"), 0.02), "/a": Page(delay=0.3),
                     "/b": Page(delay=0.02, fails=1), "/c": Page(delay=0.35)})
        try:
            await lesson["crawl_fragile"](site, "/", limit=3)
        except* ConnectionError as group:
            text = f"{type(group).__name__}: {group}"
            inner = [f"{type(e).__name__}: {e}" for e in group.exceptions]
        return text, inner, sorted(r.url for r in site.log if r.outcome == "cancelled")

    text, inner, cut_off = asyncio.run(main())
    assert text == "ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)"
    assert inner == ["ConnectionError: 503 Service Unavailable: /b (attempt 1)"]
    assert cut_off == ["/a", "/c"]


def test_one_timeout_around_the_whole_crawl_loses_everything(lesson):
    async def main():
        site = simsite.demo_site()
        with pytest.raises(TimeoutError) as info:
            async with asyncio.timeout(0.3):
                await lesson["crawl_concurrent"](site, "/", limit=3)
        return str(info.value), len(site.log)

    message, requests = asyncio.run(main())
    assert message == "" and requests > 5


def test_catching_baseexception_ignores_cancel(lesson):
    async def main():
        site = simsite.demo_site(slow=0.2)
        task = asyncio.create_task(lesson["stubborn_get"](site, "/slow"))
        await asyncio.sleep(0.03)
        accepted = task.cancel()
        await asyncio.wait([task], timeout=1)
        return accepted, task.cancelled(), task.result(), site.counts["/slow"]

    assert asyncio.run(main()) == (True, False, [], 2)


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to a child process")
def test_ctrl_c_cancels_the_main_task_in_asyncio_run(tmp_path):
    """The lesson says: since 3.11, asyncio.run() turns Ctrl-C into cancelling the main task."""
    script = tmp_path / "ctrl_c.py"
    script.write_text(textwrap.dedent("""
        import asyncio
        async def main():
            print("running", flush=True)
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                print("main task cancelled", flush=True)
                raise
        try:
            asyncio.run(main())
        except KeyboardInterrupt:
            print("KeyboardInterrupt after the cancellation", flush=True)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "running"
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert out.split("\n")[:2] == ["main task cancelled", "KeyboardInterrupt after the cancellation"]


def test_crawl_until_stops_the_group_with_taskgroup_cancel_on_315_and_except_star_before(lesson):
    async def main():
        site = simsite.demo_site()
        pages = await lesson["crawl_until"](site, "/", enough=4)
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return sorted(pages), site.active, left

    assert asyncio.run(main()) == (["/", "/about", "/blog", "/shop"], 0, [])
    assert hasattr(asyncio.TaskGroup, "cancel") == (sys.version_info >= (3, 15))


@pytest.mark.skipif(sys.version_info < (3, 15), reason="TaskGroup.cancel() is new in 3.15")
def test_taskgroup_cancel_ends_the_block_without_an_exception():
    async def main():
        ran = []
        async with asyncio.TaskGroup() as tg:
            async def long():
                try:
                    await asyncio.sleep(10)
                finally:
                    ran.append("long ended")
            tg.create_task(long())
            await asyncio.sleep(0)
            tg.cancel()
        return ran

    assert asyncio.run(main()) == ["long ended"]


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to a child process")
def test_ctrl_c_once_lets_the_cleanup_finish_twice_cuts_it_short(lesson):
    assert lesson["press_ctrl_c"](1) == (
        "crawling\nmain task: CancelledError\ncleanup: started (takes 0.5 s)\ncleanup: finished\n"
        "asyncio.run() raised KeyboardInterrupt\n")
    assert lesson["press_ctrl_c"](2) == (
        "crawling\nmain task: CancelledError\ncleanup: started (takes 0.5 s)\n"
        "cleanup: cut short by CancelledError\nasyncio.run() raised KeyboardInterrupt\n")


def test_a_shared_session_connects_once_per_pool_slot(lesson):
    async def main():
        shared = lesson["SimSession"](size=3)
        limit = asyncio.Semaphore(3)

        async def fresh(url):
            async with limit:
                session = lesson["SimSession"]()
                await session.get(url)
                return session.opened

        per_request = await asyncio.gather(*(fresh(f"/{n}") for n in range(12)))
        await asyncio.gather(*(shared.get(f"/{n}") for n in range(12)))
        return sum(per_request), shared.opened

    assert asyncio.run(main()) == (12, 3)


# ---------------------------------------------------------------- (b) the lesson, executed

@pytest.fixture(scope="module")
def run():
    return execute(LESSON)


def test_lesson_links():
    text = (ROOT / LESSON).read_text(encoding="utf-8")
    for link in ("09-patterns.ipynb", "00-start-here.ipynb", "../README.md#learning-path",
                 "../exercises/10-capstone-crawler.ipynb"):
        assert link in text


def test_lesson_printed_what_it_claims(run):
    site = run.text_of("print(site.describe())")
    assert "links on /: ['/about', '/blog', '/shop']" in site
    assert "fetch /missing: PageNotFound: 404 Not Found: /missing" in site
    assert "fetch /shop/item: ConnectionError: 503 Service Unavailable: /shop/item (attempt 1)" in site
    assert "at most 1 request at a time" in run.text_of("async def crawl_sequential")
    conc = run.text_of("async def crawl_concurrent")
    assert "9 pages, 3 failures" in conc and "at most 3 requests at once" in conc
    assert "each URL fetched once: True" in conc
    tr = run.text_of("result = await crawl(site, \"/\", limit=3, timeout=0.2, retries=1)")
    assert "9 pages fetched, 3 failures, 3 retries, at most 3 requests at once" in tr
    assert "failed /slow       TimeoutError   [attempts: 2]" in tr
    assert "failed /missing    PageNotFound 404 Not Found: /missing  [attempts: 1]" in tr
    assert "fetched twice because of a retry: ['/shop/cart', '/shop/item', '/slow']" in tr
    assert "15 requests; the last one started" in run.text_of("rate=10, timeout=0.2")
    assert "(10 per second allows no less than 1400 ms)" in run.text_of("rate=10, timeout=0.2")
    stop = run.text_of("partial = CrawlResult()")
    assert "the crawl was cancelled" in stop and "GET tasks left: []" in stop
    assert "so far: 9 pages fetched, 2 failures, 2 retries" in stop
    assert "requests in flight at the stop: ['/slow'] -> now ['cancelled']" in stop
    assert "requests still in flight: 0" in stop
    table = run.text_of("rows = []").replace("You made no prediction. What happened: no.\n", "")
    assert "limit 1                  9        3       3       1" in table
    assert "limit 3                  9        3       3       3" in table
    assert "limit 6, rate 10/s       9        3       3       " in table
    header, *rows = table.strip().splitlines()
    assert header.split() == ["crawler", "pages", "failures", "retries", "at", "once", "time"]
    assert len(rows) == 4 and all(re.search(r"  \d+ ms$", row) for row in rows), table   # a unit on every time
    pg = run.text_of("pg.set(")
    assert "failed: /missing, /shop/item" in pg and "GET /slow ended with: result" in pg
    # every Predict is answered (no guess was made: the reveal says what happened)
    for needle, happened in [("async def crawl_sequential", None), ("async def crawl_concurrent", "3"),
                             ("limit=3, timeout=0.2, retries=1)\nprint", "3"),
                             ("rate=10, timeout=0.2", "1400 ms"), ("partial = CrawlResult()", "0"),
                             ("rows = []", "no")]:
        text = run.text_of(needle)
        assert "You made no prediction. What happened: " + (happened or "") in text, (needle, text)


def test_lesson_stops_from_inside_and_on_ctrl_c(run):
    text = run.text_of("async def crawl_until")
    how = ("TaskGroup.cancel()" if sys.version_info >= (3, 15) else
           "raise Enough + except* Enough (TaskGroup.cancel() is new in 3.15)")
    assert text.startswith(f"Python {'%d.%d.%d' % sys.version_info[:3]} stopped the crawl with {how}\n"), text
    assert "pages: ['/', '/about', '/blog', '/shop']\n" in text, text
    assert "GET tasks left: [] | requests still in flight: 0" in text
    if sys.platform != "win32":
        assert run.text_of("CTRL_C_SCRIPT = ") == (
            "--- Ctrl-C pressed 1 time(s):\ncrawling\nmain task: CancelledError\n"
            "cleanup: started (takes 0.5 s)\ncleanup: finished\nasyncio.run() raised KeyboardInterrupt\n"
            "--- Ctrl-C pressed 2 time(s):\ncrawling\nmain task: CancelledError\n"
            "cleanup: started (takes 0.5 s)\ncleanup: cut short by CancelledError\n"
            "asyncio.run() raised KeyboardInterrupt\n"
            "You made no prediction. What happened: yes no.\n")
    assert run.text_of("jupyter_interrupt = ") == (
        "waiting\nthe awaiting cell got CancelledError\nthe cell ended with CancelledError\n"
        "waiting\nthe blocking cell got KeyboardInterrupt\nthe cell ended with KeyboardInterrupt\n"
        "afterwards the earlier task is still running: True\n")


def test_lesson_shared_session(run):
    text = run.text_of("class SimSession")
    lines = text.splitlines()
    assert re.fullmatch(r"a session per request\s*: 12 requests, 12 connections opened, \d+ ms", lines[0]), text
    assert re.fullmatch(r"one shared session\s*: 12 requests,  3 connections opened, \d+ ms", lines[1]), text
    assert lines[2] == "You made no prediction. What happened: 12 3."


def test_lesson_mistakes_print_real_errors(run):
    fragile = run.text_of("async def crawl_fragile")
    assert "ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)" in fragile
    assert "requests cancelled because of it: ['/a', '/c']" in fragile
    whole = run.text_of("async with asyncio.timeout(0.3):")
    assert whole.startswith("TimeoutError: \npages we got back: None")
    stubborn = run.text_of("async def stubborn_get")
    assert "cancel() returned True" in stubborn
    assert "the task was cancelled: False; it returned [] after 2 requests" in stubborn


def test_lesson_draws_its_timelines(run):
    assert run.images() >= 7


# ---------------------------------------------------------------- (c) the check

def test_solution_passes():
    ns = _cells_defining("solutions/10-capstone-crawler.ipynb", "crawl")
    result = check(ns["crawl"])
    assert result.passed, result.message
    assert result.seconds < 3, result.seconds


def test_solution_worked_example():
    ns = _cells_defining("solutions/10-capstone-crawler.ipynb", "crawl")
    site = Site({"/": Page(links=("/a", "/b", "/gone")), "/a": Page(links=("/",), delay=0.05),
                 "/b": Page(links=(), fails=1)})
    got = asyncio.run(ns["crawl"](site, "/", 2))
    assert got["pages"] == {"/", "/a", "/b"} and list(got["failures"]) == ["/gone"]
    assert isinstance(got["failures"]["/gone"], PageNotFound) and got["retries"] == 1


def test_stub_is_not_solved():
    ns = _cells_defining("exercises/10-capstone-crawler.ipynb", "crawl")
    result = check(ns["crawl"])
    assert result.status == "not solved" and "not solved yet" in result.message


def make_crawler(limit_requests=True, seen_early=True, catch=True, per_attempt_timeout=True,
                 retry_404=False, swallow_cancel=False, structured=True, concurrent=True):
    """A crawler with one chosen mistake (the defaults make the right one)."""
    async def crawl(site, start, limit, timeout=0.5, retries=1):
        pages, failures, n = set(), {}, {"retries": 0}
        seen, fetched = {start}, set()
        semaphore = asyncio.Semaphore(limit if limit_requests else 1000)
        retryable = (ConnectionError, TimeoutError) + ((PageNotFound,) if retry_404 else ())
        swallowed = BaseException if swallow_cancel else Exception

        async def fetch(url):
            async with semaphore:
                if per_attempt_timeout:
                    async with asyncio.timeout(timeout):
                        return await site.fetch(url)
                return await site.fetch(url)

        async def get(url):
            for attempt in range(retries + 1):
                try:
                    return await fetch(url)
                except swallowed as e:
                    if not isinstance(e, retryable) and not swallow_cancel:
                        if not catch:
                            raise
                        failures[url] = e
                        return None
                    if attempt == retries:
                        if not catch:
                            raise
                        failures[url] = e
                        return None
                    n["retries"] += 1

        async def visit(url):
            if not seen_early:
                if url in fetched:
                    return
            links = await get(url)
            if links is None:
                return
            fetched.add(url)
            pages.add(url)
            for link in links:
                if seen_early:
                    if link in seen:
                        continue
                    seen.add(link)
                elif link in fetched:
                    continue
                spawn(link)

        if not concurrent:
            todo = [start]
            while todo:
                url = todo.pop(0)
                links = await get(url)
                if links is None:
                    continue
                pages.add(url)
                for link in links:
                    if link not in seen:
                        seen.add(link)
                        todo.append(link)
        elif structured:
            async with asyncio.TaskGroup() as tg:
                spawn = lambda url: tg.create_task(visit(url))  # noqa: E731
                spawn(start)
        else:
            tasks = set()
            spawn = lambda url: tasks.add(asyncio.create_task(visit(url)))  # noqa: E731
            spawn(start)
            while any(not t.done() for t in tasks):
                await asyncio.wait([t for t in tasks if not t.done()])
        return {"pages": pages, "failures": failures, "retries": n["retries"]}

    return crawl


WRONG = [
    (dict(), None),
    (dict(concurrent=False), "only 1 request was in flight at a time"),
    (dict(limit_requests=False), "requests were in flight at once; the limit was 3"),
    (dict(seen_early=False), "fetched more than once"),
    (dict(catch=False), "it raised ExceptionGroup"),
    (dict(per_attempt_timeout=False), "expected it in failures as a TimeoutError"),
    (dict(retry_404=True), "should not be retried"),
    (dict(swallow_cancel=True), "started after the crawl was cancelled"),
    (dict(structured=False), "task(s) were still pending"),
]


@pytest.mark.parametrize("mistake, says", WRONG, ids=[str(m) or "right" for m, _ in WRONG])
def test_wrong_crawlers_fail_and_say_why(mistake, says):
    result = check(make_crawler(**mistake), "crawl")
    if says is None:                         # the helper without a mistake is right
        assert result.passed, result.message
        return
    assert result.status == "failed", result.message
    assert says in result.message, result.message
    assert "Traceback" not in result.message and 'File "' not in result.message
