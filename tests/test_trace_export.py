"""Saving a Timeline in the Chrome Trace Event Format (asynclab/trace_export.py).

The structure is checked on a small hand-made timeline whose every number is known (so the
microseconds, the names of the waits, the wait sites and the parent -> child arrows can be
checked exactly), then on real traces.  That Perfetto really shows the file is checked in a
browser by tests/browser/test_trace_in_perfetto.py.
"""

import asyncio
import gzip
import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import asynclab
from asynclab.trace_export import FIRST_TRACK_ID, PROCESS_ID, chrome_trace, save_chrome_trace


# --------------------------------------------------------------------------------------------
# a hand-made timeline, shaped like the tracer's


class Site:
    """Where a task waited, as the tracer describes it."""

    def __init__(self, file, line, function):
        self.file, self.line, self.function = file, line, function

    def __str__(self):
        return f"{self.function}:{self.line}"


class Wait(tuple):
    """A waiting span: unpacks as (start, end, what), and knows its site."""

    def __new__(cls, start, end, what, site=None):
        wait = super().__new__(cls, (start, end, what))
        wait.site = site
        return wait


def record(label, created, running, waiting=(), ready=(), parent=None, outcome="result"):
    return SimpleNamespace(display_name=label, name=label, created=created, running=list(running),
                           waiting=list(waiting), ready=list(ready), parent=parent,
                           outcome=outcome, finished=running[-1][1] if running else None)


def hand_made_timeline():
    """main creates fetch A and fetch B; A sleeps at fetch_page:12; B waits for a Semaphore."""
    main = record("main", 0.0, [(0.000, 0.002), (0.050, 0.051)],
                  waiting=[Wait(0.002, 0.050, "task fetch A", Site("/tmp/demo.py", 30, "main"))])
    a = record("fetch A", 0.0005, [(0.002, 0.003), (0.040, 0.041)],
               ready=[(0.0005, 0.002), (0.030, 0.040)],
               waiting=[Wait(0.003, 0.030, "sleep", Site("/tmp/demo.py", 12, "fetch_page"))],
               parent="main")
    b = record("fetch B", 0.0015, [(0.003, 0.004)],
               ready=[(0.0015, 0.003)],
               waiting=[Wait(0.004, 0.060, "Semaphore")],       # no site known: none in args
               parent="main", outcome="pending")
    b.finished = None
    return SimpleNamespace(tasks=[main, a, b])


def events_of(trace, ph, **match):
    return [e for e in trace["traceEvents"]
            if e["ph"] == ph and all(e.get(k) == v for k, v in match.items())]


def track_names(trace):
    return {e["tid"]: e["args"]["name"] for e in events_of(trace, "M", name="thread_name")}


def slices_on(trace, tid):
    return sorted((e for e in events_of(trace, "X", tid=tid) if e["cat"] != "created"),
                  key=lambda e: e["ts"])


def test_one_named_track_per_task_in_one_named_process():
    trace = chrome_trace(hand_made_timeline())
    assert set(trace) >= {"traceEvents"}
    names = track_names(trace)
    assert [names[tid] for tid in sorted(names)] == ["main", "fetch A", "fetch B"]
    assert len(set(names)) == 3                                      # one track (thread) each
    assert {e["pid"] for e in trace["traceEvents"]} == {PROCESS_ID}
    assert events_of(trace, "M", name="process_name")[0]["args"]["name"] == "asyncio tasks"


def test_slices_for_running_waiting_and_ready_with_durations_in_microseconds():
    trace = chrome_trace(hand_made_timeline())
    a = FIRST_TRACK_ID + 1
    got = [(e["name"], e["cat"], e["ts"], e["dur"]) for e in slices_on(trace, a)]
    assert got == [
        ("ready", "ready", 500.0, 1500.0),
        ("running", "running", 2000.0, 1000.0),
        ("sleep", "waiting", 3000.0, 27000.0),
        ("ready", "ready", 30000.0, 10000.0),
        ("running", "running", 40000.0, 1000.0),
    ]


def test_a_waiting_slice_is_named_by_what_it_waited_for_with_the_site_in_args():
    trace = chrome_trace(hand_made_timeline())
    sleep = events_of(trace, "X", name="sleep")[0]
    assert sleep["args"]["site"] == "fetch_page:12"
    assert (sleep["args"]["file"], sleep["args"]["line"], sleep["args"]["function"]) == \
        ("/tmp/demo.py", 12, "fetch_page")
    semaphore = events_of(trace, "X", name="Semaphore")[0]
    assert "site" not in semaphore["args"]                           # unknown: left out
    assert events_of(trace, "X", name="task fetch A")[0]["args"]["site"] == "main:30"


