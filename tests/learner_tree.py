"""The files a learner has after cloning the repository, copied where a test's JupyterLab serves them.

Links are tested against this copy, not the working folder, so that a file that exists only here
(never committed, or ignored by git) cannot make a broken link look fine.
"""

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What a learner opens or is linked to; the package, tests and tools are not served in the tests.
LEARNER_PATHS = ("notebooks", "exercises", "solutions", "docs", "README.md", "INSTRUCTORS.md", "LICENSE",
                 "zh-CN", "README.zh-CN.md", "INSTRUCTORS.zh-CN.md", "translations/zh-CN/GLOSSARY.md")
IGNORE = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.edited-*.ipynb")


def committed_files():
    """Files git would put in a commit now (tracked or new, not ignored), or None without git."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard",
                              "--", *LEARNER_PATHS], cwd=ROOT, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return [name for name in out.stdout.decode().split("\0") if name and (ROOT / name).is_file()]


def copy_learner_tree(dest: Path) -> Path:
    """Copy the learner's files into dest (made if needed); returns dest."""
    dest.mkdir(parents=True, exist_ok=True)
    files = committed_files()
    if files is None:                       # not a git checkout (an unpacked archive): copy it all
        for name in LEARNER_PATHS:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, dest / name, ignore=IGNORE, dirs_exist_ok=True)
            elif source.is_file():
                shutil.copy2(source, dest / name)
        return dest
    for name in files:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    return dest
