"""Fixtures for the browser tests: a throwaway JupyterLab and a headless Chromium driving it.

Nothing here touches the committed notebooks or the learner's own Jupyter setup:

- what a learner has after cloning (lessons, exercises, solutions, README; see
  tests/learner_tree.py) is copied into a temporary folder that JupyterLab serves as its root,
  as `make lab` serves the repository, so the lessons' links work and running them (and
  JupyterLab's autosave) writes only to the copy;
- Jupyter's config, data, runtime, settings and workspace folders, IPython's and matplotlib's
  are all temporary, so a learner's themes, extensions or startup files cannot interfere;
  the extensions installed in this venv (the ipywidgets one) still load, since Jupyter
  always looks in `sys.prefix/share/jupyter`;
- the server and every kernel it started are stopped at the end, whatever happened.

The browser is Debian's `chromium` (Playwright's own browser downloads are not used).
Where it is missing the tests are skipped, and the summary says so in plain words.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from learner_tree import copy_learner_tree

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("ASYNCLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SKIP_REASON = "chromium not installed: apt-get install chromium to run the browser tests"
SERVER_START_LIMIT = 120     # seconds JupyterLab may take to answer (a busy 2-core machine is slow)
VIEWPORT = {"width": 1400, "height": 1000}

# JupyterLab user settings for the test server (JSON, in its temporary settings folder).
LAB_SETTINGS = {
    # Render every cell, not only those on screen, so that outputs can be counted.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # The copy is temporary anyway; no autosave keeps the run free of save traffic.
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    # No news or update toasts over the screenshots, and no network.
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def chromium_available():
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


# --------------------------------------------------------------------------------------------
# skipping, plainly


_skipped_for_chromium = []


def pytest_collection_modifyitems(config, items):
    if chromium_available():
        return
    mark = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(mark)
            _skipped_for_chromium.append(item.nodeid)


def pytest_terminal_summary(terminalreporter):
    if _skipped_for_chromium:
        terminalreporter.write_line(
            f"SKIPPED {len(_skipped_for_chromium)} browser tests (JupyterLab in Chromium): {SKIP_REASON}",
            yellow=True, bold=True)


# --------------------------------------------------------------------------------------------
# the JupyterLab server


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """A `jupyter lab` process on 127.0.0.1 serving a temporary copy of the learner's files."""

    def __init__(self, base: Path):
        self.base = base
        self.root = base / "root"                       # what JupyterLab serves
        self.runtime = base / "runtime"                 # kernels' connection files live here
        self.log_path = base / "jupyterlab.log"
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self._log = None

    # -- set up

    def prepare(self):
        copy_learner_tree(self.root)
        settings = self.base / "lab-settings"
        for plugin, values in LAB_SETTINGS.items():
            package, name = plugin.rsplit("/", 1)
            path = settings / package / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values, indent=2), encoding="utf-8")
        for sub in ("config", "data", "runtime", "workspaces", "ipython", "matplotlib"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)

    def env(self):
        env = dict(os.environ)
        env.update({
            "JUPYTER_CONFIG_DIR": str(self.base / "config"),
            "JUPYTER_DATA_DIR": str(self.base / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.runtime),
            "JUPYTERLAB_SETTINGS_DIR": str(self.base / "lab-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.base / "workspaces"),
            "IPYTHONDIR": str(self.base / "ipython"),
            "MPLCONFIGDIR": str(self.base / "matplotlib"),
            "JUPYTER_PREFER_ENV_PATH": "1",          # this venv's kernels and extensions first
            "PYTHONUNBUFFERED": "1",
        })
        env.pop("JUPYTER_PATH", None)                # only the venv's and the system's share/jupyter
        env.pop("JUPYTER_CONFIG_PATH", None)
        return env

    def command(self):
        root_ok = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []  # CI containers
        return [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root}",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.expose_app_in_browser=True",   # window.jupyterapp: run Lab's own commands
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ] + root_ok

    # -- run

    def start(self):
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command(), cwd=self.root, env=self.env(),
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + SERVER_START_LIMIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.api_url("/api/status"), timeout=5) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_LIMIT} s:\n{self.log_tail()}")

    def api_url(self, path):
        return f"{self.url}{path}?token={self.token}"

    def lab_url(self, relpath):
        return f"{self.url}/lab/tree/{relpath}?token={self.token}&reset"

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- tear down: the server, then any kernel it left behind, each by its own pid

    def stop(self):
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                try:      # a clean shutdown also shuts the kernels down
                    req = urllib.request.Request(self.api_url("/api/shutdown"), method="POST")
                    urllib.request.urlopen(req, timeout=10).close()
                except OSError:
                    pass
                try:
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    self._signal_group(signal.SIGTERM)
                    try:
                        self.proc.wait(10)
                    except subprocess.TimeoutExpired:
                        self._signal_group(signal.SIGKILL)
                        self.proc.wait(10)
        finally:
            self._kill_leftover_kernels()
            if self._log:
                self._log.close()

    def _signal_group(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _kill_leftover_kernels(self):
        """Kernels run in their own sessions; find ours by their connection file's folder."""
        marker = str(self.runtime).encode()
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker in cmdline and int(entry.name) != os.getpid():
                try:
                    os.kill(int(entry.name), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass


# Module scope, not session: Playwright's sync API runs an event loop in the main thread while
# it is started, and later tests in the same run need that thread free for asyncio.run().
@pytest.fixture(scope="module")
def lab_server():
    if not chromium_available():
        pytest.skip(SKIP_REASON)
    base = Path(tempfile.mkdtemp(prefix="asynclab-browser-"))
    server = LabServer(base)
    try:
        server.prepare()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# the browser


@pytest.fixture(scope="module")
def browser():
    if not chromium_available():
        pytest.skip(SKIP_REASON)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install -r requirements-dev.txt")
    pw = sync_playwright().start()
    try:
        # A new, empty profile for every launch (Playwright's default), headless.
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                               timeout=90_000)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


@pytest.fixture
def page(browser, lab_server):
    """A fresh browser context (no cookies, no storage) with one page."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
