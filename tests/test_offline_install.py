"""A room without internet: the wheels/ folder made by `make wheels` installs with the network off.

pip runs with no configuration file (this machine's pip.conf adds its own package folders), no
PIP_* variables, `--no-index`, an index and a proxy that point at a closed port, and no cache:
anything it would have to fetch from the network makes it fail.

- test_wheel_folder_is_complete: pip resolves requirements.txt from wheels/ alone, including
  the build of this repository's own package (a dry run: about half a minute here).  Runs in
  `make test` whenever a wheels/ folder exists.
- test_installs_offline_into_a_fresh_venv: the real install, into a new venv, then imports what
  the lessons import.  Takes about 3 minutes on this project's (busy) 2-core machine, so it runs
  only with ASYNCLAB_OFFLINE_INSTALL=1, which `make test-offline` sets (and CI, through
  tools/run_tests.sh, with a wheel folder it downloads into test-artifacts/).

The folder: $ASYNCLAB_WHEELS, or wheels/ in the repository.  Without one both tests are skipped
and say how to make it (`make wheels` needs the internet once).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WHEELS = Path(os.environ.get("ASYNCLAB_WHEELS") or ROOT / "wheels")
CLOSED = "http://127.0.0.1:9"          # the discard port: nothing answers there
LESSON_IMPORTS = "import asynclab, ipykernel, ipywidgets, jupyterlab, matplotlib, nest_asyncio"

pytestmark = pytest.mark.skipif(
    not any(WHEELS.glob("*.whl")),
    reason=f"no wheel folder at {WHEELS}: `make wheels` (once, with internet), then `make test-offline`")


def offline_env():
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PIP_")}
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_INDEX_URL": f"{CLOSED}/simple",
                "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "http_proxy": CLOSED, "https_proxy": CLOSED, "HTTP_PROXY": CLOSED, "HTTPS_PROXY": CLOSED,
                "no_proxy": "", "NO_PROXY": ""})
    return env


@pytest.fixture
def project(tmp_path):
    """What pip needs to install requirements.txt (its `-e .` is this package), in a copy."""
    for name in ("requirements.txt", "pyproject.toml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "asynclab", tmp_path / "asynclab", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def pip_install(python, project, *extra):
    command = [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(WHEELS),
               "-r", "requirements.txt", *extra]
    return subprocess.run(command, cwd=project, env=offline_env(), capture_output=True, text=True,
                          timeout=1200)


@pytest.mark.timeout(600)
def test_wheel_folder_is_complete(project):
    done = pip_install(sys.executable, project, "--dry-run", "--ignore-installed",
                       "--report", str(project / "report.json"))
    assert done.returncode == 0, f"wheels/ is missing something pip needs offline:\n{done.stderr[-3000:]}"
    import json
    names = {item["metadata"]["name"].lower() for item in json.loads((project / "report.json").read_text())["install"]}
    assert {"jupyterlab", "ipykernel", "ipywidgets", "matplotlib", "asynclab"} <= names, sorted(names)
    print(f"\nwheels/ resolves requirements.txt offline: {len(names)} packages")


@pytest.mark.timeout(1500)
@pytest.mark.skipif(not os.environ.get("ASYNCLAB_OFFLINE_INSTALL"),
                    reason="the full offline install takes minutes: `make test-offline` runs it")
def test_installs_offline_into_a_fresh_venv(project):
    subprocess.run([sys.executable, "-m", "venv", str(project / "venv")], check=True, timeout=300)
    python = project / "venv" / "bin" / "python"
    done = pip_install(python, project)
    assert done.returncode == 0, f"the offline install failed:\n{done.stderr[-3000:]}"
    ran = subprocess.run([str(python), "-c", LESSON_IMPORTS + "; print(jupyterlab.__version__)"],
                         cwd=project, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    print(f"\ninstalled offline from {WHEELS}: JupyterLab {ran.stdout.strip()}, and the lessons' imports work")
