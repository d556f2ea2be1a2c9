"""Lesson 03 (Semaphore limits): every claim the lesson makes, and the exercise checks.

(a) plain tests that reproduce each claim with asyncio.run(), independent of the notebook;
(b) tests that read what the executed lesson printed;
(c) the checks: the solutions pass, wrong answers fail with a sentence that names the
    problem, and the stubs say "not solved".  Bad answers of every kind (issue 6) are
    tested for all exercises at once in test_checks_robust.py.
Timing assertions use wide margins only (2x and more).
"""

import asyncio
import re
import sys
import textwrap
import time

import pytest

import asynclab
from asynclab.checks import check
from nbrun import ROOT, execute

LESSON = "notebooks/03-semaphore-limits.ipynb"

# `with sem:` (no `async`): what each Python says.
WITH_SEM = ("'asyncio.locks.Semaphore' object does not support the context manager protocol (missed __exit__ "
            "method) but it supports the asynchronous context manager protocol. Did you mean to use 'async with'?"
            if sys.version_info >= (3, 14) else
            "'Semaphore' object does not support the context manager protocol")


# ---------------------------------------------------------------- (a) the claims, directly

class Inside:
    def __init__(self):
        self.now = self.most = 0

    def __enter__(self):
        self.now += 1
        self.most = max(self.most, self.now)

    def __exit__(self, *exc):
        self.now -= 1


def test_semaphore_gate_lets_k_in_and_the_rest_wait_in_order():
    async def main():
        sem, inside = asyncio.Semaphore(3), Inside()

        async def request(i):
            async with sem:
                with inside:
                    await asyncio.sleep(0.03)

        async with asynclab.trace() as tl:
            await asyncio.gather(*(asyncio.create_task(request(i), name=f"req {i}") for i in range(8)))
        waited = [r.name for r in tl.tasks if any(w == "Semaphore" for _, _, w in r.waiting)]
        return inside.most, waited, tl.max_concurrency()

    most, waited, alive = asyncio.run(main())
    assert most == 3
    assert waited == [f"req {i}" for i in range(3, 8)]     # first come, first served
    assert alive == 8                                      # all tasks exist, most of them waiting


def test_waiting_at_the_gate_is_followed_by_ready_not_by_running():
    """Orange then pink: a request past the limit waits for "Semaphore"; the release that hands it
    the permit queues its next step, so it is ready from then until that step runs."""
    async def main():
        sem = asyncio.Semaphore(3)

        async def request(i):
            async with sem:
                await asyncio.sleep(0.03)

        async with asynclab.trace() as tl:
            await asyncio.gather(*(asyncio.create_task(request(i), name=f"req {i}") for i in range(8)))
        return tl

    tl = asyncio.run(main())
    assert "Semaphore" not in [what for _, _, what in tl.by_name("req 0").waiting]
    for rec in tl.tasks:
        assert rec.ready and rec.ready[0][0] == rec.created        # ready at the start: its first turn
        gate = [end for _, end, what in rec.waiting if what == "Semaphore"]
        assert len(gate) == (int(rec.name.split()[1]) >= 3), rec.waiting     # past the limit: once
        for opened in gate:
            assert opened in [start for start, _ in rec.ready], (rec.name, rec.waiting, rec.ready)


def test_gate_before_create_task_keeps_task_count_at_k():
    async def main():
        sem = asyncio.Semaphore(3)

        async def job(i):
            try:
                await asyncio.sleep(0.02)
                return i
            finally:
                sem.release()

        async with asynclab.trace() as tl:
            tasks = []
            for i in range(8):
                await sem.acquire()
                tasks.append(asyncio.create_task(job(i), name=f"req {i}"))
            results = await asyncio.gather(*tasks)
        return tl.max_concurrency(), results

    alive, results = asyncio.run(main())
    assert alive == 3
    assert results == list(range(8))


