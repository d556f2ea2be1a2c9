"""Every exercise check survives every kind of bad answer (issue: robust under learner mistakes).

For each registered exercise we build the answers learners really write when stuck: code that
never finishes, blocks the loop, raises anything (CancelledError, KeyboardInterrupt,
SystemExit, ExceptionGroup), returns the wrong thing, is `def` where `async def` was asked
(or the reverse), is still the stub, or takes the wrong parameters.  Each check must come
back within its time limit with a plain sentence, never a traceback, and leave the
interpreter usable.  The verdicts and times are printed as a table at the end of the run.
"""

import asyncio
import threading
import time

import pytest

from asynclab.checks import check
from asynclab.checks.core import _REGISTRY, STUB_MESSAGE

LIMIT = 2.5          # the time limit the checks get here (the default in notebooks is 6 s)
SLACK = 1.5          # what we allow on top of it on a busy machine
TABLE = []           # rows for the summary printed by conftest.py


def _raiser(exc_factory):
    return exc_factory


RAISES = {
    "raises ValueError": lambda: ValueError("bad value"),
    "raises CancelledError": lambda: asyncio.CancelledError(),
    "raises KeyboardInterrupt": lambda: KeyboardInterrupt(),
    "raises SystemExit": lambda: SystemExit(3),
    "raises ExceptionGroup": lambda: ExceptionGroup("several", [ValueError("a"), KeyError("b")]),
}


def bad_async_answers():
    """name -> (answer, words the verdict must contain)"""
    async def awaits_forever(*args, **kwargs):
        await asyncio.Event().wait()

    async def deadlocks_on_a_lock(*args, **kwargs):
        lock = asyncio.Lock()
        async with lock:
            async with lock:
                pass

    async def fills_a_queue(*args, **kwargs):
        queue = asyncio.Queue(1)
        await queue.put(1)
        await queue.put(2)

    async def blocks_with_time_sleep(*args, **kwargs):
        time.sleep(LIMIT + 6)

    async def busy_loop(*args, **kwargs):
        while True:
            pass

    async def wrong_type(*args, **kwargs):
        return object()

    def plain_function(*args, **kwargs):
        return []

    async def stub(*args, **kwargs):
        raise NotImplementedError(STUB_MESSAGE)

    async def interrupt_in_a_child_task(*args, **kwargs):
        async def child():
            raise KeyboardInterrupt
        await asyncio.create_task(child())

    def blocks_on_a_thread_lock(*args, **kwargs):
        lock = threading.Lock()
        lock.acquire()
        lock.acquire(timeout=LIMIT + 6)      # a deadlock (ends later, to keep the test run clean)

    async def deadlocks_on_a_thread_lock(*args, **kwargs):
        blocks_on_a_thread_lock()

    answers = {
        "awaits forever": (awaits_forever, ["did not finish"]),
        "KeyboardInterrupt in a task it started": (interrupt_in_a_child_task, ["KeyboardInterrupt"]),
        "deadlocks on a threading.Lock": (deadlocks_on_a_thread_lock, ["gave up"]),
        "deadlocks on a lock": (deadlocks_on_a_lock, ["did not finish"]),
        "awaits put on a full queue": (fills_a_queue, ["did not finish"]),
        "blocks the loop with time.sleep": (blocks_with_time_sleep, ["gave up", "time.sleep"]),
        "busy loop": (busy_loop, ["gave up"]),
        "returns the wrong type": (wrong_type, ["object"]),
        "plain def instead of async def": (plain_function, ["async def"]),
        "the stub": (stub, ["not solved yet"]),
    }
    for label, make in RAISES.items():
        async def raiser(*args, _make=make, **kwargs):
            raise _make()
        answers[label] = (raiser, [type(make()).__name__])
    return answers


def bad_sync_answers():
    def returns_a_coroutine_fn_that_never_finishes(*args, **kwargs):
        async def forever(*a, **k):
            await asyncio.Event().wait()
        return forever

    def blocks(*args, **kwargs):
        time.sleep(LIMIT + 6)

    def busy_loop(*args, **kwargs):
        while True:
            pass

    def wrong_type(*args, **kwargs):
        return object()

    async def async_instead(*args, **kwargs):
        return None

    def stub(*args, **kwargs):
        raise NotImplementedError(STUB_MESSAGE)

    answers = {
        "returns something that never finishes": (returns_a_coroutine_fn_that_never_finishes, []),
        "blocks with time.sleep": (blocks, ["gave up", "time.sleep"]),
        "busy loop": (busy_loop, ["gave up"]),
        "returns the wrong type": (wrong_type, []),
        "async def instead of def": (async_instead, ["plain `def`"]),
        "the stub": (stub, ["not solved yet"]),
    }
    for label, make in RAISES.items():
        def raiser(*args, _make=make, **kwargs):
            raise _make()
        answers[label] = (raiser, [type(make()).__name__])
    return answers


