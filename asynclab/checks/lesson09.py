"""Checks for the exercises of lesson 09 (patterns): worker_pool."""

import asyncio

from ..language import tr
from .core import exercise


class _Handler:
    """An async handler that records how many calls ran at once and in which tasks."""

    def __init__(self, delay_of, fail_on=None, error=None):
        self.delay_of = delay_of          # job -> seconds
        self.fail_on = fail_on
        self.error = error
        self.active = 0
        self.peak = 0
        self.calls = []                   # jobs, in the order the calls started
        self.finished = 0
        self.tasks = set()

    async def __call__(self, job):
        self.calls.append(job)
        self.tasks.add(asyncio.current_task())
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(self.delay_of(job))
            if self.fail_on is not None and job == self.fail_on:
                raise self.error
            self.finished += 1
            return job * 10
        finally:
            self.active -= 1


def _leftovers(before):
    """Tasks created since `before` that have not ended (the check's own task excluded)."""
    me = asyncio.current_task()
    return [t for t in asyncio.all_tasks() - before if t is not me and not t.done()]


def _stuck(t):
    """True once a case ran out of time: the next cases would too, so the check stops there.
    (t.hung says so in any language; the English words are kept for a verdict that says it too.)"""
    return t.hung or any("did not finish within" in failure for failure in t.failures)


def _names(tasks):
    return ", ".join(sorted(t.get_name() for t in tasks))


async def _no_leftovers(t, before, when):
    left = _leftovers(before)
    t.expect(not left, tr("{when}, {count} task(s) were still pending ({names}): they run on after "
                          "worker_pool has ended, and nobody will see their errors",
                          when=when, count=len(left), names=_names(left)))


@exercise("worker_pool", kind="async", params=["jobs", "handler", "workers"],
          hints=(
              'Exactly `workers` tasks do all the work: where do they take their jobs from, and where'
              ' does each result go so that the order of jobs is kept?',
              'Put each job in a queue together with its position; a worker takes one, handles it, '
              'stores the result at that position, and stops when the queue is empty.',
              'Wait for the workers so that the first error comes out as is; on the way out (return '
              'or error) cancel every worker and wait until they have ended. Check `workers` before '
              'anything else.'))
async def _worker_pool(fn, t):
    # A wrong answer may leave tasks that fail later; asyncio would print their tracebacks
    # ("Task exception was never retrieved").  The cases report what matters in sentences.
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)
    async with t.case(tr("6 jobs, 3 workers: results in job order")):
        # Later jobs finish first, so collecting results as they finish gives the wrong order.
        h = _Handler(lambda job: 0.01 * (7 - job))
        before = asyncio.all_tasks()
        got = await t.run(fn([1, 2, 3, 4, 5, 6], h, 3))
        expected = [10, 20, 30, 40, 50, 60]
        t.expect(isinstance(got, list), tr("it returned {got}; expected a list like {expected}",
                                           got=repr(got), expected=expected))
        t.expect(got == expected, tr("it returned {got}; expected {expected} (the results in the "
                                     "order of the jobs, not in the order they finished)",
                                     got=repr(got), expected=expected))
        t.expect(sorted(h.calls) == [1, 2, 3, 4, 5, 6],
                 tr("the handler was called for the jobs {calls}; expected each of 1..6 once",
                    calls=h.calls))
        await _no_leftovers(t, before, tr("after it returned"))

    if _stuck(t):
        return
    async with t.case(tr("8 jobs, 3 workers: 3 handler calls at once at the peak")):
        h = _Handler(lambda job: 0.03)
        got = await t.run(fn(list(range(8)), h, 3))
        t.expect(h.peak == 3, tr("{peak} handler call(s) ran at the same time at the peak; with 3 "
                                 "workers and 8 jobs there should be exactly 3 (each worker handles "
                                 "one job at a time)", peak=h.peak))

    if _stuck(t):
        return
    async with t.case(tr("9 jobs, 3 workers: the handler runs in exactly 3 worker tasks")):
        h = _Handler(lambda job: 0.01)
        caller = asyncio.current_task()
        await t.run(fn(list(range(9)), h, 3))
        in_caller = caller in h.tasks
        t.expect(not in_caller or len(h.tasks) != 1,
                 tr("every handler call ran in the caller's own task; start 3 worker tasks "
                    "that take jobs from an asyncio.Queue"))
        t.expect(len(h.tasks) == 3, tr("the handler ran in {count} different tasks; expected "
                                       "exactly 3 worker tasks, each handling several jobs (not one "
                                       "task per job)", count=len(h.tasks)))

    if _stuck(t):
        return
    async with t.case(tr("2 jobs, 5 workers: both jobs run at once")):
        h = _Handler(lambda job: 0.03)
        got = await t.run(fn([7, 8], h, 5))
        t.expect(got == [70, 80], tr("it returned {got}; expected [70, 80]", got=repr(got)))
        t.expect(h.peak == 2, tr("{peak} handler call(s) ran at once at the peak; expected 2 (both "
                                 "jobs at the same time)", peak=h.peak))

    if _stuck(t):
        return
    async with t.case(tr("no jobs")):
        h = _Handler(lambda job: 0.01)
        before = asyncio.all_tasks()
        got = await t.run(fn([], h, 3))
        t.expect(got == [], tr("it returned {got}; expected [] for no jobs", got=repr(got)))
        await _no_leftovers(t, before, tr("after it returned"))

    if _stuck(t):
        return
    async with t.case(tr("workers=0 raises ValueError")):
        h = _Handler(lambda job: 0.01)
        try:
            got = await t.run(fn([1, 2], h, 0), limit=0.5)
        except ValueError:
            t.expect(not h.calls, tr("it raised ValueError only after calling the handler"))
        else:
            t.expect(False, tr("it returned {got} for workers=0, without handling a job; expected "
                               "ValueError (no worker can ever take a job)", got=repr(got)))

    if _stuck(t):
        return
    async with t.case(tr("job 3 of 8 raises: the same exception comes out, no worker left behind")):
        boom = ValueError("job 3 is bad")
        h = _Handler(lambda job: 0.01 if job == 3 else 0.2, fail_on=3, error=boom)
        before = asyncio.all_tasks()
        raised = None
        try:
            await t.run(fn(list(range(8)), h, 4))
        except ValueError as err:
            raised = err
        except BaseExceptionGroup as group:
            t.expect(False, tr("it raised {error}; expected the handler's ValueError itself, not "
                               "wrapped in a group (a TaskGroup wraps errors; gather raises the "
                               "first one as is)", error=f"{type(group).__name__}({str(group)!r})"))
        t.expect(raised is not None, tr("it returned normally; expected it to raise the handler's "
                                        "ValueError('job 3 is bad')"))
        t.expect(raised is boom, tr("it raised ValueError({message}); expected the handler's "
                                    "own exception object, raised as is", message=repr(str(raised))))
        t.expect(h.finished == 0, tr("{count} other job(s) were still completed after job 3 "
                                     "had failed (it fails after 10 ms, the others take 200 ms): the "
                                     "workers went on after the first error", count=h.finished))
        await _no_leftovers(t, before, tr("right after it raised"))
        finished = h.finished
        await asyncio.sleep(0.25)
        t.expect(h.finished == finished, tr("handler calls went on finishing after the error; the "
                                            "workers should be stopped (cancelled) when a handler "
                                            "raises"))
