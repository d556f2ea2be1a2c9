"""Checks for the exercise of lesson 10 (the capstone crawler): crawl."""

import asyncio
import time

from ..simsite import ALWAYS, Page, PageNotFound, Site
from .core import exercise


def _stuck(t):
    """True once a case ran out of time: the next cases would too, so the check stops there."""
    return any("did not finish within" in failure for failure in t.failures)


def _leftovers(before):
    me = asyncio.current_task()
    return [t for t in asyncio.all_tasks() - before if t is not me and not t.done()]


def _result_parts(t, got):
    """(pages as a set, failures dict, retries) from the learner's result, or a CaseFailed."""
    t.expect(isinstance(got, dict) and {"pages", "failures", "retries"} <= set(got),
             f"it returned {got!r:.100}; expected a dict with the keys 'pages', 'failures' "
             "and 'retries'")
    pages, failures = got["pages"], got["failures"]
    t.expect(isinstance(pages, (set, frozenset, list, tuple)),
             f"result['pages'] is {pages!r:.80}; expected a set of URLs")
    t.expect(len(set(pages)) == len(pages), f"result['pages'] lists a URL more than once: {pages!r}")
    t.expect(isinstance(failures, dict), f"result['failures'] is {failures!r:.80}; expected a "
             "dict {url: exception}")
    return set(pages), failures, got["retries"]


def _fetched_twice(site, allowed=()):
    return sorted(url for url, n in site.counts.items() if n > 1 and url not in allowed)


@exercise("crawl", kind="async", params=["site", "start", "limit", "timeout", "retries"],
          hints=(
              'Each page found is new work: a task per page, all owned by one group that the crawl '
              'waits for (and that cancels them all if the crawl is cancelled).',
              'Decide that a URL is seen at the moment you schedule it, with no await between the '
              'test and the update, or two tasks fetch the same page.',
              'Around each attempt: the limit on requests at once, then the time limit; a 404 is '
              'final, a connection error or a timeout is retried, and the failure kept for the '
              'report.'))