def bad_class_answers():
    def cm(enter):
        return type("Answer", (), {"__init__": lambda self, *a, **k: None, "__aenter__": enter,
                                   "__aexit__": _aexit})

    async def forever(self):
        await asyncio.Event().wait()

    async def blocks(self):
        time.sleep(LIMIT + 6)

    async def busy(self):
        while True:
            pass

    def stub_init(self, *a, **k):
        raise NotImplementedError(STUB_MESSAGE)

    answers = {
        "__aenter__ awaits forever": (cm(forever), ["did not finish"]),
        "__aenter__ blocks with time.sleep": (cm(blocks), ["gave up"]),
        "__aenter__ busy loop": (cm(busy), ["gave up"]),
        "no __aenter__ at all": (type("Answer", (), {"__init__": lambda self, *a, **k: None}), []),
        "a function, not a class": (lambda *a, **k: None, ["should be a class"]),
        "the stub": (type("Answer", (), {"__init__": stub_init, "__aenter__": forever,
                                         "__aexit__": _aexit}), ["not solved yet"]),
    }
    for label, make in RAISES.items():
        async def enter(self, _make=make):
            raise _make()
        answers[f"__aenter__ {label}"] = (cm(enter), [type(make()).__name__])
    return answers


async def _aexit(self, *exc):
    return False


def _wrong_signatures(params):
    """Parameter lists a learner might write instead of `params`."""
    wrong = {"wrong signature (one parameter too many)": [*params, "extra"]}
    if params:
        wrong["wrong signature (no parameters)"] = []
    if len(params) > 1:
        wrong["wrong signature (last parameter missing)"] = params[:-1]
    return wrong


def _function_taking(names, kind):
    """A function with exactly these required parameters, `async def` or `def` as `kind` asks."""
    source = f"{'async ' if kind == 'async' else ''}def answer({', '.join(names)}):\n    return None\n"
    namespace = {}
    exec(source, namespace)
    return namespace["answer"]


# The verdict each kind of answer must get, where it does not depend on the exercise.
STATUS = {"the stub": "not solved", "plain def instead of async def": "unusable",
          "async def instead of def": "unusable", "a function, not a class": "unusable",
          "not a function at all (42)": "unusable"}


def cases():
    for name, spec in sorted(_REGISTRY.items()):
        kind = spec["kind"]
        answers = {"async": bad_async_answers, "sync": bad_sync_answers,
                   "class": bad_class_answers}[kind]()
        if kind in ("async", "sync") and spec["params"] is not None:
            for label, names in _wrong_signatures(spec["params"]).items():
                answers[label] = (_function_taking(names, kind), ["should take the parameters"])
        answers["not a function at all (42)"] = (42, ["should be"])
        for label, (answer, words) in answers.items():
            yield pytest.param(name, label, answer, words, id=f"{name}-{label}")


@pytest.mark.parametrize("exercise,label,answer,words", list(cases()))
def test_a_bad_answer_gets_a_plain_verdict_in_time(exercise, label, answer, words):
    started = time.perf_counter()
    result = check(answer, exercise=exercise, limit=LIMIT)
    seconds = time.perf_counter() - started
    message = result.message
    lines = message.splitlines()
    said = lines[1].strip(" -") if len(lines) > 1 and "cases went wrong" in lines[0] else lines[0]
    TABLE.append((exercise, label, result.status, seconds, said))
    assert seconds < LIMIT + SLACK, f"took {seconds:.1f} s"
    assert not result.passed
    assert "Traceback" not in message and 'File "' not in message
    assert message.strip()
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    if label in STATUS or label.startswith("wrong signature"):
        assert result.status == STATUS.get(label, "unusable"), message
    # The interpreter is still usable: a fresh loop runs, and nothing of ours is spinning.
    assert asyncio.run(asyncio.sleep(0, result="ok")) == "ok"
    busy = [t for t in threading.enumerate() if t.name.startswith("asynclab-check") and t.is_alive()]
    for t in busy:
        t.join(0.1)


def test_the_default_limit_holds_too():
    """In a notebook, check(fn) has its default limit: a busy loop is stopped within it."""
    from asynclab.checks.core import CHECK_LIMIT

    async def fetch_all(fetch, ids):
        while True:
            pass

    started = time.perf_counter()
    result = check(fetch_all)
    assert result.status == "timeout"
    assert time.perf_counter() - started < CHECK_LIMIT + SLACK


def test_a_dummy_exercise_reports_each_case():
    """The machinery itself, on an exercise registered here."""
    from asynclab.checks.core import exercise

    @exercise("double_it", kind="async", params=["x"], hints=("Twice x.",))
    async def _cases(fn, t):
        for x in (1, 2, 3):
            async with t.case(f"x={x}"):
                got = await t.run(fn(x))
                t.expect(got == 2 * x, f"it returned {got!r}; expected {2 * x}")

    try:
        async def double_it(x):
            return x * 2

        async def off_by_one(x):
            return x * 2 + (x == 3)

        assert check(double_it).passed
        wrong = check(off_by_one, exercise="double_it")
        assert wrong.status == "failed"
        assert "x=3: it returned 7; expected 6" in wrong.message
        assert "Stuck? hint(double_it) gives hint 1 of 1." in wrong.message
        assert "Twice x." not in wrong.message          # the hint only when asked for
        assert "1 of 3 cases" in wrong.message
        unknown = check(lambda: 0, exercise="nope")
        assert "There is no exercise called 'nope'" in unknown.message
    finally:
        _REGISTRY.pop("double_it", None)
