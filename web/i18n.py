"""The pages' languages: gettext catalogs read from web/translations/<locale>/*.po at start (no compiled files
to keep in step), Chinese (zh_CN) by default and English on request, and dates written the local way."""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).parent / "translations"
LOCALES = ("zh_CN", "en")  # msgids are English; the zh_CN catalogs hold the Chinese
DEFAULT_LOCALE = "zh_CN"
LOCALE_COOKIE = "lang"


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """Every .po file of the locale merged into one catalog (each area of the app keeps its own file)."""
    folder = TRANSLATIONS / locale
    files = sorted(folder.glob("*.po")) if folder.is_dir() else []
    if not files:
        return gettext.NullTranslations()
    merged = Catalog(locale=locale)
    for path in files:
        with path.open("rb") as handle:
            for message in read_po(handle, locale=locale):
                if message.id and message.string:
                    merged.add(message.id, message.string, context=message.context)
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def pick_locale(cookie: str | None) -> str:
    """Chinese unless the person chose English with the switch (the browser's own language is not asked:
    office machines often come with English settings)."""
    return cookie if cookie in LOCALES else DEFAULT_LOCALE  # type: ignore[return-value]


class Formatter:
    """Dates and times in the reader's language and the deployment's time zone: 2025年3月5日 in Chinese."""

    def __init__(self, locale: str, timezone: str) -> None:
        self.locale, self.tz = locale, ZoneInfo(timezone)

    def date(self, value: date | datetime | None) -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = value.astimezone(self.tz).date()
        return format_date(value, format="long", locale=self.locale)

    def datetime(self, value: datetime | None) -> str:
        if value is None:
            return "—"
        local = value.astimezone(self.tz)
        return f"{self.date(local)} {local:%H:%M}"

    def short(self, value: datetime | None) -> str:
        """Compact, for tables: 3月5日 14:30 (or Mar 5 14:30)."""
        if value is None:
            return "—"
        local = value.astimezone(self.tz)
        return f"{format_skeleton('MMMd', local, locale=self.locale)} {local:%H:%M}"