def test_a_flow_arrow_from_the_parent_to_each_child():
    trace = chrome_trace(hand_made_timeline())
    names = track_names(trace)
    track = {name: tid for tid, name in names.items()}
    starts = [e for e in trace["traceEvents"] if e.get("flow_out")]
    ends = [e for e in trace["traceEvents"] if e.get("flow_in")]
    assert len(starts) == len(ends) == 2
    for child, created_us in [("fetch A", 500.0), ("fetch B", 1500.0)]:
        start = next(e for e in starts if e["args"]["task"] == child)
        end = next(e for e in ends if e["bind_id"] == start["bind_id"])
        assert start["tid"] == track["main"] and start["ts"] == pytest.approx(created_us - 0.01)
        assert start["name"] == f"created {child}"
        # the mark sits inside the running slice of main during which the child was created
        assert 0.0 <= start["ts"] <= 2000.0
        assert end["tid"] == track[child]
        assert end == slices_on(trace, track[child])[0]              # the child's first slice
    assert not [e for e in trace["traceEvents"] if e.get("bind_id") and e["tid"] == track["main"]
                and not e.get("flow_out")]                           # main has no parent


def test_no_flow_without_a_parent():
    """A record with no `ready` or `parent` attribute (made by hand, say) exports too."""
    rec = SimpleNamespace(display_name="A", created=0.0, running=[(0.001, 0.002)],
                          waiting=[(0.002, 0.003, "sleep")], outcome="result", finished=0.003)
    trace = chrome_trace(SimpleNamespace(tasks=[rec]))
    assert not [e for e in trace["traceEvents"] if "bind_id" in e]
    got = [(e["name"], e["ts"], e["dur"]) for e in slices_on(trace, FIRST_TRACK_ID)]
    assert got == [("running", 1000.0, 1000.0), ("sleep", 2000.0, 1000.0)]


def test_a_parent_label_shared_by_two_tasks_picks_the_one_running_at_creation():
    one = record("worker", 0.0, [(0.000, 0.001)])
    two = record("worker", 0.0, [(0.005, 0.006)])
    child = record("child", 0.0055, [(0.007, 0.008)], ready=[(0.0055, 0.007)], parent="worker")
    trace = chrome_trace(SimpleNamespace(tasks=[one, two, child]))
    mark = next(e for e in trace["traceEvents"] if e.get("flow_out"))
    assert mark["tid"] == FIRST_TRACK_ID + 1


# --------------------------------------------------------------------------------------------
# real traces


async def _held_up_by_time_sleep():
    """A sleeps 20 ms while the loop is blocked 60 ms by time.sleep; B creates C."""
    async def a():
        await asyncio.sleep(0.02)

    async def c():
        await asyncio.sleep(0)

    async def b():
        await asyncio.create_task(c(), name="C")

    async def blocker():
        time.sleep(0.06)

    async with asynclab.trace() as tl:
        await asyncio.gather(asyncio.create_task(a(), name="A"),
                             asyncio.create_task(b(), name="B"),
                             asyncio.create_task(blocker(), name="blocker"))
    return tl


def test_a_real_trace_exports_every_recorded_span(tmp_path):
    tl = asyncio.run(_held_up_by_time_sleep())
    path = save_chrome_trace(tl, tmp_path / "trace.json")
    assert path == tmp_path / "trace.json"
    trace = json.loads(path.read_text(encoding="utf-8"))
    names = track_names(trace)
    assert sorted(names.values()) == sorted(r.display_name for r in tl.tasks)
    for index, rec in enumerate(tl.tasks):
        tid = FIRST_TRACK_ID + index
        assert names[tid] == rec.display_name
        slices = slices_on(trace, tid)
        running = [(e["ts"], e["dur"]) for e in slices if e["cat"] == "running"]
        assert len(running) == len(rec.running)
        for (ts, dur), (start, end) in zip(running, rec.running):
            assert ts == pytest.approx(start * 1e6, abs=0.002)
            assert dur == pytest.approx((end - start) * 1e6, abs=0.002)
        waits = [e["name"] for e in slices if e["cat"] == "waiting"]
        assert waits == [w[2] or "waiting" for w in rec.waiting]
        for earlier, later in zip(slices, slices[1:]):              # a track's slices never overlap
            assert earlier["ts"] + earlier["dur"] <= later["ts"] + 1e-6
    a = slices_on(trace, FIRST_TRACK_ID + [r.display_name for r in tl.tasks].index("A"))
    assert "sleep" in [e["name"] for e in a]


