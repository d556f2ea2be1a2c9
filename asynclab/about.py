"""The versions that matter for what a lesson shows, printed at the top of every lesson."""

import platform
import sys
from importlib import metadata

from . import environment
from .language import tr

_PACKAGES = ["ipykernel", "ipywidgets", "matplotlib", "nest-asyncio"]
_NOT_INSTALLED = "not installed"


def _notes():
    """What changes between the Pythons the collection supports: (since, note)."""
    return [
        ((3, 12), tr("3.12+: asyncio.eager_task_factory exists (a task can start at create_task).")),
        ((3, 13), tr("3.13+: `async for` works on asyncio.as_completed().")),
        ((3, 14), tr("3.14+: create_task(..., eager_start=True) for one task; asyncio.get_event_loop() "
                     "with no loop raises; asyncio.capture_call_graph() and `python -m asyncio ps` "
                     "exist; some error messages are reworded.")),
        ((3, 15), tr("3.15+: TaskGroup.cancel() stops a whole TaskGroup.")),
    ]


def versions(show=True):
    """Print (and return as a dict) Python's and the key packages' versions, and where this runs."""
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = _NOT_INSTALLED
    found["environment"] = environment.detect()
    if show:
        shown = {k: tr("not installed") if v == _NOT_INSTALLED else v for k, v in found.items()}
        print("  ".join(f"{k} {v}" for k, v in shown.items() if k != "environment"))
        print(tr("Running in {environment}.", environment=environment.describe()))
        for since, note in _notes():
            mark = tr("yes") if sys.version_info >= since else tr("no, not on this Python")
            print(f"  - {note} [{mark}]")
    return found