async def _crawl(fn, t):
    # A wrong answer may leave tasks that fail later; asyncio would print their tracebacks.
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)

    async with t.case("7 pages with many cross links, limit 2: each page fetched once"):
        site = Site({
            "/": Page(("/a", "/b", "/c")), "/a": Page(("/", "/d")), "/b": Page(("/d", "/e")),
            "/c": Page(("/a",)), "/d": Page(("/e", "/")), "/e": Page(("/f",)), "/f": Page(()),
        })
        before = asyncio.all_tasks()
        got = await t.run(fn(site, "/", 2))
        pages, failures, retries = _result_parts(t, got)
        expected = site.reachable("/")
        t.expect(pages == expected, f"result['pages'] is {sorted(pages)}; expected every "
                 f"reachable page: {sorted(expected)}")
        twice = _fetched_twice(site)
        t.expect(not twice, f"these pages were fetched more than once: {twice}: two page tasks "
                 "both took a URL as new")
        t.expect(failures == {} and retries == 0,
                 f"it reported failures={failures!r} and retries={retries!r} on a site where "
                 "nothing fails; expected {} and 0")
        t.expect(site.peak <= 2, f"{site.peak} requests were in flight at once; the limit was 2")
        t.expect(site.peak == 2, "only 1 request was in flight at a time; with limit 2 the "
                 "crawl should fetch 2 pages at once")
        left = _leftovers(before)
        t.expect(not left, f"after it returned, {len(left)} task(s) were still pending; every "
                 "page task should have ended (a TaskGroup waits for them)")

    if _stuck(t):
        return
    async with t.case("13 pages, limit 3: never more than 3 requests at once"):
        site = Site({"/": Page(tuple(f"/p{i}" for i in range(12)))}
                    | {f"/p{i}": Page((), 0.03) for i in range(12)})
        got = await t.run(fn(site, "/", 3))
        pages, _, _ = _result_parts(t, got)
        t.expect(len(pages) == 13, f"it reported {len(pages)} pages; expected 13")
        t.expect(site.peak <= 3, f"{site.peak} requests were in flight at once; the limit was 3")
        t.expect(site.peak == 3, f"at most {site.peak} request(s) were in flight at once; with 12 "
                 "pages waiting and limit 3, 3 should be")

    if _stuck(t):
        return
    async with t.case("failing pages are reported, not crashing the crawl"):
        site = Site({
            "/": Page(("/ok", "/broken", "/flaky", "/gone")),
            "/ok": Page(("/ok/more",)), "/ok/more": Page(()),
            "/broken": Page(("/behind-broken",), fails=ALWAYS), "/behind-broken": Page(()),
            "/flaky": Page(("/after-flaky",), fails=1), "/after-flaky": Page(()),
        })                                   # /gone is not on the site: a 404
        before = asyncio.all_tasks()
        got = await t.run(fn(site, "/", 3, timeout=0.5, retries=1))
        pages, failures, retries = _result_parts(t, got)
        expected = {"/", "/ok", "/ok/more", "/flaky", "/after-flaky"}
        t.expect(pages == expected, f"result['pages'] is {sorted(pages)}; expected "
                 f"{sorted(expected)} (/flaky fails once, then works on the retry)")
        t.expect(set(failures) == {"/broken", "/gone"},
                 f"result['failures'] has the URLs {sorted(failures)}; expected ['/broken', '/gone']")
        t.expect(isinstance(failures["/broken"], ConnectionError),
                 f"failures['/broken'] is {failures['/broken']!r}; expected the ConnectionError")
        t.expect(isinstance(failures["/gone"], PageNotFound),
                 f"failures['/gone'] is {failures['/gone']!r}; expected the PageNotFound")
        t.expect(site.counts["/gone"] == 1, f"/gone was fetched {site.counts['/gone']} times; a "
                 "PageNotFound (404) should not be retried")
        t.expect(site.counts["/broken"] == 2, f"/broken was fetched {site.counts['/broken']} "
                 "time(s); with retries=1 expected 2 attempts")
        t.expect(retries == 2, f"result['retries'] is {retries!r}; expected 2 (one for /broken, "
                 "one for /flaky)")
        left = _leftovers(before)
        t.expect(not left, f"after it returned, {len(left)} task(s) were still pending")

    if _stuck(t):
        return
    async with t.case("a 1.5 s page with timeout=0.1: timed out, twice, quickly"):
        site = Site({"/": Page(("/fast", "/slow")), "/fast": Page(()), "/slow": Page((), 1.5)})
        started = time.perf_counter()
        got = await t.run(fn(site, "/", 2, timeout=0.1, retries=1))
        seconds = time.perf_counter() - started
        pages, failures, retries = _result_parts(t, got)
        t.expect("/slow" not in pages and isinstance(failures.get("/slow"), TimeoutError),
                 f"/slow ended up {'in pages' if '/slow' in pages else repr(failures.get('/slow'))}"
                 f" after {seconds:.1f} s; expected it in failures as a TimeoutError (each attempt "
                 "may take at most `timeout` seconds)")
        t.expect(site.counts["/slow"] == 2, f"/slow was tried {site.counts['/slow']} time(s); "
                 "a timeout counts as a failure, so with retries=1 expected 2 attempts")
        t.expect(seconds < 0.8, f"the crawl took {seconds:.2f} s; two attempts of 0.1 s "
                 "should take well under 0.8 s")
        t.expect(pages == {"/", "/fast"}, f"result['pages'] is {sorted(pages)}; expected "
                 "['/', '/fast']")

    if _stuck(t):
        return
    async with t.case("cancelling the crawl ends every task"):
        site = Site({"/": Page(tuple(f"/p{i}" for i in range(6)), 0.01)}
                    | {f"/p{i}": Page((), 0.3) for i in range(6)})
        before = asyncio.all_tasks()
        task = asyncio.ensure_future(t.run(fn(site, "/", 3)))
        await asyncio.sleep(0.1)             # "/" is done, 3 requests are in flight
        in_flight = site.active
        task.cancel()
        # cancel() only schedules the CancelledError.  Steps that were already queued run first
        # (on a busy machine, requests that just finished may let a worker start its next one):
        # that is asyncio, not the answer.  Count only what starts after one more turn of the loop.
        await asyncio.sleep(0)
        cancelled_at = len(site.log)
        done, _ = await asyncio.wait([task], timeout=1.0)
        t.expect(task in done, "after cancel(), the crawl was still running 1 s later: the "
                 "cancellation did not stop it")
        if not task.cancelled() and task.exception() is not None:
            err = task.exception()
            t.expect(False, f"after cancel() it raised {type(err).__name__}: {err}; expected "
                     "CancelledError (or a normal return)")
        await asyncio.sleep(0.05)
        t.expect(in_flight == 3, f"{in_flight} request(s) were in flight 0.1 s in; expected 3")
        started_after = len(site.log) - cancelled_at
        t.expect(started_after == 0, f"{started_after} request(s) started after the crawl was "
                 "cancelled; cancelling it should stop every page task")
        left = _leftovers(before)
        t.expect(not left and site.active == 0,
                 f"after the crawl was cancelled, {len(left)} task(s) were still pending and "
                 f"{site.active} request(s) still in flight; page tasks must end with the "
                 "crawl")