def test_manual_acquire_leaks_a_permit_when_the_block_raises():
    async def main():
        sem = asyncio.Semaphore(2)

        async def careless():
            await sem.acquire()
            await asyncio.sleep(0.01)
            raise ConnectionError("boom")

        await asyncio.gather(careless(), careless(), return_exceptions=True)
        state = (sem.locked(), sem._value, "[locked]" in repr(sem))
        try:
            await asyncio.wait_for(sem.acquire(), 0.1)
            stuck = False
        except TimeoutError:
            stuck = True
        return state, stuck

    (locked, value, shown), stuck = asyncio.run(main())
    assert locked and value == 0 and shown
    assert stuck


def test_async_with_releases_when_the_block_raises():
    async def main():
        sem = asyncio.Semaphore(2)

        async def careful():
            async with sem:
                await asyncio.sleep(0.01)
                raise ConnectionError("boom")

        await asyncio.gather(careful(), careful(), return_exceptions=True)
        return sem.locked(), sem._value, repr(sem)

    locked, value, text = asyncio.run(main())
    assert not locked and value == 2 and "[unlocked, value:2]" in text


def test_a_semaphore_per_request_limits_nothing():
    async def main():
        inside = Inside()

        async def limited(sem):
            async with sem:
                with inside:
                    await asyncio.sleep(0.02)

        tasks = [asyncio.create_task(limited(asyncio.Semaphore(2))) for _ in range(8)]
        await asyncio.gather(*tasks)
        return inside.most

    assert asyncio.run(main()) == 8


def _busiest(starts, per, slack=0.001):
    starts = sorted(starts)
    return max(sum(1 for s in starts if a <= s < a + per - slack) for a in starts)


def test_a_semaphore_is_not_a_rate_limiter():
    async def main():
        loop = asyncio.get_running_loop()
        sem, starts = asyncio.Semaphore(3), []

        async def one():
            async with sem:
                starts.append(loop.time())
                await asyncio.sleep(0.01)

        await asyncio.gather(*(one() for _ in range(12)))
        return starts

    starts = asyncio.run(main())
    assert _busiest(starts, 0.1) > 3          # in the lesson: 12 of 12 in the busiest 100 ms


def test_the_lessons_rate_limiter_limits_starts_not_overlap():
    """SpacedStarts, as the lesson defines it: <= rate starts per window, bodies overlap freely."""
    (source,) = _cell_sources(LESSON, "class SpacedStarts")
    namespace = {"asyncio": asyncio, "asynclab": asynclab}
    exec(compile(source, LESSON, "exec"), namespace)

    async def main():
        loop = asyncio.get_running_loop()
        limiter, starts, inside = namespace["SpacedStarts"](3, 0.1), [], Inside()

        async def one():
            async with limiter:
                starts.append(loop.time())
                with inside:
                    await asyncio.sleep(0.6)

        await asyncio.gather(*(one() for _ in range(6)))
        return starts, inside.most

    starts, most = asyncio.run(main())
    assert namespace["busiest_window"](starts, 0.1) <= 3
    assert _busiest(starts, 0.1) <= 3
    assert most == 6                          # 6 starts within ~170 ms, each body 600 ms


def test_bounded_semaphore_refuses_a_release_too_many():
    async def main():
        plain = asyncio.Semaphore(2)
        plain.release()
        bounded = asyncio.BoundedSemaphore(2)
        try:
            bounded.release()
        except ValueError as e:
            return plain._value, f"{type(e).__name__}: {e}", bounded._value
        return plain._value, None, bounded._value

    plain_value, message, bounded_value = asyncio.run(main())
    assert plain_value == 3                   # a plain Semaphore quietly raises its limit
    assert message == "ValueError: BoundedSemaphore released too many times"
    assert bounded_value == 2


def test_common_mistake_messages():
    async def main():
        sem = asyncio.Semaphore(2)
        try:
            with sem:
                pass
        except TypeError as e:
            return str(e)

    assert asyncio.run(main()) == WITH_SEM
    with pytest.raises(ValueError) as err:
        asyncio.Semaphore(-1)
    assert str(err.value) == "Semaphore initial value must be >= 0"
    asyncio.Semaphore(0)                      # allowed: the lesson says so


