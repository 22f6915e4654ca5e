"""Reports as files people open: CSV, an XLSX workbook and a printable A4 HTML page with inline SVG charts."""

from __future__ import annotations

from typing import Any


def render_rates(report: dict[str, Any], fmt: str) -> str | bytes:
    raise NotImplementedError(fmt)


def render_monthly(doc: dict[str, Any], fmt: str) -> str | bytes:
    raise NotImplementedError(fmt)
