"""Answers learners really write, for every exercise: the wrong ones and some right ones.

Each entry: (exercise, label, cause, source).  `cause` is None for a correct answer (the check
must pass it), else a regular expression the check's verdict must match (case-insensitive):
the words that name what is actually wrong.  `source` defines the exercise's name; it runs in
a namespace that already has asyncio, collections, time and threading, plus RETRYABLE.
"""

# Mistakes the lessons warn about, in the words of the verdict.
BLOCKED = r"event loop stood still|never gave control back"

ANSWERS = [
    # ---------------------------------------------------------------- once (lesson 01)
    ("once", "awaits the coroutine object twice", r"fn ran|cannot reuse|RuntimeError", """
def once(fn):
    coro = None
    async def run():
        nonlocal coro
        if coro is None:
            coro = fn()
        return await coro
    return run
"""),
    ("once", "caches the result, so fn runs again while the first call waits", r"fn ran 5 times|fn ran \d+ times", """
def once(fn):
    result = None
    async def run():
        nonlocal result
        if result is None:
            result = await fn()
        return result
    return run
"""),
    ("once", "one global Task shared by every once()", r"shares one Task", """
_task = None
def once(fn):
    async def run():
        global _task
        if _task is None:
            _task = asyncio.create_task(fn())
        return await _task
    return run
"""),
    ("once", "starts the Task in once() itself", r"before anyone called", """
def once(fn):
    task = asyncio.ensure_future(fn())
    async def run():
        return await task
    return run
"""),
    ("once", "awaits fn() in the first caller, the others wait on an Event", r"Task of its own|first caller", """
def once(fn):
    state = {}
    async def run():
        if "event" not in state:
            state["event"] = asyncio.Event()
            try:
                state["result"] = await fn()
            except Exception as err:
                state["error"] = err
            state["event"].set()
        await state["event"].wait()
        if "error" in state:
            raise state["error"]
        return state["result"]
    return run
"""),
    ("once", "a Lock and a cached result: runs in the first caller, again after an error",
     r"Task of its own|fn ran \d+ times", """
def once(fn):
    lock = asyncio.Lock()
    state = {}
    async def run():
        async with lock:
            if "result" not in state:
                state["result"] = await fn()
        return state["result"]
    return run
"""),
    ("once", "right: a Future filled by a Task, via a class", None, """
class _Once:
    def __init__(self, fn):
        self.fn, self.task = fn, None
    async def __call__(self):
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self.fn())
        return await self.task
def once(fn):
    runner = _Once(fn)
    async def call():
        return await runner()
    return call
"""),
    # ---------------------------------------------------------------- spawn (lesson 01)
    ("spawn", "never removes the task from keep", r"still in keep", """
def spawn(coro, keep):
    task = asyncio.create_task(coro)
    keep.add(task)
    return task
"""),
    ("spawn", "keeps no reference at all", r"in keep|garbage", """
def spawn(coro, keep):
    return asyncio.create_task(coro)
"""),
    ("spawn", "awaits nothing but returns the coroutine", r"expected the asyncio\.Task|returned <coroutine", """
def spawn(coro, keep):
    keep.add(coro)
    return coro
"""),
    ("spawn", "removes it only when it returned normally", r"raised was still in keep|still in keep", """
def spawn(coro, keep):
    async def wrapped():
        result = await coro
        keep.discard(task)
        return result
    task = asyncio.create_task(wrapped())
    keep.add(task)
    return task
"""),
    ("spawn", "keeps the coroutine, not the Task", r"expected it to hold", """
def spawn(coro, keep):
    keep.add(coro)
    task = asyncio.create_task(coro)
    task.add_done_callback(lambda t: keep.discard(coro))
    return task
"""),
    ("spawn", "empties keep when any task ends", r"touched the others", """
def spawn(coro, keep):
    task = asyncio.create_task(coro)
    keep.add(task)
    task.add_done_callback(lambda t: keep.clear())
    return task
"""),
    ("spawn", "right: removal in a finally inside a wrapper", None, """
def spawn(coro, keep):
    async def wrapped():
        try:
            return await coro
        finally:
            keep.discard(task)
    task = asyncio.ensure_future(wrapped())
    keep.add(task)
    return task
"""),
    # ---------------------------------------------------------------- fetch_all (lesson 02)
    ("fetch_all", "awaits one after another", r"one after another", """
async def fetch_all(fetch, ids):
    return [await fetch(i) for i in ids]
"""),
    ("fetch_all", "as_completed: the order they finished", r"order the fetches finished", """
async def fetch_all(fetch, ids):
    return [await f for f in asyncio.as_completed([fetch(i) for i in ids])]
"""),
    ("fetch_all", "TaskGroup: the error wrapped in a group", r"wrapping the error", """
async def fetch_all(fetch, ids):
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(fetch(i)) for i in ids]
    return [t.result() for t in tasks]
"""),
    ("fetch_all", "plain gather: the other fetches left running after the error", r"still running", """
async def fetch_all(fetch, ids):
    return list(await asyncio.gather(*(fetch(i) for i in ids)))
"""),
    ("fetch_all", "each id fetched once, duplicates share it", r"one call per id", """
async def fetch_all(fetch, ids):
    unique = list(dict.fromkeys(ids))
    tasks = [asyncio.create_task(fetch(i)) for i in unique]
    try:
        results = dict(zip(unique, await asyncio.gather(*tasks)))
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return [results[i] for i in ids]
"""),
    ("fetch_all", "return_exceptions=True, then raise: the error comes late", r"only at \d+ ms", """
async def fetch_all(fetch, ids):
    results = await asyncio.gather(*(fetch(i) for i in ids), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return list(results)
"""),
    ("fetch_all", "tasks awaited in order: the error waits for the slower ones", r"only at \d+ ms|still running", """
async def fetch_all(fetch, ids):
    tasks = [asyncio.create_task(fetch(i)) for i in ids]
    return [await t for t in tasks]
"""),
    ("fetch_all", "right: tasks and asyncio.wait, then the results in order", None, """
async def fetch_all(fetch, ids):
    tasks = [asyncio.create_task(fetch(i)) for i in ids]
    if not tasks:
        return []
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in tasks:
            if t.done() and t.exception() is not None:
                raise t.exception()
        return [t.result() for t in tasks]
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.wait(tasks)
"""),
    # ---------------------------------------------------------------- in_completion_order
    ("in_completion_order", "the order of ids", r"the order of ids", """
async def in_completion_order(fetch, ids):
    results = await asyncio.gather(*(fetch(i) for i in ids))
    return list(zip(ids, results))
"""),
    ("in_completion_order", "one after another", r"one after another", """
async def in_completion_order(fetch, ids):
    return [(i, await fetch(i)) for i in ids]
"""),
    ("in_completion_order", "results without ids", r"\(id, result\) pairs", """
async def in_completion_order(fetch, ids):
    return [await f for f in asyncio.as_completed([fetch(i) for i in ids])]
"""),
    ("in_completion_order", "as_completed of bare coroutines: the rest run on after an error", r"still running", """
async def in_completion_order(fetch, ids):
    async def pair(i):
        return i, await fetch(i)
    return [await f for f in asyncio.as_completed([pair(i) for i in ids])]
"""),
    ("in_completion_order", "right: a Queue filled by done callbacks", None, """
async def in_completion_order(fetch, ids):
    out = []
    tasks = []
    for i in ids:
        task = asyncio.create_task(fetch(i))
        task.add_done_callback(lambda t, i=i: out.append((i, t)))
        tasks.append(task)
    try:
        if tasks:
            await asyncio.gather(*tasks)
        await asyncio.sleep(0)
        return [(i, t.result()) for i, t in out]
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
"""),
    # ---------------------------------------------------------------- bounded_gather (lesson 03)
    ("bounded_gather", "a task per job up front, the Semaphore inside", r"tasks of yours were alive", """
async def bounded_gather(jobs, limit):
    if limit < 1:
        raise ValueError("limit")
    sem = asyncio.Semaphore(limit)
    async def run(job):
        async with sem:
            return await job()
    tasks = [asyncio.create_task(run(j)) for j in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
"""),
    ("bounded_gather", "calls every job up front", r"called \(their coroutines created\)|tasks of yours", """
async def bounded_gather(jobs, limit):
    if limit < 1:
        raise ValueError("limit")
    sem = asyncio.Semaphore(limit)
    async def run(coro):
        async with sem:
            return await coro
    return list(await asyncio.gather(*(run(j()) for j in jobs)))
"""),
    ("bounded_gather", "batches of `limit`", r"batch by batch", """
async def bounded_gather(jobs, limit):
    if limit < 1:
        raise ValueError("limit")
    jobs, out = list(jobs), []
    for k in range(0, len(jobs), limit):
        out += await asyncio.gather(*(j() for j in jobs[k:k + limit]))
    return out
"""),
    ("bounded_gather", "keeps starting jobs after one failed, raises late", r"started after job 1 had failed|at once", """
async def bounded_gather(jobs, limit):
    if limit < 1:
        raise ValueError("limit")
    sem = asyncio.Semaphore(limit)
    tasks = []
    async def run(job):
        try:
            return await job()
        finally:
            sem.release()
    try:
        for job in jobs:
            await sem.acquire()
            tasks.append(asyncio.create_task(run(job)))
        return list(await asyncio.gather(*tasks))
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
"""),
    ("bounded_gather", "no check of the limit (limit 0 waits for ever)", r"ValueError|did not finish", """
async def bounded_gather(jobs, limit):
    sem = asyncio.Semaphore(limit)
    tasks = []
    failed = []
    async def run(job):
        try:
            return await job()
        except BaseException:
            failed.append(1)
            raise
        finally:
            sem.release()
    try:
        for job in jobs:
            await sem.acquire()
            if failed:
                break
            tasks.append(asyncio.create_task(run(job)))
        return list(await asyncio.gather(*tasks))
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
"""),
    ("bounded_gather", "right: `limit` workers pulling from one iterator", None, """
async def bounded_gather(jobs, limit):
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    numbered = enumerate(jobs)
    results = {}
    async def worker():
        for i, job in numbered:
            results[i] = await job()
    workers = [asyncio.create_task(worker()) for _ in range(limit)]
    try:
        await asyncio.gather(*workers)
    finally:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return [results[i] for i in range(len(results))]
"""),
    # ---------------------------------------------------------------- RateLimiter (lesson 03)
    ("RateLimiter", "a fixed-window counter", r"started within", """
class RateLimiter:
    def __init__(self, rate, per=1.0):
        self.rate, self.per = rate, per
        self.window, self.count = None, 0
    async def __aenter__(self):
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if self.window is None or now >= self.window + self.per:
                self.window, self.count = now, 0
            if self.count < self.rate:
                self.count += 1
                return self
            await asyncio.sleep(self.window + self.per - now)
    async def __aexit__(self, *exc):
        return None
"""),
    ("RateLimiter", "a Semaphore(rate)", r"inside `async with limiter:` at once|started within", """
class RateLimiter:
    def __init__(self, rate, per=1.0):
        self.sem = asyncio.Semaphore(rate)
    async def __aenter__(self):
        await self.sem.acquire()
    async def __aexit__(self, *exc):
        self.sem.release()
"""),
    ("RateLimiter", "time.sleep in __aenter__", BLOCKED, """
class RateLimiter:
    def __init__(self, rate, per=1.0):
        self.rate, self.per = rate, per
        self.starts = collections.deque()
    async def __aenter__(self):
        if len(self.starts) == self.rate:
            wait = self.starts[0] + self.per - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.starts.popleft()
        self.starts.append(time.monotonic())
    async def __aexit__(self, *exc):
        return None
"""),
    ("RateLimiter", "entry times on the class", r"share one budget", """
class RateLimiter:
    starts = collections.deque()
    def __init__(self, rate, per=1.0):
        self.rate, self.per = rate, per
    async def __aenter__(self):
        loop = asyncio.get_running_loop()
        while len(self.starts) >= self.rate and loop.time() - self.starts[-self.rate] < self.per:
            await asyncio.sleep(self.starts[-self.rate] + self.per - loop.time())
        self.starts.append(loop.time())
    async def __aexit__(self, *exc):
        return None
"""),
    ("RateLimiter", "__aexit__ returns True: swallows exceptions", r"disappeared", """
class RateLimiter:
    def __init__(self, rate, per=1.0):
        self.rate, self.per = rate, per
        self.starts = collections.deque()
        self.lock = asyncio.Lock()
    async def __aenter__(self):
        loop = asyncio.get_running_loop()
        async with self.lock:
            if len(self.starts) == self.rate:
                await asyncio.sleep(max(0, self.starts.popleft() + self.per - loop.time()))
            self.starts.append(loop.time())
    async def __aexit__(self, *exc):
        return True
"""),
    ("RateLimiter", "a sliding window without turns: waiters wake together", r"started within", """
class RateLimiter:
    def __init__(self, rate, per=1.0):
        self.rate, self.per = rate, per
        self.starts = collections.deque()
    async def __aenter__(self):
        loop = asyncio.get_running_loop()
        if len(self.starts) >= self.rate:
            await asyncio.sleep(max(0, self.starts[-self.rate] + self.per - loop.time()))
        self.starts.append(loop.time())
        return self
    async def __aexit__(self, *exc):
        return None
"""),
    ("RateLimiter", "right: a sliding window, re-checked after every sleep", None, """
class RateLimiter:
    def __init__(self, rate, per=1.0):
        self.rate, self.per = rate, per
        self.starts = []
    async def __aenter__(self):
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            self.starts = [s for s in self.starts if s > now - self.per]
            if len(self.starts) < self.rate:
                self.starts.append(now)
                return self
            await asyncio.sleep(self.starts[0] + self.per - now)
    async def __aexit__(self, *exc):
        return None
"""),
    ("RateLimiter", "right: starts spaced evenly, per/rate apart", None, """
class RateLimiter:
    def __init__(self, rate, per=1.0):
        self.gap = per / rate
        self.next_start = None
    async def __aenter__(self):
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = now if self.next_start is None else max(now, self.next_start)
        self.next_start = start + self.gap
        if start > now:
            await asyncio.sleep(start - now)
        return self
    async def __aexit__(self, *exc):
        return None
"""),
    # ---------------------------------------------------------------- run_sync (lesson 04)
    ("run_sync", "asyncio.run, always", r"cannot be called from a running event loop", """
def run_sync(coro):
    return asyncio.run(coro)
"""),
    ("run_sync", "run_until_complete on the running loop", r"already running|RuntimeError", """
def run_sync(coro):
    if not asyncio.iscoroutine(coro):
        raise TypeError("coroutine needed")
    return asyncio.get_event_loop().run_until_complete(coro)
"""),
    ("run_sync", "a thread pool that keeps its thread", r"still running when run_sync returned|thread", """
import concurrent.futures
_pool = concurrent.futures.ThreadPoolExecutor(1)
def run_sync(coro):
    if not asyncio.iscoroutine(coro):
        raise TypeError("coroutine needed")
    return _pool.submit(asyncio.run, coro).result()
"""),
    ("run_sync", "wraps the error in RuntimeError", r"expected the coroutine's own|not wrapped|raised RuntimeError", """
def run_sync(coro):
    if not asyncio.iscoroutine(coro):
        raise TypeError("coroutine needed")
    out = {}
    def work():
        try:
            out["r"] = asyncio.run(coro)
        except Exception as e:
            out["e"] = e
    th = threading.Thread(target=work)
    th.start()
    th.join()
    if "e" in out:
        raise RuntimeError(f"failed: {out['e']}")
    return out["r"]
"""),
    ("run_sync", "no type check", r"TypeError", """
def run_sync(coro):
    out = {}
    def work():
        try:
            out["r"] = asyncio.run(coro)
        except BaseException as e:
            out["e"] = e
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        work()
    else:
        th = threading.Thread(target=work)
        th.start()
        th.join()
    if "e" in out:
        raise out["e"]
    return out["r"]
"""),
    ("run_sync", "right: a new loop in a new thread, every time", None, """
def run_sync(coro):
    if not asyncio.iscoroutine(coro):
        raise TypeError(f"not a coroutine: {coro!r}")
    box = []
    def work():
        loop = asyncio.new_event_loop()
        try:
            box.append(("ok", loop.run_until_complete(coro)))
        except BaseException as e:
            box.append(("err", e))
        finally:
            loop.close()
    th = threading.Thread(target=work)
    th.start()
    th.join()
    kind, value = box[0]
    if kind == "err":
        raise value
    return value
"""),
    # ---------------------------------------------------------------- gather_settled (lesson 05)
    ("gather_settled", "awaits one after another", r"one after another|at the same time", """
async def gather_settled(*aws):
    out = []
    for aw in aws:
        try:
            out.append(("ok", await aw))
        except Exception as e:
            out.append(("error", e))
    return out
"""),
    ("gather_settled", "as_completed: wrong order", r"wrong order", """
async def gather_settled(*aws):
    out = []
    for f in asyncio.as_completed(aws):
        try:
            out.append(("ok", await f))
        except Exception as e:
            out.append(("error", e))
    return out
"""),
    ("gather_settled", "plain gather: the first error escapes", r"raised ValueError|boom", """
async def gather_settled(*aws):
    return [("ok", x) for x in await asyncio.gather(*aws)]
"""),
    ("gather_settled", "wait(): children not cancelled with it", r"still running", """
async def gather_settled(*aws):
    tasks = [asyncio.ensure_future(a) for a in aws]
    if not tasks:
        return []
    await asyncio.wait(tasks)
    return [("error", t.exception()) if t.exception() else ("ok", t.result()) for t in tasks]
"""),
    ("gather_settled", "swallows its own cancellation", r"should end cancelled|it returned", """
async def gather_settled(*aws):
    try:
        res = await asyncio.gather(*aws, return_exceptions=True)
    except asyncio.CancelledError:
        return []
    return [("error", x) if isinstance(x, BaseException) else ("ok", x) for x in res]
"""),
    ("gather_settled", "right: tasks, wait, and cancel on the way out", None, """
async def gather_settled(*aws):
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        if tasks:
            await asyncio.wait(tasks)
    finally:
        for t in tasks:
            t.cancel()
    out = []
    for t in tasks:
        err = t.exception()
        out.append(("error", err) if err is not None else ("ok", t.result()))
    return out
"""),
    # ---------------------------------------------------------------- with_timeout (lesson 05)
    ("with_timeout", "asyncio.wait: the late work is not cancelled", r"not cancelled", """
async def with_timeout(aw, seconds, default=None):
    task = asyncio.ensure_future(aw)
    done, _ = await asyncio.wait([task], timeout=seconds)
    return task.result() if done else default
"""),
    ("with_timeout", "raises TimeoutError instead of the default", r"TimeoutError|expected None", """
async def with_timeout(aw, seconds, default=None):
    async with asyncio.timeout(seconds):
        return await aw
"""),
    ("with_timeout", "catches every exception", r"expected the work's ValueError|returned None", """
async def with_timeout(aw, seconds, default=None):
    try:
        return await asyncio.wait_for(aw, seconds)
    except Exception:
        return default
"""),
    ("with_timeout", "time.sleep to wait", BLOCKED, """
async def with_timeout(aw, seconds, default=None):
    task = asyncio.ensure_future(aw)
    time.sleep(seconds)
    if task.done():
        return task.result()
    task.cancel()
    return default
"""),
    ("with_timeout", "right: shield-free wait_for", None, """
async def with_timeout(aw, seconds, default=None):
    task = asyncio.ensure_future(aw)
    try:
        return await asyncio.wait_for(task, seconds)
    except TimeoutError:
        if task.cancelled():
            return default
        raise
"""),
    # ---------------------------------------------------------------- race (lesson 06)
    ("race", "FIRST_COMPLETED once: a failure ends the race", r"first \*success\*|expected 'b'", """
async def race(*fns):
    tasks = [asyncio.create_task(f()) for f in fns]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for t in pending:
        t.cancel()
    return done.pop().result()
"""),
    ("race", "the losers are not cancelled", r"not all cancelled|cancelled", """
async def race(*fns):
    tasks = [asyncio.create_task(f()) for f in fns]
    errors = []
    for f in asyncio.as_completed(tasks):
        try:
            return await f
        except Exception as e:
            errors.append(e)
    raise ExceptionGroup("all failed", errors)
"""),
    ("race", "all fail: raises only the last error", r"ExceptionGroup", """
async def race(*fns):
    tasks = [asyncio.create_task(f()) for f in fns]
    try:
        last = None
        for f in asyncio.as_completed(tasks):
            try:
                return await f
            except Exception as e:
                last = e
        raise last
    finally:
        for t in tasks:
            t.cancel()
"""),
    ("race", "a cancelled racer ends the race with CancelledError", r"CancelledError when racer A ended cancelled", """
async def race(*fns):
    tasks = [asyncio.create_task(f()) for f in fns]
    try:
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:
                if t in done and t.exception() is None:
                    return t.result()
        raise ExceptionGroup("all failed", [t.exception() for t in tasks])
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
"""),
    ("race", "one racer after another", r"at once|at the same time", """
async def race(*fns):
    errors = []
    for f in fns:
        try:
            return await f()
        except Exception as e:
            errors.append(e)
    raise ExceptionGroup("all failed", errors)
"""),
    ("race", "right: a Future set by done callbacks", None, """
async def race(*fns):
    if not fns:
        raise ValueError("no racers")
    loop = asyncio.get_running_loop()
    winner = loop.create_future()
    tasks = [asyncio.create_task(f()) for f in fns]
    left = [len(tasks)]
    def finished(t):
        left[0] -= 1
        if not winner.done():
            if not t.cancelled() and t.exception() is None:
                winner.set_result(t.result())
            elif left[0] == 0:
                winner.set_exception(ExceptionGroup("all failed", [
                    RuntimeError("cancelled") if x.cancelled() else x.exception() for x in tasks]))
    for t in tasks:
        t.add_done_callback(finished)
    try:
        return await winner
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
"""),
    # ---------------------------------------------------------------- retry (lesson 06)
    ("retry", "retries every exception, a TypeError too", r"fails the same way every time", """
async def retry(coro_fn, attempts=3, timeout=1.0, backoff=0.1):
    if attempts < 1:
        raise ValueError("attempts")
    for n in range(attempts):
        try:
            async with asyncio.timeout(timeout):
                return await coro_fn()
        except Exception as e:
            last = e
        if n < attempts - 1:
            await asyncio.sleep(backoff * 2 ** n)
    raise last
"""),
    ("retry", "no time limit per attempt", r"still waiting for the first attempt|timeout", """
async def retry(coro_fn, attempts=3, timeout=1.0, backoff=0.1):
    if attempts < 1:
        raise ValueError("attempts")
    for n in range(attempts):
        try:
            return await coro_fn()
        except RETRYABLE as e:
            last = e
        if n < attempts - 1:
            await asyncio.sleep(backoff * 2 ** n)
    raise last
"""),
    ("retry", "the same pause every time", r"double", """
async def retry(coro_fn, attempts=3, timeout=1.0, backoff=0.1):
    if attempts < 1:
        raise ValueError("attempts")
    for n in range(attempts):
        try:
            async with asyncio.timeout(timeout):
                return await coro_fn()
        except RETRYABLE as e:
            last = e
        if n < attempts - 1:
            await asyncio.sleep(backoff)
    raise last
"""),
    ("retry", "pauses after the last attempt too", r"do not pause after the last|took", """
async def retry(coro_fn, attempts=3, timeout=1.0, backoff=0.1):
    if attempts < 1:
        raise ValueError("attempts")
    for n in range(attempts):
        try:
            async with asyncio.timeout(timeout):
                return await coro_fn()
        except RETRYABLE as e:
            last = e
        await asyncio.sleep(backoff * 2 ** n)
    raise last
"""),
    ("retry", "off by one: one attempt too few", r"expected 'done on attempt 4'|called coro_fn 3 times", """
async def retry(coro_fn, attempts=3, timeout=1.0, backoff=0.1):
    if attempts < 1:
        raise ValueError("attempts")
    last = None
    for n in range(1, attempts):
        try:
            async with asyncio.timeout(timeout):
                return await coro_fn()
        except RETRYABLE as e:
            last = e
        await asyncio.sleep(backoff * 2 ** (n - 1))
    raise last
"""),
    ("retry", "time.sleep for the pause", BLOCKED, """
async def retry(coro_fn, attempts=3, timeout=1.0, backoff=0.1):
    if attempts < 1:
        raise ValueError("attempts")
    for n in range(attempts):
        try:
            async with asyncio.timeout(timeout):
                return await coro_fn()
        except RETRYABLE as e:
            last = e
        if n < attempts - 1:
            time.sleep(backoff * 2 ** n)
    raise last
"""),
    ("retry", "right: wait_for, recursion", None, """
async def retry(coro_fn, attempts=3, timeout=1.0, backoff=0.1):
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    try:
        return await asyncio.wait_for(coro_fn(), timeout)
    except (ConnectionError, TimeoutError):
        if attempts == 1:
            raise
    await asyncio.sleep(backoff)
    return await retry(coro_fn, attempts - 1, timeout, backoff * 2)
"""),
    # ---------------------------------------------------------------- run_blocking_all (lesson 07)
    ("run_blocking_all", "calls them on the loop", r"event loop's own thread|stood still", """
async def run_blocking_all(fns, limit):
    return [fn() for fn in fns]
"""),
    ("run_blocking_all", "threads, but one after another", r"ran at once|at the same time", """
async def run_blocking_all(fns, limit):
    return [await asyncio.to_thread(fn) for fn in fns]
"""),
    ("run_blocking_all", "no limit", r"ran at once; the limit", """
async def run_blocking_all(fns, limit):
    return list(await asyncio.gather(*(asyncio.to_thread(fn) for fn in fns)))
"""),
    ("run_blocking_all", "waits for a pool with .result(): blocks the loop", BLOCKED + r"|in a blocking way", """
import concurrent.futures
async def run_blocking_all(fns, limit):
    with concurrent.futures.ThreadPoolExecutor(limit) as pool:
        futures = [pool.submit(fn) for fn in fns]
        return [f.result() for f in futures]
"""),
    ("run_blocking_all", "off by one: Semaphore(limit - 1)", r"ran at once|did not finish", """
async def run_blocking_all(fns, limit):
    gate = asyncio.Semaphore(limit - 1)
    async def one(fn):
        async with gate:
            return await asyncio.to_thread(fn)
    return list(await asyncio.gather(*(one(fn) for fn in fns)))
"""),
    ("run_blocking_all", "right: run_in_executor on a pool of `limit` threads", None, """
import concurrent.futures
async def run_blocking_all(fns, limit):
    loop = asyncio.get_running_loop()
    pool = concurrent.futures.ThreadPoolExecutor(limit)
    futures = [loop.run_in_executor(pool, fn) for fn in fns]
    try:
        return list(await asyncio.gather(*futures))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
"""),
    # ---------------------------------------------------------------- find_stuck (lesson 08)
    ("find_stuck", "includes itself", r"the task that called find_stuck", """
async def find_stuck():
    out = {}
    for t in asyncio.all_tasks():
        f = t.get_stack()[-1]
        out[t.get_name()] = f"{f.f_code.co_name}:{f.f_lineno}"
    return out
"""),
    ("find_stuck", "the line where the function starts", r"expected '_waits_on_event", """
async def find_stuck():
    me = asyncio.current_task()
    return {t.get_name(): f"{t.get_coro().__name__}:{t.get_coro().cr_code.co_firstlineno}"
            for t in asyncio.all_tasks() if t is not me}
"""),
    ("find_stuck", "the coroutine's repr instead of name:line", r"expected", """
async def find_stuck():
    me = asyncio.current_task()
    return {t.get_name(): repr(t.get_coro()) for t in asyncio.all_tasks() if t is not me}
"""),
    ("find_stuck", "a list of names", r"expected a dict", """
async def find_stuck():
    me = asyncio.current_task()
    return [t.get_name() for t in asyncio.all_tasks() if t is not me]
"""),
    ("find_stuck", "right: the coroutine's own frame, cr_frame", None, """
async def find_stuck():
    me = asyncio.current_task()
    found = {}
    for t in asyncio.all_tasks():
        frame = getattr(t.get_coro(), "cr_frame", None)      # the task's own coroutine
        if t is not me and frame is not None:
            found[t.get_name()] = f"{frame.f_code.co_name}:{frame.f_lineno}"
    return found
"""),
    # ---------------------------------------------------------------- worker_pool (lesson 09)
    ("worker_pool", "a task per job", r"different tasks", """
async def worker_pool(jobs, handler, workers):
    if workers < 1:
        raise ValueError("workers")
    return list(await asyncio.gather(*(handler(j) for j in jobs)))
"""),
    ("worker_pool", "results in the order they finished", r"order of the jobs", """
async def worker_pool(jobs, handler, workers):
    if workers < 1:
        raise ValueError("workers")
    q = asyncio.Queue()
    for j in jobs:
        q.put_nowait(j)
    out = []
    async def worker():
        while not q.empty():
            out.append(await handler(q.get_nowait()))
    ts = [asyncio.create_task(worker()) for _ in range(workers)]
    try:
        await asyncio.gather(*ts)
    finally:
        for t in ts:
            t.cancel()
        await asyncio.gather(*ts, return_exceptions=True)
    return out
"""),
    ("worker_pool", "workers not cancelled after an error", r"still pending|still completed|went on", """
async def worker_pool(jobs, handler, workers):
    if workers < 1:
        raise ValueError("workers")
    jobs = list(jobs)
    res = [None] * len(jobs)
    q = asyncio.Queue()
    for i, j in enumerate(jobs):
        q.put_nowait((i, j))
    async def worker():
        while not q.empty():
            i, j = q.get_nowait()
            res[i] = await handler(j)
    await asyncio.gather(*(asyncio.create_task(worker()) for _ in range(workers)))
    return res
"""),
    ("worker_pool", "workers=0 returns [None, None]", r"workers=0", """
async def worker_pool(jobs, handler, workers):
    jobs = list(jobs)
    res = [None] * len(jobs)
    q = asyncio.Queue()
    for i, j in enumerate(jobs):
        q.put_nowait((i, j))
    async def worker():
        while not q.empty():
            i, j = q.get_nowait()
            res[i] = await handler(j)
    ts = [asyncio.create_task(worker()) for _ in range(workers)]
    try:
        await asyncio.gather(*ts)
    finally:
        for t in ts:
            t.cancel()
        await asyncio.gather(*ts, return_exceptions=True)
    return res
"""),
    ("worker_pool", "a TaskGroup: the error wrapped", r"not wrapped in a group|ExceptionGroup", """
async def worker_pool(jobs, handler, workers):
    if workers < 1:
        raise ValueError("workers")
    jobs = list(jobs)
    res = [None] * len(jobs)
    q = asyncio.Queue()
    for i, j in enumerate(jobs):
        q.put_nowait((i, j))
    async def worker():
        while not q.empty():
            i, j = q.get_nowait()
            res[i] = await handler(j)
    async with asyncio.TaskGroup() as tg:
        for _ in range(workers):
            tg.create_task(worker())
    return res
"""),
    ("worker_pool", "right: queue.join with sentinels", None, """
async def worker_pool(jobs, handler, workers):
    if workers < 1:
        raise ValueError("need a worker")
    jobs = list(jobs)
    res = [None] * len(jobs)
    q = asyncio.Queue()
    for item in enumerate(jobs):
        q.put_nowait(item)
    for _ in range(workers):
        q.put_nowait(None)
    async def worker():
        while (item := await q.get()) is not None:
            res[item[0]] = await handler(item[1])
    ts = [asyncio.create_task(worker()) for _ in range(workers)]
    try:
        await asyncio.gather(*ts)
        return res
    finally:
        for t in ts:
            t.cancel()
        await asyncio.wait(ts)
"""),
    # ---------------------------------------------------------------- crawl (lesson 10)
    ("crawl", "one page after another", r"only 1 request was in flight", """
async def crawl(site, start, limit, timeout=0.5, retries=1):
    pages, failures, todo, seen, n = set(), {}, [start], {start}, 0
    while todo:
        url = todo.pop()
        for attempt in range(retries + 1):
            try:
                async with asyncio.timeout(timeout):
                    links = await site.fetch(url)
                pages.add(url)
                for l in links:
                    if l not in seen:
                        seen.add(l)
                        todo.append(l)
                break
            except PageNotFound as e:
                failures[url] = e
                break
            except (ConnectionError, TimeoutError) as e:
                if attempt == retries:
                    failures[url] = e
                else:
                    n += 1
    return {"pages": pages, "failures": failures, "retries": n}
"""),
    ("crawl", "marks a URL seen after fetching it", r"fetched more than once", """
async def crawl(site, start, limit, timeout=0.5, retries=1):
    pages, failures, seen, n = set(), {}, set(), [0]
    sem = asyncio.Semaphore(limit)
    async def visit(url):
        for attempt in range(retries + 1):
            try:
                async with sem:
                    async with asyncio.timeout(timeout):
                        links = await site.fetch(url)
                break
            except PageNotFound as e:
                failures[url] = e
                return
            except (ConnectionError, TimeoutError) as e:
                if attempt == retries:
                    failures[url] = e
                    return
                n[0] += 1
        seen.add(url)
        pages.add(url)
        for l in links:
            if l not in seen:
                tg.create_task(visit(l))
    async with asyncio.TaskGroup() as tg:
        tg.create_task(visit(start))
    return {"pages": pages, "failures": failures, "retries": n[0]}
"""),
    ("crawl", "no limit on requests", r"the limit was", """
async def crawl(site, start, limit, timeout=0.5, retries=1):
    pages, failures, seen, n = set(), {}, {start}, [0]
    async def visit(url):
        for attempt in range(retries + 1):
            try:
                async with asyncio.timeout(timeout):
                    links = await site.fetch(url)
                break
            except PageNotFound as e:
                failures[url] = e
                return
            except (ConnectionError, TimeoutError) as e:
                if attempt == retries:
                    failures[url] = e
                    return
                n[0] += 1
        pages.add(url)
        for l in links:
            if l not in seen:
                seen.add(l)
                tg.create_task(visit(l))
    async with asyncio.TaskGroup() as tg:
        tg.create_task(visit(start))
    return {"pages": pages, "failures": failures, "retries": n[0]}
"""),
    ("crawl", "retries a 404", r"should not be retried", """
async def crawl(site, start, limit, timeout=0.5, retries=1):
    pages, failures, seen, n = set(), {}, {start}, [0]
    sem = asyncio.Semaphore(limit)
    async def visit(url):
        for attempt in range(retries + 1):
            try:
                async with sem:
                    async with asyncio.timeout(timeout):
                        links = await site.fetch(url)
                break
            except Exception as e:
                if attempt == retries:
                    failures[url] = e
                    return
                n[0] += 1
        pages.add(url)
        for l in links:
            if l not in seen:
                seen.add(l)
                tg.create_task(visit(l))
    async with asyncio.TaskGroup() as tg:
        tg.create_task(visit(start))
    return {"pages": pages, "failures": failures, "retries": n[0]}
"""),
    ("crawl", "no time limit per attempt", r"TimeoutError|took", """
async def crawl(site, start, limit, timeout=0.5, retries=1):
    pages, failures, seen, n = set(), {}, {start}, [0]
    sem = asyncio.Semaphore(limit)
    async def visit(url):
        for attempt in range(retries + 1):
            try:
                async with sem:
                    links = await site.fetch(url)
                break
            except PageNotFound as e:
                failures[url] = e
                return
            except (ConnectionError, TimeoutError) as e:
                if attempt == retries:
                    failures[url] = e
                    return
                n[0] += 1
        pages.add(url)
        for l in links:
            if l not in seen:
                seen.add(l)
                tg.create_task(visit(l))
    async with asyncio.TaskGroup() as tg:
        tg.create_task(visit(start))
    return {"pages": pages, "failures": failures, "retries": n[0]}
"""),
    ("crawl", "right: a queue and `limit` workers", None, """
async def crawl(site, start, limit, timeout=0.5, retries=1):
    pages, failures, seen, n = set(), {}, {start}, [0]
    q = asyncio.Queue()
    q.put_nowait(start)
    async def get(url):
        for attempt in range(retries + 1):
            try:
                async with asyncio.timeout(timeout):
                    return await site.fetch(url)
            except PageNotFound as e:
                failures[url] = e
                return None
            except (ConnectionError, TimeoutError) as e:
                if attempt == retries:
                    failures[url] = e
                    return None
                n[0] += 1
    async def worker():
        while True:
            url = await q.get()
            try:
                links = await get(url)
                if links is not None:
                    pages.add(url)
                    for l in links:
                        if l not in seen:
                            seen.add(l)
                            q.put_nowait(l)
            finally:
                q.task_done()
    ws = [asyncio.create_task(worker()) for _ in range(limit)]
    try:
        await q.join()
    finally:
        for w in ws:
            w.cancel()
        await asyncio.gather(*ws, return_exceptions=True)
    return {"pages": pages, "failures": failures, "retries": n[0]}
"""),
]