def test_cancel_only_asks_then_awaiting_the_task_shows_it_stopped():
    async def main():
        sem = asyncio.Semaphore(0)                  # nobody gets a permit: the task waits forever

        async def waits():
            async with sem:
                pass

        task = asyncio.create_task(waits())
        await asyncio.sleep(0.01)
        task.cancel()
        right_after = task.done()
        outcome = await asyncio.gather(task, return_exceptions=True)
        return right_after, task.done(), task.cancelled(), [type(o).__name__ for o in outcome]

    assert asyncio.run(main()) == (False, True, True, ["CancelledError"])


def test_a_semaphore_has_no_way_to_change_its_limit():
    assert [n for n in dir(asyncio.Semaphore(2)) if not n.startswith("_")] == ["acquire", "locked", "release"]


def _adjustable_limit():
    (source,) = _cell_sources(LESSON, "class AdjustableLimit")
    namespace = {"asyncio": asyncio}
    exec(compile(source, LESSON, "exec"), namespace)
    return namespace["AdjustableLimit"]


def test_adjustable_limit_follows_its_limit_up_and_down():
    AdjustableLimit = _adjustable_limit()

    async def main():
        limit, entries, inside = AdjustableLimit(2), [], Inside()

        async def request(i):
            async with limit:
                with inside:
                    entries.append((i, limit.limit, limit.inside, inside.now))
                    await asyncio.sleep(0.06)

        loop = asyncio.get_running_loop()
        loop.call_later(0.15, limit.set_limit, 4)
        loop.call_later(0.315, limit.set_limit, 1)
        await asyncio.gather(*(request(i) for i in range(20)))
        return entries, limit.inside

    entries, left_inside = asyncio.run(main())
    assert [i for i, *_ in entries] == list(range(20))               # first come, first served
    assert all(really <= counted <= at for _, at, counted, really in entries)   # (a slot is taken for
    # a waiter when it is let in, a moment before it runs)
    most = {}
    for _, at, counted, _ in entries:
        most[at] = max(most.get(at, 0), counted)
    assert most == {2: 2, 4: 4, 1: 1}
    assert left_inside == 0


def test_adjustable_limit_cancelled_waiters_give_up_their_place():
    AdjustableLimit = _adjustable_limit()

    async def main():
        limit = AdjustableLimit(1)
        order = []

        async def request(i):
            async with limit:
                order.append(i)
                await asyncio.sleep(0.02)

        tasks = [asyncio.create_task(request(i)) for i in range(4)]
        await asyncio.sleep(0.005)
        tasks[1].cancel()                                      # waiting at the gate
        limit.set_limit(2)                                     # lets the next two in at once
        tasks[2].cancel()                                      # let in, cancelled before it entered
        await asyncio.gather(*tasks, return_exceptions=True)
        return order, limit.inside, [t.cancelled() for t in tasks]

    assert asyncio.run(main()) == ([0, 3], 0, [False, True, True, False])


def test_choosing_k_time_drops_then_flattens():
    async def measure(k):
        server, client = asyncio.Semaphore(4), asyncio.Semaphore(k)

        async def call():
            async with client:
                async with server:
                    await asyncio.sleep(0.03)

        start = time.perf_counter()
        await asyncio.gather(*(call() for _ in range(12)))
        return time.perf_counter() - start

    total = {k: min(asyncio.run(measure(k)) for _ in range(3)) for k in (1, 4, 12)}
    assert total[1] > 2 * total[4]
    assert min(total[4], total[12]) > 0.9 * 3 * 0.03     # never better than 3 server rounds


# ---------------------------------------------------------------- (b) what the lesson printed

@pytest.fixture(scope="module")
def run():
    return execute(LESSON)


def test_lesson_gate(run):
    text = run.text_of("async def request(i):")
    assert "most inside the Semaphore at once: 3 (k = 3)" in text
    assert "waited at the gate: ['req 3', 'req 4', 'req 5', 'req 6', 'req 7']" in text
    text = run.text_of("async def request_then_release(i):")
    assert "tasks in progress at once, at most: 3 (k = 3)" in text
    assert "results in order: ['<req 0>', '<req 1>'," in text



def test_lesson_waiting_versus_ready(run):
    text = run.text_of("# waiting (orange for the Semaphore) versus ready (pink)")
    ms = r"[\d.]+ ms"
    assert re.fullmatch(
        rf"req 0: ready \(pink\) for its first turn, {ms} to {ms}\n"
        r"  never waited for the Semaphore\n"
        rf"req 3: ready \(pink\) for its first turn, {ms} to {ms}\n"
        rf"  waiting for the Semaphore \(orange\) {ms} to ({ms}), then ready \(pink\) \1 to {ms}\n",
        text), text


