"""The leader's figures, labels, dates and months in the reader's language, and the moments that report links
carry (`as_of`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton

from grievance.glossary import label_of
from grievance.reports import exports, service
from grievance.reports.metrics import FACTS, METRICS
from grievance.workflow.engine import Runtime
from web.pages.common import Viewer, gettext_for

# Figures where a rise is bad news (shown red when they go up).
LOWER_IS_BETTER = frozenset({"overdue_count", "reopen_rate"})
NEUTRAL = frozenset({"intake_count", "duplicate_count"})


# --- moments and periods -------------------------------------------------------------------------------------


def local_iso(moment: datetime, timezone: str) -> str:
    """An `as_of` link parameter: local time to the second, with its offset (2025-09-30T10:00:00+08:00)."""
    return moment.astimezone(ZoneInfo(timezone)).replace(microsecond=0).isoformat()


def now_text(runtime: Runtime) -> str:
    """'Now' as an explicit moment, so the figures on a page and the case lists it links to count the same
    events even when new ones arrive in between."""
    return local_iso(runtime.now(), runtime.settings.timezone)


def as_moment(value: str | datetime) -> datetime:
    """A moment from the service's JSON (ISO text) or a row (a datetime; UTC when the driver drops the zone)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def input_moment(text: str, timezone: str) -> str:
    """The value of a datetime-local field: local time without zone (what a person typed stays as typed when
    it is not a time at all, so the error can quote it)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo:
        moment = moment.astimezone(ZoneInfo(timezone))
    return moment.replace(tzinfo=None, microsecond=0).isoformat()


# --- figures as the reader reads them ------------------------------------------------------------------------


def capitalised(text: str) -> str:
    """The first letter upper-case, the rest as written ("on-time response rate" -> "On-time response rate")."""
    return text[:1].upper() + text[1:]


class Words:
    """Figures, labels and dates in the reader's language (metric labels have their own English)."""

    def __init__(self, viewer: Viewer, runtime: Runtime) -> None:
        self.locale = viewer.locale
        self.en = viewer.locale == "en"
        self._ = gettext_for(viewer)
        self.tz = runtime.settings.timezone
        self.workflows = runtime.workflows

    def label(self, key: str) -> str:
        """A metric's name as a heading or column title: "Solved rate" (the English labels are written lower-case
        for use inside sentences, so a heading capitalises its first letter)."""
        m = METRICS.get(key)
        return capitalised(m.label_en if self.en else m.label) if m else key

    def formula(self, key: str) -> str:
        m = METRICS.get(key)
        return (m.formula_en if self.en else m.formula) if m else key

    def fact(self, key: str) -> str:
        f = FACTS.get(key)
        return (f.label_en if self.en else f.label) if f else key

    def numerator(self, key: str) -> str:
        return self.fact(METRICS[key].numerator)

    def denominator(self, key: str) -> str:
        found = METRICS[key].denominator
        return self.fact(found) if found else ""

    def kind(self, key: str) -> str:
        return exports.kind_of(key)

    def dimension(self, key: str, heading: bool = False) -> str:
        """A grouping dimension's name: lower-case inside a sentence ("By department"), capitalised as a
        `heading` (a column title, a checkbox)."""
        zh, en = service.DIMENSION_LABELS.get(key, (key, key))
        return (capitalised(en) if heading else en) if self.en else zh

    def figure(self, value: float | int | None, kind: str) -> str:
        """96.1% for a rate, 95.0 for a score out of 100, 12 for a count, — when a rate has no value."""
        if value is None:
            return exports.DASH
        if kind == "rate":
            return f"{value * 100:.1f}%"
        if kind == "score":
            return f"{value * 100:.1f}"
        return exports.number(value)

    def number(self, value: float | int | None) -> str:
        return exports.number(value)

    def change(self, value: float | int | None, kind: str) -> str:
        """▲1.2 percentage points, ▼3 (cases), no change, or — when either month has no value."""
        if value is None:
            return exports.DASH
        amount = value if kind == "count" else round(value * 100, 1)
        if amount == 0:
            return str(self._("No change"))
        arrow = "▲" if amount > 0 else "▼"
        if kind == "rate":
            return arrow + self._("%(n)s percentage points") % {"n": f"{abs(amount):.1f}"}
        if kind == "score":
            return arrow + self._("%(n)s points") % {"n": f"{abs(amount):.1f}"}
        return arrow + exports.number(abs(amount))

    def trend_class(self, key: str, value: float | int | None) -> str:
        """good / bad / flat for the colour of a change (a rise of overdue cases is bad; more cases received is
        neither)."""
        if not value or key in NEUTRAL:
            return "flat"
        rising = value > 0
        return "bad" if rising == (key in LOWER_IS_BETTER) else "good"

    def month(self, key: str) -> str:
        """2025年9月 / September 2025"""
        return format_skeleton("yMMMM", date.fromisoformat(key + "-01"), locale=self.locale)

    def day(self, value: str | date) -> str:
        day = date.fromisoformat(value) if isinstance(value, str) else value
        return format_skeleton("yMMMd", day, locale=self.locale)

    def period(self, start: str | date, end: str | date) -> str:
        """The days [start, end) as people say them: from the first to the last day."""
        last = (date.fromisoformat(end) if isinstance(end, str) else end) - timedelta(days=1)
        return self._("%(first)s to %(last)s") % {"first": self.day(start), "last": self.day(last)}

    def moment(self, value: str | datetime) -> str:
        local = as_moment(value).astimezone(ZoneInfo(self.tz))
        return f"{self.day(local.date())} {local:%H:%M:%S}"

    def short(self, value: str | datetime) -> str:
        local = as_moment(value).astimezone(ZoneInfo(self.tz))
        return f"{self.day(local.date())} {local:%H:%M}"

    def group(self, dimension: str, key: object, label: str) -> str:
        """The name of one group of a report row in the reader's language: the "none" group ("Not dispatched",
        "Uncategorised"...) and vocabulary codes (channel...) worded here; names of records (departments,
        stations) as the service gives them (`label`)."""
        _ = self._
        if key is None:
            none = {
                "department": _("Not dispatched"),
                "station": _("Not raised at a station"),
                "meeting": _("Not raised at a meeting"),
                "category": _("Uncategorised"),
            }
            return none.get(dimension, label)
        vocabulary = {"channel": "Channel", "case_type": "CaseType", "petitioner_kind": "PetitionerKind"}
        if dimension in vocabulary:
            return label_of(vocabulary[dimension], str(key), self.locale)
        return label

    def state(self, state: str) -> str:
        """A case state's label from the workflows, in the reader's language (label_en where the file has it)."""
        for definition in self.workflows.definitions.values():
            if state in definition.states:
                return definition.states[state].label_in(self.locale)
        return state
