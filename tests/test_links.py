"""Every relative link a learner can click opens in the JupyterLab that `make lab` starts.

The server is started with the very command `make -n lab` prints (root folder, first lesson),
on 127.0.0.1 with a token, serving a copy of what a learner has after cloning (see
learner_tree.py).  Each link in the markdown of every lesson, exercise and solution, and in
README.md and INSTRUCTORS.md (and their zh-CN editions), is resolved as JupyterLab resolves it (relative to the file's
folder) and fetched through Jupyter's contents API: a link that leaves the served root, or
that the server does not find, fails.  A link's #anchor must name a heading of its target.
"""

import json
import os
import posixpath
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from learner_tree import ROOT, copy_learner_tree

START_LIMIT = 120            # seconds the server may take to answer on a busy machine
FIRST_LESSON = "notebooks/00-start-here.ipynb"

MARKDOWN_LINK = re.compile(r"""!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+["'][^"']*["'])?\s*\)""")
HTML_LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
ABSOLUTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def markdown_texts(path):
    """The markdown a learner sees in a file: its markdown cells, or the file itself."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                for c in cells if c["cell_type"] == "markdown"]
    return [path.read_text(encoding="utf-8")]


def links_in(text):
    text = CODE.sub("", text)                  # a link shown as code is not a link
    for pattern in (MARKDOWN_LINK, HTML_LINK, REFERENCE_LINK):
        for match in pattern.finditer(text):
            yield match.group(1)


def learner_files(root):
    files = [root / "README.md", root / "INSTRUCTORS.md", root / "README.zh-CN.md", root / "INSTRUCTORS.zh-CN.md"]
    for folder in ("notebooks", "exercises", "solutions"):
        files += sorted((root / folder).glob("[0-9][0-9]-*.ipynb"))
        files += sorted((root / "zh-CN" / folder).glob("[0-9][0-9]-*.ipynb"))
    return [f for f in files if f.exists()]


def relative_links(root):
    """[(file relative to root, link as written, path it resolves to relative to root, #anchor)]"""
    found = []
    for path in learner_files(root):
        rel = path.relative_to(root).as_posix()
        for text in markdown_texts(path):
            for link in links_in(text):
                if ABSOLUTE.match(link) or link.startswith("#"):
                    continue
                target, _, anchor = link.partition("#")
                target = urllib.parse.unquote(target.split("?")[0])
                resolved = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
                found.append((rel, link, resolved, anchor))
    return found


def heading_ids(path):
    """Anchors a heading gets: GitHub's (lower case, dashes) and JupyterLab's (case kept)."""
    ids = set()
    for text in markdown_texts(path):
        for title in HEADING.findall(CODE.sub(lambda m: m.group(0).strip("`"), text)):
            title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)
            ids.add(re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-"))
            ids.add(title.replace(" ", "-"))
    return ids


# ---------------------------------------------------------------------------------------------
# the server `make lab` starts


def lab_command():
    """The words after `jupyter lab` in `make -n lab` (or, where make is missing, in the Makefile)."""
    if shutil.which("make"):
        out = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True,
                             timeout=120).stdout
    else:                                   # e.g. the Debian chroot of Python 3.14 and 3.15
        makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
        variables = dict(re.findall(r"^(\w+) := (.*)$", makefile, re.M))
        out = re.sub(r"\$\((\w+)\)", lambda m: "" if m.group(1) == "ROOT_FLAG" else
                     variables.get(m.group(1), m.group(0)), makefile)
    lines = [line for line in out.splitlines() if re.search(r"\bjupyter lab\b", line)]
    assert lines, f"`make -n lab` shows no `jupyter lab` command:\n{out}"
    words = shlex.split(lines[-1])
    args = words[words.index("lab") + 1:]
    if os.geteuid() == 0 and "--allow-root" not in args:
        args.append("--allow-root")         # what make adds as root (containers)
    return args


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("links")
    root = copy_learner_tree(base / "clone")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    for name in ("config", "data", "runtime"):
        (base / name).mkdir()
        env[f"JUPYTER_{name.upper()}_DIR"] = str(base / name)
    env.pop("JUPYTER_PATH", None)
    args = lab_command()
    command = [sys.executable, "-m", "jupyterlab", *args, "--no-browser",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}"]
    log = open(base / "lab.log", "wb")
    proc = subprocess.Popen(command, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    server = {"url": f"http://127.0.0.1:{port}", "token": token, "root": root, "args": args,
              "runtime": base / "runtime", "log": base / "lab.log"}
    try:
        deadline = time.monotonic() + START_LIMIT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {(base / 'lab.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{server['url']}/api/status?token={token}", timeout=5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not answer in {START_LIMIT} s")
                time.sleep(0.5)
        yield server
    finally:
        try:
            urllib.request.urlopen(urllib.request.Request(
                f"{server['url']}/api/shutdown?token={token}", method="POST"), timeout=10).close()
            proc.wait(20)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        log.close()


def contents(server, path, content=False):
    """What Jupyter's contents API says about path: (HTTP status, model or None)."""
    url = (f"{server['url']}/api/contents/{urllib.parse.quote(path)}"
           f"?content={int(content)}&token={server['token']}")
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as err:
        return err.code, None


# ---------------------------------------------------------------------------------------------
# the tests


def test_make_lab_serves_the_repository_root_and_opens_lesson_00(lab):
    assert "--ip=127.0.0.1" in lab["args"], lab["args"]
    assert not any("token" in a or "password" in a for a in lab["args"]), "make lab must keep Jupyter's token"
    status, model = contents(lab, "", content=True)
    assert status == 200, f"Jupyter's contents API answered {status} for the root"
    listed = {item["name"] for item in model["content"]}
    assert {"notebooks", "exercises", "solutions", "README.md"} <= listed, \
        f"make lab's JupyterLab shows {sorted(listed)} at its root, not the repository"
    # What the browser is sent to: lesson 00, inside that root.
    opened = list(lab["runtime"].glob("jpserver-file-to-run-*-open.html"))
    assert opened, "make lab names no file to open"
    assert f"/lab/tree/{FIRST_LESSON}?" in opened[0].read_text(), opened[0].read_text()


def test_every_relative_link_opens_in_jupyterlab(lab):
    links = relative_links(lab["root"])
    assert len(links) > 50, f"only {len(links)} links found: is the link pattern still right?"
    broken = []
    for source, link, resolved, _ in links:
        if resolved == ".." or resolved.startswith("../"):
            broken.append(f"{source}: {link} -> outside the folder JupyterLab serves")
            continue
        status, model = contents(lab, "" if resolved == "." else resolved)
        if status != 200:
            broken.append(f"{source}: {link} -> {resolved}: HTTP {status} from Jupyter's contents API")
    files = {source for source, *_ in links}
    print(f"\n{len(links)} relative links in {len(files)} files, {len(links) - len(broken)} open in JupyterLab")
    assert not broken, f"{len(broken)} of {len(links)} links do not open:\n" + "\n".join(broken)


def test_every_anchor_names_a_heading():
    root = ROOT
    missing = []
    for source, link, resolved, anchor in relative_links(root):
        target = root / resolved
        if anchor and target.suffix in (".md", ".ipynb") and target.exists():
            if anchor not in heading_ids(target):
                missing.append(f"{source}: {link} (no heading '{anchor}' in {resolved})")
    assert not missing, "\n".join(missing)


def test_the_link_finder_finds_the_kinds_of_links_lessons_use():
    text = ("See [the exercises](../exercises/01-x.ipynb), ![a picture](docs/a.png 'title'),\n"
            '<a href="../solutions/01-x.ipynb">solutions</a>, `[not](a-link.ipynb)`, '
            "[web](https://example.org)\n\n[ref]: notebooks/00-start-here.ipynb\n")
    assert list(links_in(text)) == ["../exercises/01-x.ipynb", "docs/a.png", "https://example.org",
                                    "../solutions/01-x.ipynb", "notebooks/00-start-here.ipynb"]