def test_lesson_leak_and_fix(run):
    text = run.text_of("async def careless(i, fail):")
    assert "ConnectionError: simulated failure fetching 'job 0'" in text
    assert "ConnectionError: simulated failure fetching 'job 1'" in text
    assert "[locked]>" in text
    assert "sem.locked() = True, permits left (sem._value) = 0" in text
    text = run.text_of('name="later job"')
    assert "after 200 ms the later job is still waiting" in text
    assert "what it waited for: ['Semaphore']" in text
    assert "right after cancel(): done = False" in text
    assert "after awaiting it:    done = True, cancelled = True, gather gave back ['CancelledError']" in text
    text = run.text_of("async def careful(i, fail):")
    assert "[unlocked, value:2]>" in text
    assert "sem.locked() = False, permits left (sem._value) = 2" in text


def test_lesson_semaphore_in_the_loop_body(run):
    assert "most inside at once: 8 (the limit was meant to be 2)" in run.text_of("BUG: a new Semaphore")
    assert "most inside at once: 2 (k = 2)" in run.text_of("one Semaphore, shared by all")


def test_lesson_rate(run):
    text = run.text_of("RATE, PER = 3, 0.100")
    # the exact count in the busiest window depends on the machine's timing; the lesson asserts it
    assert re.search(r"Semaphore\(3\): all 12 requests started within \d+ ms, "
                     r"more than the 3 per 100 ms the API allows", text), text
    assert re.search(r"SpacedStarts\(3, 0.1\): the 12 starts spread over \d+ ms, "
                     r"never more than 3 in any 100 ms", text), text


def test_lesson_bounded_semaphore(run):
    assert "[unlocked, value:3]>  (permits: 3)" in run.text_of("sem = asyncio.Semaphore(2)\nawait double")
    text = run.text_of("bounded = asyncio.BoundedSemaphore(2)")
    assert "ValueError: BoundedSemaphore released too many times" in text
    assert "(permits: 2)" in text


def test_lesson_choosing_k(run):
    text = run.text_of("async def measure(k):")
    rows = dict((int(k), (int(t), int(l))) for k, t, l in
                re.findall(r"^k = (\d+): whole batch (\d+) ms, each request (\d+) ms on average$", text, re.M))
    assert sorted(rows) == [1, 2, 3, 4, 6, 8, 12]
    assert rows[1][0] > 2 * rows[4][0]
    assert min(rows[k][0] for k in (4, 6, 8, 12)) > 0.9 * 90        # flat: never under 3 rounds
    assert rows[12][1] > rows[4][1]


def test_lesson_changing_the_limit(run):
    assert run.text_of("what a Semaphore lets you do").strip() == \
        "what a Semaphore lets you do: ['acquire', 'locked', 'release']"
    assert run.text_of("limit = AdjustableLimit(2)").strip().splitlines()[:3] == [
        "while the limit was 2: at most 2 inside when a request entered",
        "while the limit was 4: at most 4 inside when a request entered",
        "while the limit was 1: at most 1 inside when a request entered"]


