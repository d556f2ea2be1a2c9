"""What each lesson demonstrates comes out the same on a machine whose cores are all busy.

Each lesson runs once normally and once while busy processes keep every core loaded; what
it printed is compared after blanking what is *meant* to vary (durations, addresses, big
ids).  Orders, counts and error messages must match exactly.  The lessons' own asserts run
in both runs too, so a demo whose margins are too thin fails here.

The loaded run also proves that no lesson touches the network: a first cell, added for the
test, makes any connection or name lookup beyond this machine raise an error in the kernel.
"""

import difflib
import os
import re
import subprocess
import sys

import nbformat
import pytest

from nbrun import ROOT, Executed, execute, run_notebook

LESSONS = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))]

_VARYING = [
    (re.compile(r"0x[0-9a-f]+"), "0x…"),
    (re.compile(r"\bTask-\d+"), "Task-…"),
    (re.compile(r"\d+(\.\d+)?\s?(ms|µs|us|s|sec|seconds|second)\b"), "… \\2"),   # durations
    (re.compile(r"\d+\.\d+"), "…"),                                      # other measurements
    (re.compile(r"\b\d{4,}\b"), "…"),                                    # pids, thread ids, ports
    (re.compile(r"/tmp/[^\s'\"]+"), "/tmp/…"),                           # temp files
    (re.compile(r"line \d+"), "line …"),
    # Lesson 07 says what this machine's cores did with its two processes: on a loaded machine
    # they honestly take turns.  That the lesson says *something* is checked; what, varies.
    (re.compile(r"^what this machine did: .*$", re.M), "what this machine did: …"),
    # How many steps a timeline has depends on how often a heartbeat ticked (lesson 07).
    (re.compile(r"replay of its \d+ steps"), "replay of its … steps"),
]


def normalise(text):
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    return [line.rstrip() for line in text.splitlines() if "WARNING | Kernel is running over TCP" not in line]


@pytest.fixture(scope="module")
def quiet_runs():
    """What each lesson printed on a quiet machine: run before the busy processes start (taken
    from the suite's own runs when the lesson tests ran first in this process)."""
    return {relpath: normalise(execute(relpath).text) for relpath in LESSONS}


@pytest.fixture(scope="module")
def busy_cores(quiet_runs):
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(os.cpu_count() or 2)]
    yield len(burners)
    for p in burners:
        p.kill()
        p.wait(timeout=10)


@pytest.mark.load
@pytest.mark.parametrize("relpath", LESSONS)
def test_a_lesson_shows_the_same_under_load(relpath, quiet_runs, busy_cores):
    quiet = quiet_runs[relpath]
    loaded = normalise(_execute_fresh(relpath).text)      # fails if a cell errs, or reaches out
    if quiet != loaded:
        diff = "\n".join(difflib.unified_diff(quiet, loaded, "quiet run", f"with {busy_cores} busy cores",
                                              lineterm="", n=1))
        pytest.fail(f"{relpath} printed something different under load:\n{diff}")


NO_NETWORK = """
import socket as _socket
_LOCAL = ("127.", "::1", "localhost", "0.0.0.0")

def _refuse_remote(address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and not host.startswith(_LOCAL):
        raise OSError(f"test: a lesson tried to reach {address!r} beyond this machine")

_connect, _connect_ex, _getaddrinfo = (_socket.socket.connect, _socket.socket.connect_ex,
                                      _socket.getaddrinfo)
def _guarded_connect(self, address):
    if self.family in (_socket.AF_INET, _socket.AF_INET6):
        _refuse_remote(address)
    return _connect(self, address)
def _guarded_connect_ex(self, address):
    if self.family in (_socket.AF_INET, _socket.AF_INET6):
        _refuse_remote(address)
    return _connect_ex(self, address)
def _guarded_getaddrinfo(host, *args, **kwargs):
    _refuse_remote((host if isinstance(host, str) else "127.0.0.1", 0))
    return _getaddrinfo(host, *args, **kwargs)
_socket.socket.connect, _socket.socket.connect_ex = _guarded_connect, _guarded_connect_ex
_socket.getaddrinfo = _guarded_getaddrinfo
"""


def _execute_fresh(relpath):
    """Run the notebook again in a new kernel, with the no-network cell first."""
    path = ROOT / relpath
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(NO_NETWORK))
    run_notebook(nb, f"{relpath} (under load)", path.parent)
    nb.cells.pop(0)
    return Executed(path, nb, 0.0)


def test_the_network_guard_works():
    """The guard cell really refuses a connection beyond this machine (and allows loopback)."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(NO_NETWORK),
        nbformat.v4.new_code_cell(
            "import socket\n"
            "try:\n"
            "    socket.create_connection(('192.0.2.1', 80), timeout=1)\n"
            "except OSError as e:\n"
            "    print('refused:', e)\n"
            "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
            "socket.create_connection(s.getsockname(), timeout=1).close(); print('loopback ok')")])
    run_notebook(nb, "network guard", ROOT, timeout=60)
    out = nb.cells[1].outputs[0].text
    assert "refused: test: a lesson tried to reach" in out and "loopback ok" in out
