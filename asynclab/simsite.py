"""A small simulated web site for the capstone crawler: pages, links, latencies, failures.

No network: `await site.fetch(url)` waits the page's fixed delay and returns its links
(or raises, as a failing server would).  The site also keeps count of what a crawler did
to it, which is how the lesson and the exercise check measure a crawler:

    site = demo_site()
    links = await site.fetch("/")       # ['/about', '/blog', '/shop']
    site.counts["/"], site.peak         # fetches of one URL; most fetches in progress at once

It holds no asyncio objects, so one site can be used from any event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

from .tracer import label_current_task

ALWAYS = 10**9      # `fails=ALWAYS`: the page fails on every fetch


class PageNotFound(LookupError):
    """The URL is not on the site (an HTTP 404).  Retrying cannot help."""


@dataclass(frozen=True)
class Page:
    links: tuple = ()       # the URLs this page links to
    delay: float = 0.03     # seconds one fetch takes
    fails: int = 0          # how many fetches fail (ConnectionError) before one succeeds


@dataclass
class Request:
    url: str
    start: float            # seconds since the site's first request
    end: float = None
    outcome: str = "in progress"    # "ok" | "404" | "failed" | "cancelled" (also by a timeout)


class Site:
    """Pages by URL, and a record of every request made to them."""

    def __init__(self, pages):
        self.pages = {url: page if isinstance(page, Page) else Page(*page)
                      for url, page in pages.items()}
        self.reset()

    def reset(self):
        """Forget every request (to crawl the same site again)."""
        self.counts = Counter()       # url -> fetches started
        self.log = []                 # Request records, in the order they started
        self.active = 0               # fetches in progress now
        self.peak = 0                 # the most fetches that were ever in progress at once
        self._origin = None

    def reachable(self, start):
        """The URLs that exist on the site and can be reached from `start` by links."""
        seen, todo = set(), [start]
        while todo:
            url = todo.pop()
            if url in seen or url not in self.pages:
                continue
            seen.add(url)
            todo.extend(self.pages[url].links)
        return seen

    def _now(self):
        now = time.perf_counter()
        if self._origin is None:
            self._origin = now
        return now - self._origin

    async def fetch(self, url):
        """Fetch `url`: wait its delay, then return its links (a list of URLs).

        Raises PageNotFound for a URL that is not on the site (after a short delay, as a
        server answers 404), and ConnectionError while the page still has failures to give.
        """
        label_current_task(f"GET {url}")
        page = self.pages.get(url)
        number = self.counts[url]
        self.counts[url] += 1
        request = Request(url, self._now())
        self.log.append(request)
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(page.delay if page else 0.01)
            if page is None:
                request.outcome = "404"
                raise PageNotFound(f"404 Not Found: {url}")
            if number < page.fails:
                request.outcome = "failed"
                raise ConnectionError(f"503 Service Unavailable: {url} (attempt {number + 1})")
            request.outcome = "ok"
            return list(page.links)
        except asyncio.CancelledError:
            request.outcome = "cancelled"
            raise
        finally:
            self.active -= 1
            request.end = self._now()

    def describe(self):
        """One line per page: its URL, delay, behaviour and links."""
        lines = []
        for url, page in self.pages.items():
            how = ("always fails" if page.fails >= ALWAYS else
                   f"fails {page.fails}x, then works" if page.fails else "")
            lines.append(f"{url:12} {page.delay * 1000:4.0f} ms  {how:22} -> "
                         f"{', '.join(page.links) or '(no links)'}")
        return "\n".join(lines)


def demo_site(slow=0.6):
    """The capstone's site: 11 pages, one flaky, one broken, one slow, and a dead link."""
    return Site({
        "/":           Page(("/about", "/blog", "/shop"), 0.03),
        "/about":      Page(("/", "/team"), 0.04),
        "/team":       Page(("/about",), 0.05),
        "/blog":       Page(("/blog/1", "/blog/2", "/blog/3"), 0.03),
        "/blog/1":     Page(("/blog", "/blog/2"), 0.06),
        "/blog/2":     Page(("/blog", "/missing"), 0.05),     # /missing is not on the site
        "/blog/3":     Page(("/blog", "/slow"), 0.04),
        "/slow":       Page((), slow),                        # far slower than the rest
        "/shop":       Page(("/shop/cart", "/shop/item"), 0.04),
        "/shop/cart":  Page((), 0.03, fails=1),               # fails once, then works
        "/shop/item":  Page(("/shop",), 0.03, fails=ALWAYS),  # a broken page
    })
