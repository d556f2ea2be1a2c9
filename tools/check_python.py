"""Check the Python that `make` will use, before anything is installed.   (make does this for you)

    python3 tools/check_python.py [--given] [--venv .venv] [--goal lab]

- This interpreter must be Python 3.11 or newer; if not, say in one sentence how to get one.
- If the venv exists but was made by an interpreter older than 3.11, or is broken, or (when
  PYTHON was given to make) by another interpreter than this one, delete it so that make
  rebuilds it, and say so.  Without PYTHON given, a working venv of 3.11+ is kept as it is.

The other tools import use_the_venv() to say how to run them when a package is missing.

Written for any Python (even 2.7), so that an old one gets a sentence, not a SyntaxError.
"""

import os
import platform
import shutil
import subprocess
import sys

NEEDED = (3, 11)
GET_ONE = ("Install a newer one (with pyenv: `pyenv install 3.12`; or from "
           "https://www.python.org/downloads/), then name it: `make PYTHON=python3.12 %s`.")
IDENTITY = "import platform, sys; print(platform.python_version() + ' ' + sys.base_prefix)"

# The make command that runs each tool with .venv's Python ({args}: the tool's arguments).
MAKE_COMMANDS = {
    "reset_exercise.py": "make reset-exercise N={args}",
    "make_exercises.py": "make exercises",
    "clean.py": "make clean-notebooks",
    "build_html.py": "make html",
    "make_figures.py": "make figures",
    "explore_figure.py": "make figures",
}


def identity(python):
    """'3.12.1 /root/.pyenv/versions/3.12.1' for an interpreter, or None if it does not run."""
    try:
        out = subprocess.check_output([python, "-c", IDENTITY], stderr=subprocess.STDOUT)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.decode("utf-8", "replace").strip()


def version_of(ident):
    return tuple(int(part) for part in ident.split()[0].split(".")[:2])


def venv_python(venv):
    for rel in (("bin", "python"), ("Scripts", "python.exe")):
        path = os.path.join(venv, *rel)
        if os.path.exists(path):
            return path
    return os.path.join(venv, "bin", "python")


def check(name, given, venv, goal):
    """Returns (exit status, sentences to print)."""
    mine = "%s %s" % (platform.python_version(), getattr(sys, "base_prefix", sys.prefix))
    said = []
    theirs = identity(venv_python(venv)) if os.path.isdir(venv) else None
    venv_ok = theirs is not None and version_of(theirs) >= NEEDED
    if os.path.isdir(venv) and not given and venv_ok:
        return 0, said                      # keep a working venv, whichever 3.11+ made it
    if sys.version_info[:2] < NEEDED:
        said.append(("asyncio-lab needs Python 3.11 or newer, and `%s` is Python %s. " + GET_ONE)
                    % (name, mine.split()[0], goal))
        return 1, said
    if os.path.isdir(venv) and (theirs is None or not venv_ok or theirs != mine):
        if theirs is None:
            why = "does not run (a broken or half-made venv)"
        else:
            why = "was made by Python %s (%s)" % tuple(theirs.split(" ", 1))
        said.append("`%s` %s, not by `%s` (Python %s): deleting it so that it is rebuilt with `%s`."
                    % (venv, why, name, mine.split()[0], name))
        shutil.rmtree(venv)
    return 0, said


def use_the_venv(error):
    """A tool lacks a package (it was run with a Python other than .venv's): say how to run it."""
    script = os.path.basename(sys.argv[0])
    args = " ".join(sys.argv[1:])
    here = "tools/%s%s" % (script, " " + args if args else "")
    make = MAKE_COMMANDS.get(script, "make lab").format(args=args or "NN")
    sys.exit("%s is not installed for this Python (%s). Run it as .venv/bin/python %s "
             "(on Windows .venv\\Scripts\\python %s), or %s."
             % (getattr(error, "name", None) or error, sys.executable, here,
                here.replace("/", "\\"), make))


def main(argv):
    name, given, venv, goal = sys.executable, False, ".venv", "lab"
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            print(__doc__)
            return 0
        elif arg == "--given":
            given = True
        elif arg == "--name":
            name = args.pop(0)
        elif arg == "--venv":
            venv = args.pop(0)
        elif arg == "--goal":
            goal = args.pop(0) or "lab"
    status, said = check(name, given, venv, goal)
    for sentence in said:
        print(sentence)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
