"""Simulated I/O: requests that take a fixed, known time and touch no network.

Lessons use these instead of real HTTP so that every run takes the same time and
every bar on a timeline says which request it is.
"""

import asyncio

from .language import tr
from .tracer import label_current_task


async def fetch(label, delay=0.05, *, result=None, fail=None):
    """Pretend to fetch `label`: wait `delay` seconds, then return `result`.

    The result defaults to the string f"<{label}>".  With `fail` set to an exception
    (or True, for a ConnectionError), raise it after the delay instead, as a failed
    request would.  Inside `asynclab.trace()` the task's row is labelled "fetch <label>".
    """
    if not isinstance(delay, (int, float)) or delay < 0:
        raise ValueError(tr("delay must be a number of seconds >= 0, not {delay!r}", delay=delay))
    label_current_task(f"fetch {label}")
    await asyncio.sleep(delay)
    if fail:
        if fail is True:
            fail = ConnectionError(f"simulated failure fetching {label!r}")
        raise fail
    return f"<{label}>" if result is None else result
