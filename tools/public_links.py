"""Write the Colab, Binder and JupyterHub links from the one repository URL.   make public-links

The repository's public URL is written once, in README.md's link definition

    [repository]: https://github.com/OWNER/NAME

Every link that needs it (README's badges, INSTRUCTORS.md's Binder and nbgitpuller links) sits
between `<!-- public-links:KIND -->` and `<!-- /public-links -->` and is written by this tool.

    python tools/public_links.py           # say whether the links match the URL (exit 1 if not)
    python tools/public_links.py --write   # rewrite them from the URL

Runs with any Python 3 (standard library only).
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = ("README.md", "INSTRUCTORS.md")
FIRST_LESSON = "notebooks/00-start-here.ipynb"
BRANCH = "main"
DEFINITION = re.compile(r"^\[repository\]:\s*(https://github\.com/([\w.-]+)/([\w.-]+?))/?\s*$", re.M)
BLOCK = re.compile(r"(<!-- public-links:([\w-]+) -->\n)(.*?)(<!-- /public-links -->)", re.S)


def repository():
    """(url, owner, name) from README.md's [repository] definition."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        match = DEFINITION.search(f.read())
    if not match:
        sys.exit("README.md has no line `[repository]: https://github.com/OWNER/NAME`.")
    return match.groups()


def links(url, owner, name):
    """The URLs each place uses."""
    repo_quoted = url.replace(":", "%3A").replace("/", "%2F")
    return {
        "repository": url,
        "colab": "https://colab.research.google.com/github/%s/%s/blob/%s/%s"
                 % (owner, name, BRANCH, FIRST_LESSON),
        # Binder serves the repository as JupyterLab's root, so the lessons' ../ links work.
        "binder": "https://mybinder.org/v2/gh/%s/%s/HEAD?urlpath=lab/tree/%s" % (owner, name, FIRST_LESSON),
        # nbgitpuller clones into ~/NAME; the hub's root is the home folder, which holds it whole.
        "hub": "https://<your-hub>/hub/user-redirect/git-pull?repo=%s&branch=%s&urlpath=lab%%2Ftree%%2F%s%%2F%s"
               % (repo_quoted, BRANCH, name, FIRST_LESSON.replace("/", "%2F")),
    }


def block(kind, urls):
    if kind == "badges":
        return ("[![Open lesson 00 in Colab](https://colab.research.google.com/assets/colab-badge.svg)](%s)\n"
                "[![Open the lessons in Binder](https://mybinder.org/badge_logo.svg)](%s)\n"
                % (urls["colab"], urls["binder"]))
    if kind in ("binder", "hub"):
        return "```\n%s\n```\n" % urls[kind]
    if kind == "hub-image":
        return ("```dockerfile\n"
                "FROM quay.io/jupyter/minimal-notebook:python-3.12\n"
                "RUN pip install --no-cache-dir nbgitpuller nest-asyncio \\\n"
                "    \"asynclab @ git+%s@%s\"\n"
                "```\n" % (urls["repository"], BRANCH))
    raise SystemExit("unknown public-links block: %s" % kind)


def rewrite(text, urls):
    return BLOCK.sub(lambda m: m.group(1) + block(m.group(2), urls) + m.group(4), text)


def main(argv):
    write = "--write" in argv
    urls = links(*repository())
    stale = []
    for name in FILES:
        path = os.path.join(ROOT, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new = rewrite(text, urls)
        if new != text:
            stale.append(name)
            if write:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(new)
    if stale and not write:
        print("These links do not match README.md's [repository] URL: %s. "
              "Run make public-links (or python tools/public_links.py --write)." % ", ".join(stale))
        return 1
    for name in stale:
        print("rewrote the links in %s" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
