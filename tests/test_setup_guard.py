"""Set-up that explains itself: make's Python guard, the .venv rebuild, and tools run with another Python.

make runs in a temporary copy of the files it needs (Makefile, tools/, requirements with nothing
to install), with pip offline, so nothing here touches the repository's .venv or the network.
The interpreters are pyenv's (or python3.X on PATH); a case whose Python this machine lacks is
skipped, and says which it needed.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUARD = "asyncio-lab needs Python 3.11 or newer"


def interpreters():
    """{(major, minor): path} of the CPythons this machine has (pyenv's, then python3.X on PATH)."""
    found = {}
    paths = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/*/bin/python3")))
    paths += [shutil.which(f"python3.{minor}") for minor in range(6, 16)]
    for path in filter(None, paths):
        try:
            out = subprocess.run([path, "-c", "import sys; print(*sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=60).stdout.split()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if len(out) == 2:
            found.setdefault((int(out[0]), int(out[1])), path)
    return found


PYTHONS = interpreters()
OLD = next((PYTHONS[v] for v in sorted(PYTHONS, reverse=True) if v < (3, 11)), None)
NEW = [PYTHONS[v] for v in sorted(PYTHONS) if v >= (3, 11)]
need_old = pytest.mark.skipif(OLD is None, reason="no Python older than 3.11 on this machine")
need_two_new = pytest.mark.skipif(len(NEW) < 2, reason="needs two Pythons >= 3.11 (e.g. pyenv's 3.11 and 3.12)")
need_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed here")
# Rebuilding a venv takes a minute or two on a busy machine, and does not depend on the Python that
# runs the tests: done once, from .venv (make test runs the suite again from .venv-py3.X).
once = pytest.mark.skipif(Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
                          reason="venv rebuilds are tested once, from .venv's Python")


@pytest.fixture
def project(tmp_path):
    """A copy of what make needs, whose requirements install nothing."""
    shutil.copy2(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copytree(ROOT / "tools", tmp_path / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for name in ("requirements.txt", "requirements-dev.txt"):
        (tmp_path / name).write_text("# nothing to install in this test\n")
    return tmp_path


def make(project, *args):
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PIP_") and k != "PYTHON"}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    done = subprocess.run(["make", "--no-print-directory", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout + done.stderr


def venv_version(project):
    out = subprocess.run([str(project / ".venv" / "bin" / "python"), "-c",
                          "import platform; print(platform.python_version())"],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.strip()


def version_of(python):
    return subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, timeout=60).stdout.strip()


@need_make
@need_old
@pytest.mark.parametrize("goal", ["lab", "test"])
def test_an_old_python_gets_one_sentence_not_a_pip_error(project, goal):
    status, said = make(project, f"PYTHON={OLD}", goal)
    assert status != 0
    assert f"{GUARD}, and `{OLD}` is Python {version_of(OLD)}." in said, said
    assert f"make PYTHON=python3.12 {goal}" in said and "pyenv install" in said, said
    assert "pip" not in said.replace("python.org", "") and "matplotlib" not in said, said
    assert not (project / ".venv").exists(), "nothing may be installed with a Python that is too old"
    print(f"\nmake PYTHON={OLD} {goal}:\n{said.strip()}")


@need_make
def test_a_python_that_does_not_exist_gets_the_same_sentence(project):
    status, said = make(project, "PYTHON=python3.99", "lab")
    assert status != 0
    assert f"{GUARD}, and `python3.99` was not found." in said and "make PYTHON=python3.12 lab" in said, said


@once
@need_make
@need_old
def test_a_venv_made_by_an_old_python_is_rebuilt(project):
    subprocess.run([OLD, "-m", "venv", "--without-pip", str(project / ".venv")], check=True, timeout=300)
    status, said = make(project, f"PYTHON={NEW[0]}", "venv")
    assert status == 0, said
    assert re.search(rf"`\.venv` was made by Python {re.escape(version_of(OLD))} .*, not by "
                     rf"`{re.escape(NEW[0])}` .*: deleting it so that it is rebuilt", said), said
    assert venv_version(project) == version_of(NEW[0])
    print(f"\n{said.strip()}")


@once
@need_make
@need_two_new
def test_a_venv_made_by_another_python_is_rebuilt_when_python_is_named(project):
    first, second = NEW[0], NEW[1]
    subprocess.run([first, "-m", "venv", "--without-pip", str(project / ".venv")], check=True, timeout=300)
    status, said = make(project, f"PYTHON={second}", "venv")
    assert status == 0, said
    assert f"`.venv` was made by Python {version_of(first)}" in said and "rebuilt" in said, said
    assert venv_version(project) == version_of(second)
    # Named again: the same Python, so nothing is said and nothing rebuilt.
    status, said = make(project, f"PYTHON={second}", "venv")
    assert status == 0 and "rebuilt" not in said and "Python 3.11 or newer" not in said, said


@need_old
def test_without_python_named_a_working_venv_is_kept_whatever_made_it(project):
    """`make lab` after `make PYTHON=python3.12 lab`: the 3.12 venv stays, even where python3 is old."""
    sys.path.insert(0, str(ROOT / "tools"))
    import check_python
    subprocess.run([NEW[-1], "-m", "venv", "--without-pip", str(project / ".venv")], check=True, timeout=300)
    status, said = check_python.check("python3", False, str(project / ".venv"), "lab")
    assert (status, said) == (0, []) and (project / ".venv").exists()
    done = subprocess.run([OLD, str(ROOT / "tools" / "check_python.py"), "--name", "python3", "--venv",
                           str(project / ".venv")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stdout, done.stdout + done.stderr


# ---------------------------------------------------------------------------------------------
# tools run with a Python that lacks the packages


TOOLS = [("reset_exercise.py", ["03"], "make reset-exercise N=03"), ("clean.py", [], "make clean-notebooks"),
         ("make_exercises.py", [], "make exercises"), ("build_html.py", ["--only", "00"], "make html"),
         ("make_figures.py", [], "make figures"), ("explore_figure.py", [], "make figures")]


@pytest.mark.parametrize("tool, args, command", TOOLS, ids=[t[0] for t in TOOLS])
def test_a_tool_run_without_the_venv_says_how_to_run_it(tool, args, command):
    # -S: no site-packages, as a system Python without Jupyter.  Nothing may be written.
    done = subprocess.run([sys.executable, "-S", f"tools/{tool}", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    line = " ".join([f"tools/{tool}", *args])
    assert done.returncode != 0
    assert f"Run it as .venv/bin/python {line} " in done.stderr and f"or {command}." in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr


@need_old
def test_reset_exercise_with_an_old_system_python_says_how_to_run_it():
    done = subprocess.run([OLD, "tools/reset_exercise.py", "03"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert "run it as .venv/bin/python tools/reset_exercise.py 03" in done.stderr.lower(), done.stderr
    assert "make reset-exercise N=03" in done.stderr, done.stderr


def test_the_tools_that_need_nothing_run_with_any_python():
    for tool in ("check_python.py", "public_links.py"):
        done = subprocess.run([sys.executable, "-S", f"tools/{tool}", "--help"], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert "Traceback" not in done.stderr, f"{tool}: {done.stderr}"
