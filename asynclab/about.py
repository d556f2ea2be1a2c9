"""The versions that matter for what a lesson shows, printed at the top of every lesson."""

import platform
import sys
from importlib import metadata

from . import environment

_PACKAGES = ["ipykernel", "ipywidgets", "matplotlib", "nest-asyncio"]

# What changes between the Pythons the collection supports.
_NOTES = [
    ((3, 12), "3.12+: asyncio.eager_task_factory exists (a task can start at create_task)."),
    ((3, 13), "3.13+: `async for` works on asyncio.as_completed()."),
    ((3, 14), "3.14+: create_task(..., eager_start=True) for one task; asyncio.get_event_loop() with no "
              "loop raises; asyncio.capture_call_graph() and `python -m asyncio ps` exist; "
              "some error messages are reworded."),
    ((3, 15), "3.15+: TaskGroup.cancel() stops a whole TaskGroup."),
]


def versions(show=True):
    """Print (and return as a dict) Python's and the key packages' versions, and where this runs."""
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["environment"] = environment.detect()
    if show:
        print("  ".join(f"{k} {v}" for k, v in found.items() if k != "environment"))
        print(f"Running in {environment.describe()}.")
        for since, note in _NOTES:
            mark = "yes" if sys.version_info >= since else "no, not on this Python"
            print(f"  - {note} [{mark}]")
    return found
