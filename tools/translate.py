"""Refresh the catalogues and fill translations from a JSON file; list what is left untranslated.

    .venv/bin/python tools/translate.py missing              # msgids still untranslated (any locale)
    .venv/bin/python tools/translate.py fill my_strings.json # {"msgid": {"fr": "…", "de": "…", "es": "…"}}

Both first run `make messages` (extract + update); `fill` then writes the given translations where a
locale's string is empty and compiles the catalogues. A lock file serialises concurrent runs. Plural
messages take {"fr": ["singular", "plural"], …}. A message with a context (pgettext) takes the key
"<context>\\u0004<msgid>" in the JSON (gettext's separator, as JSON writes it) when there is one, else
its msgid's translation.
"""
from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ("fr", "de", "es")


def _po(locale: str) -> Path:
    return ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"


def _refresh() -> None:
    subprocess.run(["make", "-s", "messages"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _missing() -> dict[str, list[str]]:
    missing: dict[str, list[str]] = {}
    for locale in LOCALES:
        with open(_po(locale), "rb") as f:
            catalogue = read_po(f, locale=locale)
        for message in catalogue:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy or not all(strings):
                key = message.id if isinstance(message.id, str) else message.id[0]
                missing.setdefault(key, []).append(locale)
    return missing


def _fill(path: Path) -> int:
    wanted = json.loads(path.read_text(encoding="utf-8"))
    filled = 0
    for locale in LOCALES:
        with open(_po(locale), "rb") as f:
            catalogue = read_po(f, locale=locale)
        for message in catalogue:
            key = message.id if isinstance(message.id, str) else (message.id[0] if message.id else None)
            if key and message.context and f"{message.context}\u0004{key}" in wanted:
                key = f"{message.context}\u0004{key}"  # a pgettext message: "context\u0004msgid" in the JSON
            if not key or key not in wanted or locale not in wanted[key]:
                continue
            value = wanted[key][locale]
            message.string = tuple(value) if isinstance(message.id, tuple) else value
            message.flags.discard("fuzzy")
            filled += 1
        with open(_po(locale), "wb") as f:
            write_po(f, catalogue, width=76)  # as pybabel update writes them: stable diffs
    subprocess.run([str(ROOT / ".venv/bin/pybabel"), "compile", "-d", str(ROOT / "translations")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return filled


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("missing", "fill") or (argv[0] == "fill" and len(argv) != 2):
        print(__doc__)
        return 2
    with open(ROOT / "translations" / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _refresh()
        if argv[0] == "fill":
            print(f"filled {_fill(Path(argv[1]))} strings")
        for msgid, locales in sorted(_missing().items()):
            print(f"{','.join(locales)}\t{msgid!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
