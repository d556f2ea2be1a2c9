"""Exercise checks: `check(fn)` runs your answer on several cases and says what is right.

Each lesson's exercises register their cases in a module of this package, lessonNN.py;
every such module is imported here, so `check` knows every exercise.
"""

import importlib
import pkgutil

from .core import CheckResult, check, exercise, hint

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("lesson")):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["check", "CheckResult", "exercise", "hint"]
