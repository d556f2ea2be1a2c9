"""A font with Chinese characters for the figures of the zh-CN notebooks, if this machine has one.

matplotlib's default font (DejaVu Sans) has no Chinese characters: Chinese labels would be drawn
as empty boxes.  When asynclab speaks Chinese, the figures use a CJK font the machine has; where there is none,
the figures keep English labels and this is said once, with how to install one.
"""

import re

from . import language

# The families looked for, best first (Noto Sans CJK is Debian's and Ubuntu's fonts-noto-cjk).
FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei",
            "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "SimHei",
            "Noto Sans CJK JP", "Noto Sans CJK TC")
# Font files that may hold one of them, for a font installed after matplotlib made its font list.
_FILE_NAMES = re.compile(r"notosanscjk|sourcehansans|notosanssc|wqy|msyh|pingfang|simhei|stheiti",
                         re.IGNORECASE)

_found = []        # [family] once looked for; [None] if the machine has none
_told = []


def _look():
    from matplotlib import font_manager
    names = {f.name for f in font_manager.fontManager.ttflist}
    if not any(name in names for name in FAMILIES):
        # matplotlib keeps a cached list of fonts: a font installed since is not in it yet.
        for path in font_manager.findSystemFonts():
            if _FILE_NAMES.search(path.replace("-", "").replace("_", "")):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        names = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in FAMILIES if name in names), None)


def chinese_font():
    """The name of a font family with Chinese characters, or None."""
    if not _found:
        _found.append(_look())
    return _found[0]


def figure_language():
    """The language to label figures in: the current one, unless it is Chinese and no font can
    draw it (then English, said once).  With Chinese, matplotlib is told to use the font."""
    if language.current() == "en":
        return "en"
    family = chinese_font()
    if family is None:
        if not _told:
            _told.append(True)
            print(language.tr("No font with Chinese characters was found on this machine, so the "
                              "figures keep English labels. Install one (Debian/Ubuntu: sudo apt "
                              "install fonts-noto-cjk; macOS and Windows have one already), then "
                              "restart the kernel."))
        return "en"
    # The CJK font first among the sans-serif fonts (it has Latin letters and digits too).  Not
    # a fallback after DejaVu Sans: matplotlib falls back only along a text's own font.family,
    # which for texts made before this call (an Axes' labels) is just "sans-serif", resolved
    # when the figure is drawn to the first font of this list.
    import matplotlib
    if matplotlib.rcParams["font.sans-serif"][:1] != [family]:
        matplotlib.rcParams["font.sans-serif"] = [family] + [
            f for f in matplotlib.rcParams["font.sans-serif"] if f != family]
    return language.current()


def label(english, **values):
    """A figure's text: translated when figures speak the current language, else English."""
    if figure_language() == "en":
        return english.format(**values) if values else english
    return language.tr(english, **values)
