"""Every user-visible string is translated, and translations keep their placeholders."""
import functools
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2] / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.mark.parametrize("locale", ["fr", "de", "es"])
def test_catalogue_is_complete_and_keeps_placeholders(locale):
    with open(ROOT / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalogue = read_po(f, locale=locale)

    untranslated, broken = [], []
    for message in catalogue:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        if message.fuzzy or not all(strings):
            untranslated.append(ids[0])
            continue
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        if any(set(PLACEHOLDER.findall(s)) != wanted for s in strings):
            broken.append(ids[0])

    known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue if m.id}
    assert _source_messages() - known == set(), "strings missing from the catalogue: run `make messages`"
    assert untranslated == []
    assert broken == []


@functools.cache
def _source_messages() -> frozenset[str]:
    """The strings the code and templates mark for translation today (as `make messages` extracts them)."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_pgettext": ((1, "c"), 2)}
    method_map = [("**/.*/**", "ignore"), ("**.py", "python"), ("templates/**.html", "jinja2"),
                  ("templates/**.txt", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT.parent), method_map=method_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return frozenset(found)
