"""The repository's public URL is written once (README's [repository] line); every Colab, Binder and
JupyterHub link is made from it by tools/public_links.py (`make public-links`)."""

import re
import sys

from nbrun import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import public_links  # noqa: E402

# Links that name the repository: a badge's target, Binder, Colab, nbgitpuller, a pip git URL.
NAMES_THE_REPOSITORY = re.compile(r"https://(?:mybinder\.org|colab\.research\.google\.com)/\S+"
                                  r"|https://<your-hub>/\S+|git\+https://\S+")


def test_every_public_link_is_written_from_the_one_url():
    assert public_links.main([]) == 0, "run make public-links"
    url, owner, name = public_links.repository()
    seen = 0
    for file in public_links.FILES:
        text = (ROOT / file).read_text(encoding="utf-8")
        for link in NAMES_THE_REPOSITORY.findall(text):
            seen += 1
            assert f"{owner}/{name}" in link or f"{owner}%2F{name}" in link, \
                f"{file}: {link} does not use the [repository] URL {url}"
        outside = public_links.BLOCK.sub("", text)
        assert not NAMES_THE_REPOSITORY.findall(outside), \
            f"{file}: a link outside a public-links block would not follow the URL: " \
            f"{NAMES_THE_REPOSITORY.findall(outside)}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "colab-badge.svg" in readme and "mybinder.org/badge_logo.svg" in readme
    assert seen >= 5, f"only {seen} public links found"


def test_a_new_url_changes_every_link():
    old = public_links.links(*public_links.repository())
    new = public_links.links("https://github.com/someone/fork", "someone", "fork")
    for file in public_links.FILES:
        text = public_links.rewrite((ROOT / file).read_text(encoding="utf-8"), new)
        assert not any(link in text for key, link in old.items() if key != "repository" and link not in new.values())
        for link in NAMES_THE_REPOSITORY.findall(text):
            assert "someone/fork" in link or "someone%2Ffork" in link, link


def test_binder_and_colab_open_lesson_00_with_the_repository_as_root():
    urls = public_links.links("https://github.com/o/r", "o", "r")
    assert urls["binder"] == "https://mybinder.org/v2/gh/o/r/HEAD?urlpath=lab/tree/notebooks/00-start-here.ipynb"
    assert urls["colab"] == "https://colab.research.google.com/github/o/r/blob/main/notebooks/00-start-here.ipynb"
    assert urls["hub"].endswith("repo=https%3A%2F%2Fgithub.com%2Fo%2Fr&branch=main"
                                "&urlpath=lab%2Ftree%2Fr%2Fnotebooks%2F00-start-here.ipynb")
