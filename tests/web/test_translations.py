"""Every text the pages show goes through the catalogs: each msgid in the templates and page modules has a
Chinese translation, so the default language never shows an English fragment."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from web.i18n import translations
from web.pages.common import NAV, ROLE_NAMES

WEB = Path(__file__).resolve().parents[2] / "web"
METHODS = [("pages/**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]


def msgids() -> set[str]:
    found: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(WEB), method_map=METHODS, keywords={"_": None, "gettext": None, "ngettext": (1, 2)}
    ):
        found.update([message] if isinstance(message, str) else [m for m in message if m])
    found.update(label for items in NAV.values() for _path, label in items)
    found.update(ROLE_NAMES.values())
    return found


def test_every_message_of_the_pages_has_a_chinese_translation() -> None:
    zh = translations("zh_CN")
    missing = sorted(m for m in msgids() if zh.gettext(m) == m)
    assert missing == [], f"add these to web/translations/zh_CN/*.po: {missing}"


def test_the_extraction_finds_the_templates_messages() -> None:
    assert {"Sign in", "Change password", "You may not open this page"} <= msgids()


def test_no_two_catalog_files_translate_a_message_differently() -> None:
    """The zh_CN files are merged: a msgid translated two ways would show the first file's wording everywhere."""
    from babel.messages.pofile import read_po

    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for path in sorted((WEB / "translations" / "zh_CN").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle):
                if not message.id or not message.string:
                    continue
                if message.id in seen and seen[message.id][1] != message.string:
                    clashes.append(
                        f"{message.id!r}: {seen[message.id][0]} {seen[message.id][1]!r} vs {path.name} {message.string!r}"
                    )
                seen.setdefault(message.id, (path.name, message.string))
    assert clashes == [], "use one wording, or a more specific English msgid:\n" + "\n".join(clashes)
