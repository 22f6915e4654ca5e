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
