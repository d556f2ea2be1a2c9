"""Which front end and kernel this code runs in: what a lesson's first cell reports.

Lessons behave differently in a few places depending on the kernel (ipykernel 6 names the task
that runs a cell `Kernel.dispatch_queue`, ipykernel 7 `Kernel.shell_main`) and on ipywidgets (7
or 8), so the first cell of every lesson says where it runs.  A kernel cannot see which browser
front end talks to it, so JupyterLab and Notebook are reported together.
"""

from __future__ import annotations

import os
import sys
from importlib import metadata

from .language import tr


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _shell():
    """IPython's running shell, or None in plain Python."""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def detect():
    """A short key for where this runs: colab, vscode, jupyter, ipython or python."""
    shell = _shell()
    if shell is None:
        return "python"
    if "google.colab" in sys.modules or type(shell).__module__.startswith("google.colab"):
        return "colab"
    if getattr(shell, "kernel", None) is None:
        return "ipython"            # the terminal IPython: no kernel, so no widgets
    # VS Code starts its kernels from its own process, which leaves these in their environment.
    if any(name in os.environ for name in ("VSCODE_PID", "VSCODE_CWD", "VSCODE_IPC_HOOK_CLI")):
        return "vscode"
    return "jupyter"


def _name(where):
    """The environment `where` (a key from detect()), in words."""
    return {
        "colab": tr("Google Colab"),
        "vscode": tr("VS Code's notebook editor"),
        "jupyter": tr("a Jupyter kernel (JupyterLab, Jupyter Notebook or another Jupyter front end)"),
        "ipython": tr("the IPython terminal (no widgets: playgrounds show their first picture only)"),
        "python": tr("plain Python (no Jupyter: top-level await and playgrounds need a notebook)"),
    }[where]


def describe():
    """One line: the environment and the kernel and widget versions that change what lessons show."""
    where = detect()
    line = _name(where)
    if where in ("python", "ipython"):
        return line
    kernel = _version("ipykernel") or tr("unknown")
    widgets = _version("ipywidgets") or tr("not installed")
    return tr("{environment}; ipykernel {kernel}, ipywidgets {widgets}",
              environment=line, kernel=kernel, widgets=widgets)


def widgets_work():
    """True where a widget can be displayed live: a kernel with ipywidgets installed."""
    if detect() in ("python", "ipython"):
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True
