"""The pages' languages: gettext catalogs read from web/translations/<locale>/*.po at start (no compiled files
to keep in step), Chinese (zh_CN) by default and English on request, dates written the local way, and the
labels of the vocabularies and workflows in the reader's language."""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from grievance.errors import in_english, split_glued
from grievance.glossary import LABELS, label_of
from grievance.workflow.definition import Labelled, WorkflowDef

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


def in_locale(message: str, locale: str) -> str:
    """The reader's half of a text written "中文 (English)" (a form label, a hint, a pydantic field message):
    grievance.errors.split_glued finds the halves; a text not of that shape is returned whole. Domain errors
    carry both languages as fields: show them with DomainError.text(locale), not with this."""
    halves = split_glued(message)
    if halves is None:
        return message
    zh, en = halves
    return in_english(en) if locale == "en" else zh


def pick_locale(cookie: str | None) -> str:
    """Chinese unless the person chose English with the switch (the browser's own language is not asked:
    office machines often come with English settings)."""
    return cookie if cookie in LOCALES else DEFAULT_LOCALE  # type: ignore[return-value]


class Formatter:
    """Dates and times in the reader's language and the deployment's time zone: 2025年3月5日 in Chinese.

    `today` is the deployment's current local date (from the runtime clock): short forms leave out the year of a
    date in the current year and write it for any other year, so a 2025 case read in 2026 is not misdated."""

    def __init__(self, locale: str, timezone: str, today: date | None = None) -> None:
        self.locale, self.tz, self.today = locale, ZoneInfo(timezone), today

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

    def day(self, value: date | datetime | None) -> str:
        """A day without the time, compact: 3月5日 (2025年3月5日 when not in the current year)."""
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = value.astimezone(self.tz).date()
        same_year = self.today is not None and value.year == self.today.year
        return format_skeleton("MMMd" if same_year else "yMMMd", value, locale=self.locale)

    def short(self, value: datetime | None) -> str:
        """Compact, for tables: 3月5日 14:30 (or Mar 5 14:30); the year is written when it is not this year's."""
        if value is None:
            return "—"
        local = value.astimezone(self.tz)
        return f"{self.day(local)} {local:%H:%M}"

    def due(self, value: datetime | None, long: bool = False) -> str:
        """A due time, one notation everywhere (receipt, lists, case page): a working-day limit ends at local
        midnight, written as the end of the day before, "12月1日 24:00", since "12月2日 00:00" reads as a day
        more. Short form for tables (year only when not this year's); `long` always writes the year."""
        if value is None:
            return "—"
        local = value.astimezone(self.tz)
        clock = f"{local:%H:%M}"
        if (local.hour, local.minute) == (0, 0):
            local, clock = local - timedelta(days=1), "24:00"
        return f"{self.date(local) if long else self.day(local)} {clock}"


class Labels:
    """`label(kind, code, workflow=None)` in templates: a code's label in the reader's language.

    kind is a glossary vocabulary ("Channel", "CaseType", "Urgency", "Role", "Outcome", "Satisfaction",
    "PetitionerKind") or a workflow part: "workflow", "state", "action", "clock", or "field" (code
    "action.field"). `workflow` is the case's workflow name; without it every workflow is asked and differing
    labels are joined ("待派单 / 待受理"), as the lists that mix workflows show them. Without label_en an English
    page shows the Chinese label (see definition.Labelled); an unknown code is shown as itself."""

    def __init__(self, locale: str, workflows: dict[str, WorkflowDef]) -> None:
        self.locale = locale
        self.workflows = sorted(workflows.values(), key=lambda w: w.priority)
        self.by_name = workflows

    def __call__(self, kind: str, code: Any, workflow: str | None = None) -> str:
        code = "" if code is None else str(code)
        if kind in LABELS:
            return label_of(kind, code, self.locale)
        if kind == "workflow":
            found = self.by_name.get(code)
            return found.label_in(self.locale) if found else code
        chosen = [self.by_name[workflow]] if workflow in self.by_name else self.workflows
        names: list[str] = []
        for definition in chosen:
            part = self._part(definition, kind, code)
            text = part.label_in(self.locale) if part is not None else ""
            if text and text not in names:
                names.append(text)
        return " / ".join(names) if names else code.rsplit(".", 1)[-1]

    def of(self, part: Labelled | dict[str, Any], fallback: str = "") -> str:
        """The label of a workflow part already at hand (a FieldDef, or its dict from available_actions)."""
        if isinstance(part, dict):
            text = (part.get("label_en") if self.locale == "en" else None) or part.get("label") or ""
            return str(text) or fallback
        return part.label_in(self.locale) or fallback

    @staticmethod
    def _part(definition: WorkflowDef, kind: str, code: str) -> Labelled | None:
        if kind == "state":
            return definition.states.get(code)
        if kind == "action":
            return definition.actions.get(code)
        if kind == "clock":
            return definition.clocks.get(code)
        if kind == "field":
            action, _dot, field = code.partition(".")
            found = definition.actions.get(action)
            return found.fields.get(field) if found else None
        raise ValueError(f"no label kind {kind!r}")
