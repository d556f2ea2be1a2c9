"""The language asynclab writes in: English, or Simplified Chinese for the zh-CN notebooks.

    asynclab.use_language("zh-CN")     # the first cell of every zh-CN notebook does this

Every sentence a learner reads from asynclab (a check's verdict and hints, a playground's labels,
a timeline's legend and axes) is written as `tr("English text {name}", name=value)`.  In English
the text is used as it is; in another language `tr` looks the English text up in that language's
catalogue, asynclab/locale/<language>/*.json ({English text: translation}), and fills in the same
`{name}` fields.  (Fields are filled, with str.format, only when values are given: a text
passed with values writes a literal brace twice, `{{`; a text passed alone is shown as written.)  A text the catalogue lacks is shown in English (tests/test_translations.py lists
any such text, and zero are allowed).

The environment variable ASYNCLAB_LANGUAGE sets the language a kernel starts with.
"""

import functools
import json
import os
from pathlib import Path

LANGUAGES = ("en", "zh-CN")
LOCALE = Path(__file__).resolve().parent / "locale"

# One setting for the whole kernel (not per task or thread): checks run the learner's code in a
# thread of their own, and their verdicts must be in the notebook's language too.
_language = "en"


def use_language(language):
    """Write asynclab's messages, hints and figure labels in `language` ("en" or "zh-CN")."""
    global _language
    if language not in LANGUAGES:
        raise ValueError(f"asynclab speaks {' and '.join(LANGUAGES)}, not {language!r}") from None
    _language = language


def current():
    return _language


@functools.lru_cache(maxsize=None)
def catalogue(language):
    """{English text: its translation} for `language`, from every file in locale/<language>/."""
    found = {}
    folder = LOCALE / language
    for path in sorted(folder.glob("*.json")):
        found.update(json.loads(path.read_text(encoding="utf-8")))
    return found


def tr(english, **values):
    """`english` in the current language, with its {fields} filled from `values`."""
    text = english if _language == "en" else catalogue(_language).get(english, english)
    return text.format(**values) if values else text


_start = os.environ.get("ASYNCLAB_LANGUAGE", "en")
if _start in LANGUAGES:
    _language = _start