def test_lesson_predictions_reveal_what_happened(run):
    took = re.search(r"the whole batch took (\d+) ms", run.text_of("async def request(i):")).group(1)
    assert run.revealed("asynclab.reveal(my_guess, round(tl.duration")[0] == f"{took} ms"
    assert run.revealed("async def request_then_release(i):")[0] == "3"
    assert run.revealed("async def careless(i, fail):")[0] == "0"
    assert run.revealed("BUG: a new Semaphore")[0] == "8"
    assert run.revealed("sem = asyncio.Semaphore(2)\nawait double")[0] == "3"
    # how many of the 12 started within the first 100 ms under Semaphore(3): the count the lesson
    # printed (all 12 start within a few tens of ms; the exact count is the machine's, so it is read
    # back).  At least the first 3; more unless the loop stalled ~90 ms in between (seen once, on
    # a machine running two test suites): that more than 3 start in some 100 ms is the lesson's own
    # assert (busiest_window), which does not depend on where a stall falls.
    rate = run.text_of("RATE, PER = 3, 0.100")
    first = int(re.search(r"Semaphore\(3\): (\d+) of the 12 requests started within the first 100 ms", rate).group(1))
    assert first >= 3 and run.revealed("RATE, PER = 3, 0.100")[0] == str(first)
    # where the total stops improving: the smallest k within 15 % of the fastest, from the rows printed
    text = run.text_of("async def measure(k):")
    totals = {int(k): int(t) for k, t in re.findall(r"^k = (\d+): whole batch (\d+) ms", text, re.M)}
    knee = int(re.search(r"^the total stops improving at k = (\d+) ", text, re.M).group(1))
    assert knee in totals and run.revealed("async def measure(k):")[0] == str(knee)
    assert totals[knee] <= 1.15 * min(totals.values()) + 1      # the k it names is that fast (+1: rows are whole ms)


def test_lesson_common_mistakes(run):
    lines = run.text_of("    with sem:\n        pass").strip().splitlines()
    assert lines[0] == f"TypeError: {WITH_SEM}"
    assert lines[1] == ("(Python 3.11 to 3.13 say only: TypeError: 'Semaphore' object does not support the "
                        "context manager protocol)" if sys.version_info >= (3, 14) else
                        "(Python 3.14+ adds: ... but it supports the asynchronous context manager protocol. "
                        "Did you mean to use 'async with'?)")
    assert "ValueError: Semaphore initial value must be >= 0" in run.text_of("asyncio.Semaphore(-1)")


def test_lesson_draws_its_timelines(run):
    assert run.images() >= 6
    assert "VBox" in run.text_of("asynclab.playground(")


def _cell_sources(relpath, *needles):
    import nbformat
    nb = nbformat.read(str(ROOT / relpath), as_version=4)
    found = []
    for needle in needles:
        cells = [c.source for c in nb.cells if c.cell_type == "code" and needle in c.source]
        assert len(cells) == 1, (relpath, needle)
        found.append(cells[0])
    return found


def test_playground_redraws_with_the_limit():
    """The playground's scenario, run as a slider move would run it."""
    pytest.importorskip("ipywidgets")
    namespace = {}
    for source in _cell_sources(LESSON, "import asynclab", "class InsideCounter", "async def semaphore_scenario"):
        exec(compile(source.replace("asynclab.versions();", ""), LESSON, "exec"), namespace)
    pg = namespace["pg"]
    assert pg.runs == 1 and pg.timeline is not None
    pg.set(tasks=6, k=2, job_ms=30, gate="async with in each task")
    assert pg.runs == 2
    assert pg.timeline.max_concurrency() == 6          # every task exists; most wait at the gate
    assert sum(any(w == "Semaphore" for _, _, w in r.waiting) for r in pg.timeline.tasks) == 4
    assert "at most 2 inside at once" in pg.caption.value
    pg.set(gate="acquire before create_task")
    assert pg.timeline.max_concurrency() == 2
    assert "at most 2 inside at once" in pg.caption.value


# ---------------------------------------------------------------- (c) the exercise checks

