"""Checks for the exercise of lesson 10 (the capstone crawler): crawl."""

import asyncio
import time

from ..language import tr
from ..simsite import ALWAYS, Page, PageNotFound, Site
from .core import exercise


def _stuck(t):
    """True once a case ran out of time: the next cases would too, so the check stops there.
    (t.hung says so in any language; the English words are kept for a verdict that says it too.)"""
    return t.hung or any("did not finish within" in failure for failure in t.failures)


def _leftovers(before):
    me = asyncio.current_task()
    return [t for t in asyncio.all_tasks() - before if t is not me and not t.done()]


def _result_parts(t, got):
    """(pages as a set, failures dict, retries) from the learner's result, or a CaseFailed."""
    t.expect(isinstance(got, dict) and {"pages", "failures", "retries"} <= set(got),
             tr("it returned {value}; expected a dict with the keys 'pages', 'failures' "
                "and 'retries'", value=f"{got!r:.100}"))
    pages, failures = got["pages"], got["failures"]
    t.expect(isinstance(pages, (set, frozenset, list, tuple)),
             tr("result['pages'] is {value}; expected a set of URLs", value=f"{pages!r:.80}"))
    t.expect(len(set(pages)) == len(pages), tr("result['pages'] lists a URL more than once: {pages}",
                                               pages=repr(pages)))
    t.expect(isinstance(failures, dict), tr("result['failures'] is {value}; expected a "
                                            "dict {{url: exception}}", value=f"{failures!r:.80}"))
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

    async with t.case(tr("7 pages with many cross links, limit 2: each page fetched once")):
        site = Site({
            "/": Page(("/a", "/b", "/c")), "/a": Page(("/", "/d")), "/b": Page(("/d", "/e")),
            "/c": Page(("/a",)), "/d": Page(("/e", "/")), "/e": Page(("/f",)), "/f": Page(()),
        })
        before = asyncio.all_tasks()
        got = await t.run(fn(site, "/", 2))
        pages, failures, retries = _result_parts(t, got)
        expected = site.reachable("/")
        t.expect(pages == expected, tr("result['pages'] is {pages}; expected every reachable "
                                       "page: {expected}", pages=sorted(pages), expected=sorted(expected)))
        twice = _fetched_twice(site)
        t.expect(not twice, tr("these pages were fetched more than once: {pages}: two page tasks "
                               "both took a URL as new", pages=twice))
        t.expect(failures == {} and retries == 0,
                 tr("it reported failures={failures} and retries={retries} on a site where "
                    "nothing fails; expected {{}} and 0", failures=repr(failures), retries=repr(retries)))
        t.expect(site.peak <= 2, tr("{peak} requests were in flight at once; the limit was 2",
                                    peak=site.peak))
        t.expect(site.peak == 2, tr("only 1 request was in flight at a time; with limit 2 the "
                                    "crawl should fetch 2 pages at once"))
        left = _leftovers(before)
        t.expect(not left, tr("after it returned, {count} task(s) were still pending; every "
                              "page task should have ended (a TaskGroup waits for them)",
                              count=len(left)))

    if _stuck(t):
        return
    async with t.case(tr("13 pages, limit 3: never more than 3 requests at once")):
        site = Site({"/": Page(tuple(f"/p{i}" for i in range(12)))}
                    | {f"/p{i}": Page((), 0.03) for i in range(12)})
        got = await t.run(fn(site, "/", 3))
        pages, _, _ = _result_parts(t, got)
        t.expect(len(pages) == 13, tr("it reported {count} pages; expected 13", count=len(pages)))
        t.expect(site.peak <= 3, tr("{peak} requests were in flight at once; the limit was 3",
                                    peak=site.peak))
        t.expect(site.peak == 3, tr("at most {peak} request(s) were in flight at once; with 12 "
                                    "pages waiting and limit 3, 3 should be", peak=site.peak))

    if _stuck(t):
        return
    async with t.case(tr("failing pages are reported, not crashing the crawl")):
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
        t.expect(pages == expected, tr("result['pages'] is {pages}; expected {expected} (/flaky "
                                       "fails once, then works on the retry)",
                                       pages=sorted(pages), expected=sorted(expected)))
        t.expect(set(failures) == {"/broken", "/gone"},
                 tr("result['failures'] has the URLs {urls}; expected ['/broken', '/gone']",
                    urls=sorted(failures)))
        t.expect(isinstance(failures["/broken"], ConnectionError),
                 tr("failures['/broken'] is {value}; expected the ConnectionError",
                    value=repr(failures["/broken"])))
        t.expect(isinstance(failures["/gone"], PageNotFound),
                 tr("failures['/gone'] is {value}; expected the PageNotFound",
                    value=repr(failures["/gone"])))
        t.expect(site.counts["/gone"] == 1, tr("/gone was fetched {count} times; a PageNotFound "
                                               "(404) should not be retried",
                                               count=site.counts["/gone"]))
        t.expect(site.counts["/broken"] == 2, tr("/broken was fetched {count} time(s); with "
                                                 "retries=1 expected 2 attempts",
                                                 count=site.counts["/broken"]))
        t.expect(retries == 2, tr("result['retries'] is {value}; expected 2 (one for /broken, "
                                  "one for /flaky)", value=repr(retries)))
        left = _leftovers(before)
        t.expect(not left, tr("after it returned, {count} task(s) were still pending",
                              count=len(left)))

    if _stuck(t):
        return
    async with t.case(tr("a 1.5 s page with timeout=0.1: timed out, twice, quickly")):
        site = Site({"/": Page(("/fast", "/slow")), "/fast": Page(()), "/slow": Page((), 1.5)})
        started = time.perf_counter()
        got = await t.run(fn(site, "/", 2, timeout=0.1, retries=1))
        seconds = time.perf_counter() - started
        pages, failures, retries = _result_parts(t, got)
        if "/slow" in pages:
            t.expect(False, tr("/slow ended up in pages after {seconds} s; expected it in failures "
                               "as a TimeoutError (each attempt may take at most `timeout` seconds)",
                               seconds=f"{seconds:.1f}"))
        t.expect(isinstance(failures.get("/slow"), TimeoutError),
                 tr("/slow ended up {value} after {seconds} s; expected it in failures as a "
                    "TimeoutError (each attempt may take at most `timeout` seconds)",
                    value=repr(failures.get("/slow")), seconds=f"{seconds:.1f}"))
        t.expect(site.counts["/slow"] == 2, tr("/slow was tried {count} time(s); a timeout counts "
                                               "as a failure, so with retries=1 expected 2 attempts",
                                               count=site.counts["/slow"]))
        t.expect(seconds < 0.8, tr("the crawl took {seconds} s; two attempts of 0.1 s "
                                   "should take well under 0.8 s", seconds=f"{seconds:.2f}"))
        t.expect(pages == {"/", "/fast"}, tr("result['pages'] is {pages}; expected ['/', '/fast']",
                                             pages=sorted(pages)))

    if _stuck(t):
        return
    async with t.case(tr("cancelling the crawl ends every task")):
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
        t.expect(task in done, tr("after cancel(), the crawl was still running 1 s later: the "
                                  "cancellation did not stop it"))
        if not task.cancelled() and task.exception() is not None:
            err = task.exception()
            t.expect(False, tr("after cancel() it raised {error_type}: {message}; expected "
                               "CancelledError (or a normal return)",
                               error_type=type(err).__name__, message=str(err)))
        await asyncio.sleep(0.05)
        t.expect(in_flight == 3, tr("{count} request(s) were in flight 0.1 s in; expected 3",
                                    count=in_flight))
        started_after = len(site.log) - cancelled_at
        t.expect(started_after == 0, tr("{count} request(s) started after the crawl was "
                                        "cancelled; cancelling it should stop every page task",
                                        count=started_after))
        left = _leftovers(before)
        t.expect(not left and site.active == 0,
                 tr("after the crawl was cancelled, {tasks} task(s) were still pending and "
                    "{requests} request(s) still in flight; page tasks must end with the crawl",
                    tasks=len(left), requests=site.active))