def test_a_real_trace_shows_ready_and_parents_when_the_tracer_records_them(tmp_path):
    tl = asyncio.run(_held_up_by_time_sleep())
    c = tl.by_name("C")
    if not hasattr(c, "parent") or not hasattr(c, "ready"):
        pytest.skip("this tracer records no `parent` or `ready` yet")
    assert c.parent == "B"
    trace = chrome_trace(tl)
    labels = [r.display_name for r in tl.tasks]
    mark = next(e for e in trace["traceEvents"] if e.get("flow_out") and e["args"]["task"] == "C")
    assert mark["tid"] == FIRST_TRACK_ID + labels.index("B")
    arrival = next(e for e in trace["traceEvents"]
                   if e.get("flow_in") and e["bind_id"] == mark["bind_id"])
    assert arrival["tid"] == FIRST_TRACK_ID + labels.index("C")
    a = slices_on(trace, FIRST_TRACK_ID + labels.index("A"))
    held_up = [e for e in a if e["cat"] == "ready" and e["dur"] > 20_000]
    assert held_up, "A was ready for most of the time.sleep: a long ready slice"
    sleep = next(e for e in a if e["name"] == "sleep")
    assert sleep["args"]["function"] == "a" and sleep["args"]["file"] == __file__
    assert sleep["args"]["site"] == f"a:{sleep['args']['line']}"


def test_timeline_save_writes_the_same_file(tmp_path):
    tl = asyncio.run(_held_up_by_time_sleep())
    if not hasattr(tl, "save"):
        pytest.skip("Timeline.save() is not there yet")
    tl.save(tmp_path / "saved.json")
    direct = save_chrome_trace(tl, tmp_path / "direct.json")
    saved = json.loads((tmp_path / "saved.json").read_text(encoding="utf-8"))
    assert saved["traceEvents"] == json.loads(direct.read_text(encoding="utf-8"))["traceEvents"]


def test_saved_while_the_trace_is_open_and_gzip_by_name(tmp_path):
    async def main():
        async with asynclab.trace() as tl:
            await asyncio.create_task(asyncio.sleep(0.001), name="nap")
            save_chrome_trace(tl, tmp_path / "open.json.gz")
        return tl

    asyncio.run(main())
    with gzip.open(tmp_path / "open.json.gz", "rt", encoding="utf-8") as f:
        trace = json.load(f)
    assert "nap" in track_names(trace).values()


# --------------------------------------------------------------------------------------------
# bad input: a plain sentence, never a traceback from inside asynclab


def _single_sentence(exc):
    message = str(exc)
    assert message and "\n" not in message and "Traceback" not in message
    assert exc.__cause__ is None
    return message


@pytest.mark.parametrize("not_a_timeline", [None, [], "trace.json", 42, {"tasks": []}])
def test_something_that_is_not_a_timeline(tmp_path, not_a_timeline):
    with pytest.raises(TypeError) as info:
        save_chrome_trace(not_a_timeline, tmp_path / "t.json")
    assert "asynclab.trace()" in _single_sentence(info.value)
    assert not (tmp_path / "t.json").exists()


def test_a_timeline_whose_tasks_are_not_records(tmp_path):
    with pytest.raises(TypeError) as info:
        save_chrome_trace(SimpleNamespace(tasks=[1, 2]), tmp_path / "t.json")
    assert "task records" in _single_sentence(info.value)


def test_paths_that_cannot_be_written(tmp_path, monkeypatch):
    tl = hand_made_timeline()
    with pytest.raises(ValueError) as info:
        save_chrome_trace(tl, tmp_path / "no such folder" / "t.json")
    assert "does not exist" in _single_sentence(info.value)
    with pytest.raises(ValueError) as info:
        save_chrome_trace(tl, tmp_path)
    assert "folder" in _single_sentence(info.value)
    a_file = tmp_path / "a file"
    a_file.write_text("x")
    with pytest.raises(ValueError) as info:
        save_chrome_trace(tl, a_file / "t.json")
    assert "does not exist" in _single_sentence(info.value)
    with pytest.raises(TypeError) as info:
        save_chrome_trace(tl, 3)
    assert "file name" in _single_sentence(info.value)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "write_text", refuse)
    with pytest.raises(ValueError) as info:
        save_chrome_trace(tl, tmp_path / "t.json")
    assert info.value.__suppress_context__                          # no chained traceback
    assert "no permission" in _single_sentence(info.value)