def _load(relpath):
    namespace = {}
    for source in _cell_sources(relpath, "import collections", "async def bounded_gather",
                                "class RateLimiter"):
        exec(compile(source, relpath, "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def solution():
    return _load("solutions/03-semaphore-limits.ipynb")


def test_solutions_pass(solution):
    for name in ("bounded_gather", "RateLimiter"):
        result = check(solution[name])
        assert result.passed, result.message
        assert result.seconds < 3, f"{name}: the check took {result.seconds:.1f} s"


def test_stubs_are_not_solved():
    stub = _load("exercises/03-semaphore-limits.ipynb")
    for name in ("bounded_gather", "RateLimiter"):
        result = check(stub[name])
        assert result.status == "not solved", result.message
        assert "not solved yet" in result.message


# Wrong answers to bounded_gather, each with words its message must contain.
WRONG_BOUNDED = {
    "sequential": ("""
        async def bounded_gather(jobs, limit):
            if limit < 1:
                raise ValueError(limit)
            return [await job() for job in jobs]
        """, "did not run concurrently"),
    "no limit at all": ("""
        async def bounded_gather(jobs, limit):
            if limit < 1:
                raise ValueError(limit)
            return list(await asyncio.gather(*(job() for job in jobs)))
        """, "the limit was 2"),
    "calls every job up front": ("""
        async def bounded_gather(jobs, limit):
            if limit < 1:
                raise ValueError(limit)
            sem = asyncio.Semaphore(limit)
            async def run(coro):
                async with sem:
                    return await coro
            return list(await asyncio.gather(*(run(job()) for job in jobs)))
        """, "their coroutines were created long before"),
    "Semaphore in the loop body": ("""
        async def bounded_gather(jobs, limit):
            if limit < 1:
                raise ValueError(limit)
            async def run(job):
                async with asyncio.Semaphore(limit):
                    return await job()
            return list(await asyncio.gather(*(run(job) for job in jobs)))
        """, "the limit was 2"),
    "completion order": ("""
        async def bounded_gather(jobs, limit):
            if limit < 1:
                raise ValueError(limit)
            sem = asyncio.Semaphore(limit)
            async def run(job):
                async with sem:
                    return await job()
            return [await f for f in asyncio.as_completed([run(job) for job in jobs])]
        """, "in the order the jobs finished"),
    "batch by batch": ("""
        async def bounded_gather(jobs, limit):
            if limit < 1:
                raise ValueError(limit)
            jobs, out = list(jobs), []
            for i in range(0, len(jobs), limit):
                out += await asyncio.gather(*(job() for job in jobs[i:i + limit]))
            return out
        """, "not batch by batch"),
    "no check of the limit": ("""
        async def bounded_gather(jobs, limit):
            sem = asyncio.Semaphore(max(limit, 0))
            async def run(job):
                async with sem:
                    return await job()
            return list(await asyncio.gather(*(run(job) for job in jobs)))
        """, "limit 0 raises ValueError"),
    "leaves jobs running after a failure": ("""
        async def bounded_gather(jobs, limit):
            if limit < 1:
                raise ValueError(limit)
            sem = asyncio.Semaphore(limit)
            async def run(job):
                async with sem:
                    return await job()
            return list(await asyncio.gather(*(run(job) for job in jobs)))
        """, "started after job 1 had failed"),
    "TaskGroup wraps the error": ("""
        async def bounded_gather(jobs, limit):
            if limit < 1:
                raise ValueError(limit)
            sem = asyncio.Semaphore(limit)
            async def run(job):
                async with sem:
                    return await job()
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(run(job)) for job in jobs]
            return [t.result() for t in tasks]
        """, "ExceptionGroup"),
    "returns a tuple": ("""
        async def bounded_gather(jobs, limit):
            if limit < 1:
                raise ValueError(limit)
            sem = asyncio.Semaphore(limit)
            async def run(job):
                async with sem:
                    return await job()
            return tuple(await asyncio.gather(*(run(job) for job in jobs)))
        """, "expected the list"),
}

WRONG_RATE = {
    "a Semaphore": ("""
        class RateLimiter:
            def __init__(self, rate, per=1.0):
                self.sem = asyncio.Semaphore(rate)
            async def __aenter__(self):
                await self.sem.acquire()
            async def __aexit__(self, *exc):
                self.sem.release()
        """, "at most 3 may start in any 200 ms"),
    "holds the slot for `per` after the body": ("""
        class RateLimiter:
            def __init__(self, rate, per=1.0):
                self.sem, self.per = asyncio.Semaphore(rate), per
            async def __aenter__(self):
                await self.sem.acquire()
            async def __aexit__(self, *exc):
                asyncio.get_running_loop().call_later(self.per, self.sem.release)
        """, "not how many run at once"),
    "one rate too many (off by one)": ("""
        class RateLimiter:
            def __init__(self, rate, per=1.0):
                self.rate, self.per, self.starts = rate, per, collections.deque()
            async def __aenter__(self):
                loop = asyncio.get_running_loop()
                while len(self.starts) > self.rate and loop.time() - self.starts[0] < self.per:
                    await asyncio.sleep(self.starts[0] + self.per - loop.time())
                while self.starts and loop.time() - self.starts[0] >= self.per:
                    self.starts.popleft()
                self.starts.append(loop.time())
            async def __aexit__(self, *exc):
                pass
        """, "at most 3 may start"),
    "far too slow": ("""
        class RateLimiter:
            def __init__(self, rate, per=1.0):
                self.per, self.lock = per, asyncio.Lock()
            async def __aenter__(self):
                async with self.lock:
                    await asyncio.sleep(self.per / 2)
            async def __aexit__(self, *exc):
                pass
        """, "waits longer than needed"),
    "budget shared by all limiters": ("""
        class RateLimiter:
            starts = collections.deque()
            def __init__(self, rate, per=1.0):
                self.rate, self.per = rate, per
            async def __aenter__(self):
                loop = asyncio.get_running_loop()
                while len(self.starts) >= self.rate:
                    if loop.time() - self.starts[0] >= self.per:
                        self.starts.popleft()
                    else:
                        await asyncio.sleep(self.starts[0] + self.per - loop.time())
                self.starts.append(loop.time())
            async def __aexit__(self, *exc):
                pass
        """, "share one budget"),
    "swallows exceptions": ("""
        class RateLimiter:
            def __init__(self, rate, per=1.0):
                pass
            async def __aenter__(self):
                pass
            async def __aexit__(self, *exc):
                return True
        """, "started within"),
    "sync context manager only": ("""
        class RateLimiter:
            def __init__(self, rate, per=1.0):
                pass
            def __enter__(self):
                pass
            def __exit__(self, *exc):
                pass
        """, "cannot use it"),
}


def _define(source, name):
    namespace = {"asyncio": asyncio, "collections": __import__("collections"), "time": time}
    exec(textwrap.dedent(source), namespace)
    return namespace[name]


@pytest.mark.parametrize("kind", list(WRONG_BOUNDED))
def test_wrong_bounded_gather_fails_with_a_reason(kind):
    source, words = WRONG_BOUNDED[kind]
    result = check(_define(source, "bounded_gather"))
    assert result.status == "failed", result.message
    assert words in result.message, result.message
    assert "Traceback" not in result.message


@pytest.mark.parametrize("kind", list(WRONG_RATE))
def test_wrong_rate_limiter_fails_with_a_reason(kind):
    source, words = WRONG_RATE[kind]
    result = check(_define(source, "RateLimiter"))
    assert result.status == "failed", result.message
    assert words in result.message, result.message
    assert "Traceback" not in result.message


def test_a_correct_limiter_is_not_blamed_for_a_late_loop():
    """A limiter that plans one start every per/rate lets an entry in late when the loop was busy,
    and the next on time.  Seen beside the browser tests: entries 3 to 6 within 185 ms of 200.  The
    check allows for the lateness its heartbeat measured in the case, never more than half a window,
    and still rejects the bursts of wrong answers."""
    from asynclab.checks.lesson03 import _crowded_window
    planned = [0.0, 0.0667, 0.1333, 0.2, 0.2667, 0.3333]
    late_third = planned[:2] + [planned[2] + 0.03] + planned[3:]
    assert _crowded_window(planned, 3, 0.2) is None
    assert _crowded_window(late_third, 3, 0.2) is not None          # as before: blamed
    assert _crowded_window(late_third, 3, 0.2, late=0.031) is None  # the loop was 31 ms late
    burst = [0.0] * 6                                              # a Semaphore, no waiting
    fixed_window_edge = [0.0, 0.15, 0.15, 0.2, 0.2, 0.2]           # a counter reset every 200 ms
    for wrong in (burst, fixed_window_edge):
        assert _crowded_window(wrong, 3, 0.2, late=1.0) is not None


def test_the_replay_walk_answers_who_passes_the_gate_next(run):
    assert "An explorable timeline of 3 tasks" in run.text_of("gate_tl.explore(step=4)")
    step4, step5 = run.text_of("steps = replay(gate_tl)").splitlines()
    assert step4.startswith("step 4: A runs; waiting: ") and "('C', 'Semaphore')" in step4, step4
    assert step5.startswith("step 5: C runs; waiting: ") and "('B', 'sleep')" in step5, step5
