"""One language at a time: every role's main pages in Chinese carry no English words and in English no Chinese
(outside what people typed: titles, names, departments), vocabulary and workflow labels included; switching
the language keeps the page's filters."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import quote

import pytest

from grievance.glossary import LABELS, LABELS_EN
from tests.api._support import sh
from tests.factories import World
from tests.web.support import soup, text_of
from web.i18n import Formatter, in_locale

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # pages only: the SQL is not at stake

MON = sh(2025, 11, 3)
# Latin words allowed on a Chinese page: the language switch, file formats, units and the like.
ALLOWED_LATIN = {
    "English",
    "XLSX",
    "CSV",
    "xlsx",
    "csv",
    "Excel",
    "MB",
    "KB",
    "ID",
    "PDF",
    "QR",
    "API",
    "Open311",  # the standard's name (Open311 密钥, the categories' Open311 column)
    "Ctrl",
    "Enter",
    "Tab",
}
CASE_NO = re.compile(r"\b[A-Z]{2,}-\d{4}-\d+\b")
FILE_PATH = re.compile(r"(?:https?:/)?(?:/[\w.:-]+)+")  # and addresses (the receipt's query page)
QUERY_CODE = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")  # a receipt's query code, as printed
CODE_18 = re.compile(r"\b[0-9A-Z]{18}\b")  # credit codes and ID numbers
# Chinese characters.
CJK = re.compile(r"[\u3400-\u9fff]+")
# Full-width punctuation (「：」「（」「；」「、」「＿」, full-width digits) on an English page: between translated pieces
# it comes from web.pages.common.PUNCTUATION (punct.colon...), or a translated string carries its own.
FULL_WIDTH = re.compile(r"[\u3000-\u303f\uff01-\uff60\uffe0-\uffee]+")
# Attributes people read (tooltips, accessible names, placeholders).
READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
# Pages of each role besides its navigation: its case page and a refusal.
ROLE_PAGES: dict[str, list[str]] = {
    "intake": [
        "/intake",
        "/meetings",
        "/stations",
        "/cases",
        "/cases/{no}",
        "/cases/{no}/receipt",
        "/pool",
        "/account/password",
        "/meetings/{meeting}",
        "/meetings/{meeting}/report",
    ],
    "dispatcher": ["/pool", "/cases", "/cases/{no}", "/reports", "/meetings"],
    "handler": ["/queue", "/cases", "/cases/{no}", "/cases/{done}", "/board", "/cases/GX-2025-999999"],
    "head": ["/queue", "/cases/{no}", "/reports"],
    "supervisor": ["/board", "/cases?state=dispatched", "/cases/{done}"],
    "leader": [
        "/dashboard",
        "/reports/monthly",
        "/reports/monthly/2025-11",
        "/reports",
        "/reports/cases?metric=intake_count&month=2025-11",
    ],
    "admin": ["/admin", "/admin/workflows", "/admin/workflows/standard", "/admin/users"],
}


def readable_text(page: Any) -> str:
    """What a person reads on the page: visible text and the read attributes, without scripts and styles and
    without the nodes that show data as typed (code, the signed-in name)."""
    # Codes, keys (<kbd>Ctrl</kbd>), the signed-in name and the workflow diagram (its states' codes; its
    # labels are the tables' own) are shown as they are.
    for node in page.select("script, style, code, kbd, .kbd, svg, .who"):
        node.decompose()
    parts = [page.get_text(" ")]
    for attribute in READ_ATTRIBUTES:
        parts += [str(node[attribute]) for node in page.select(f"[{attribute}]")]
    return " ".join(" ".join(parts).split())


def _in_context(pattern: re.Pattern[str], text: str) -> list[str]:
    """Each offending run with a few characters around it, so a failure says where to look."""
    return sorted({text[max(0, m.start() - 12) : m.end() + 12] for m in pattern.finditer(text)})


def english_fragments(text: str, data: set[str]) -> list[str]:
    # Generated codes first: a random query code may contain a data value ("ZX" in "D5W8-2JKJ-ZXEV").
    text = CODE_18.sub(" ", QUERY_CODE.sub(" ", CASE_NO.sub(" ", text)))
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, "…")
    text = FILE_PATH.sub(" ", text)
    allowed = "|".join(sorted(ALLOWED_LATIN))
    return _in_context(re.compile(rf"(?!(?:{allowed})\b)\b[A-Za-z]{{2,}}"), text)


def chinese_fragments(text: str, data: set[str]) -> list[str]:
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, "…")
    text = text.replace("中文", " ")
    return _in_context(CJK, text) + _in_context(FULL_WIDTH, text)


def a_working_day(world: World) -> dict[str, str]:
    """A case waiting at the department and one resolved and called back: states, clocks and events to show."""
    no = world.intake(title="路灯不亮", description="小区门口路灯坏了")["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    done = world.intake(title="噪音扰民", description="夜间施工噪音")["case_no"]
    world.act(done, "dispatch", "dispatcher", department_id="CGJ")
    world.act(done, "accept", "handler")
    world.act(done, "respond", "handler", note="已联系")
    world.act(done, "request_extension", "handler", days=3, reason="需协调")
    world.act(done, "resolve", "handler", outcome="solved", reply="已修复")
    world.intake(title="咨询政策", description="人才政策")
    return {"no": no, "done": done, "meeting": str(world.meeting_id)}


@SQLITE_ONLY
def test_each_role_reads_its_pages_in_one_language(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    cases = a_working_day(world)
    # What people typed into this world (and the World's names): shown as typed in both languages.
    data = {
        "路灯不亮", "小区门口路灯坏了", "噪音扰民", "夜间施工噪音", "咨询政策", "人才政策", "已联系", "需协调", "已修复",
        "诉求服务中心", "城市管理局", "企业服务局", "青桐街道", "青桐驿站", "第一期阳光恳谈会", "云帆光电科技有限公司",
        "张三", "Asia/Shanghai", "ZS01", "CGJ", "JD1", "QFJ", "ZX", "intake", "dispatcher", "handler", "head", "supervisor", "leader", "admin", "other_handler", "liaison",
    }  # fmt: skip
    problems = []
    for user, paths in ROLE_PAGES.items():
        person = browser(user)
        for path in paths:
            url = path.format(**cases)
            for locale in ("zh_CN", "en"):
                person.client.cookies.set("lang", locale)
                response = person.get(url)
                assert response.status_code in (200, 403, 404), f"{user} {url}: {response.status_code}"
                text = readable_text(soup(response.text))
                found = english_fragments(text, data) if locale == "zh_CN" else chinese_fragments(text, data)
                if found:
                    problems.append(f"{user} {url} [{locale}]: {found}")
    assert problems == [], "\n".join(problems)


@SQLITE_ONLY
def test_english_counts_take_the_singular_for_one(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "urge", "supervisor", note="请尽快")
    supervisor = browser("supervisor")
    supervisor.client.cookies.set("lang", "en")
    page = supervisor.page(f"/cases/{no}")
    assert text_of(page.select_one('tr[data-clock="accept"] td[data-label="Deadline"] small')) == "1 working day"
    urged = next(div for div in page.select("dl div") if text_of(div.find("dt")) == "Urged")
    assert text_of(urged.find("dd")) == "1 time"
    clock.set(sh(2025, 11, 6, 0, 0))  # acknowledgement due Tuesday 24:00: a working day late
    board = text_of(supervisor.page("/board"))
    assert "Urged 1 time " in board and "Overdue by 1 working day " in board, board
    supervisor.client.cookies.set("lang", "zh_CN")
    assert "已催办 1 次" in text_of(supervisor.page("/board"))


def test_every_vocabulary_code_has_an_english_label() -> None:
    assert {k: set(v) for k, v in LABELS_EN.items()} == {k: set(v) for k, v in LABELS.items()}


@SQLITE_ONLY
def test_an_english_case_page_names_states_actions_and_clocks_in_english(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    handler = browser("handler")
    handler.client.cookies.set("lang", "en")
    page = handler.page(f"/cases/{no}")
    assert "To acknowledge" in text_of(page.find(class_="tags"))
    assert {text_of(b) for b in page.select("form.action-form button[type=submit]")} >= {"Acknowledge", "Return"}
    clocks = {row["data-clock"]: text_of(row) for row in page.select("tr[data-clock]")}
    assert clocks["accept"].startswith("Acknowledgement time")
    assert [text_of(li.find("strong")) for li in page.select(".timeline li")] == ["Dispatch", "Case logged"]
    handler.client.cookies.set("lang", "zh_CN")
    assert "待签收" in text_of(handler.page(f"/cases/{no}").find(class_="tags"))


def test_a_field_is_named_by_its_label_in_messages(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    refused = world.act(no, "request_extension", "handler", expect=422, days=99, reason="需协调")
    assert refused["errors"] == [
        {
            "field": "days",
            "message": "延期工作日数 应在 1 到 15 之间",
            "message_en": "Extension working days must be between 1 and 15",
        }
    ]


@SQLITE_ONLY
def test_refusal_pages_speak_the_readers_language_only(world, browser) -> None:  # type: ignore[no-untyped-def]
    handler = browser("handler")
    refused = handler.page("/pool", expect=403)
    assert (
        text_of(refused.find("main"))
        == "无权访问此页面 承办人无权访问此页面 可访问的角色： 派单员、督办员 返回我的首页"
    )
    handler.client.cookies.set("lang", "en")
    refused = handler.page("/pool", expect=403)
    assert "A Handler may not open this page" in text_of(refused.find("main"))
    assert "Dispatcher" in text_of(refused.find("main")) and not CJK.search(text_of(refused.find("main")))
    missing = handler.page("/no-such-page", expect=404)
    assert "Not Found" not in text_of(missing.find("main")) and "There is nothing at this address." in text_of(missing)


@SQLITE_ONLY
def test_switching_the_language_keeps_the_page_and_its_filters(world, browser) -> None:  # type: ignore[no-untyped-def]
    dispatcher = browser("dispatcher")
    page = dispatcher.page("/cases?state=dispatched&channel=hotline")
    switch = page.select_one(".lang a")["href"]
    assert switch == "/lang/en?next=/cases%3Fstate%3Ddispatched%26channel%3Dhotline"
    response = dispatcher.get(switch)
    assert response.status_code == 303 and response.headers["location"] == "/cases?state=dispatched&channel=hotline"
    assert response.cookies["lang"] == "en"
    for foreign in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        assert dispatcher.get(f"/lang/en?next={quote(foreign)}").headers["location"] == "/"


@SQLITE_ONLY
def test_api_docs_and_the_icon_are_served_by_the_app(client) -> None:  # type: ignore[no-untyped-def]
    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert response.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', response.text) + re.findall(r"url: '([^']+)'", response.text)
        assert assets and all(url.startswith("/") and not url.startswith("//") for url in assets), assets
        for url in assets:
            assert client.get(url).status_code == 200, url
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert 'rel="icon" href="/static/favicon.svg"' in client.get("/login").text


@SQLITE_ONLY
def test_a_due_time_reads_the_same_on_the_receipt_and_the_case_page(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    no = world.intake()["case_no"]  # Monday 2025-09-29 10:00: respond within 1 working day
    clerk = browser("intake")
    receipt = clerk.page(f"/cases/{no}/receipt").find("article", class_="fd-receipt")
    on_receipt = [text_of(td) for td in receipt.select("tbody td") if "24:00" in text_of(td)]
    case_page = clerk.page(f"/cases/{no}")
    on_case = text_of(case_page.select_one('tr[data-clock="respond"] td[data-label="到期时间"]'))
    assert on_receipt[0] == "2025年9月30日 24:00" and on_case == "9月30日 24:00"
    clock.set(sh(2026, 1, 5))  # the next year: the same due time carries its year in the lists
    assert text_of(clerk.page(f"/cases/{no}").select_one('tr[data-clock="respond"] td[data-label="到期时间"]')) == (
        "2025年9月30日 24:00"
    )


# --- Formatter: dates a person can read ---------------------------------------------------------------------


def fmt(locale: str = "zh_CN", today: date = date(2025, 11, 3)) -> Formatter:
    return Formatter(locale, "Asia/Shanghai", today=today)


def test_a_due_time_at_local_midnight_is_the_end_of_the_day_before() -> None:
    assert fmt().due(sh(2025, 12, 2, 0, 0)) == "12月1日 24:00"
    assert fmt().due(sh(2025, 12, 2, 0, 0), long=True) == "2025年12月1日 24:00"
    assert fmt().due(sh(2025, 12, 2, 9, 30)) == "12月2日 09:30"
    assert fmt().due(sh(2026, 1, 1, 0, 0)) == "12月31日 24:00"  # the day it ends on is this year's
    assert fmt(today=date(2026, 1, 2)).due(sh(2026, 1, 1, 0, 0)) == "2025年12月31日 24:00"
    assert fmt(today=date(2026, 1, 2)).due(sh(2026, 1, 2, 0, 0)) == "1月1日 24:00"
    assert fmt().due(None) == "—"


def test_short_dates_carry_the_year_when_it_is_not_this_one() -> None:
    assert fmt(today=date(2026, 1, 5)).short(sh(2025, 12, 30, 14, 5)) == "2025年12月30日 14:05"
    assert fmt(today=date(2025, 12, 31)).short(sh(2025, 12, 30, 14, 5)) == "12月30日 14:05"
    assert fmt().date(sh(2025, 12, 30)) == "2025年12月30日"  # the long form always has it


def test_english_dates() -> None:
    en = fmt("en", today=date(2025, 11, 3))
    assert en.due(sh(2025, 12, 2, 0, 0)) == "Dec 1 24:00"
    assert en.due(sh(2025, 12, 2, 0, 0), long=True) == "December 1, 2025 24:00"
    assert fmt("en", today=date(2026, 1, 5)).short(sh(2025, 12, 30, 14, 5)) == "Dec 30, 2025 14:05"


def test_the_readers_half_of_a_bilingual_message() -> None:
    message = "诉求 X 不存在 (no case numbered 'X' (or hidden))"
    assert in_locale(message, "zh_CN") == "诉求 X 不存在"
    assert in_locale(message, "en") == "No case numbered 'X' (or hidden)"
    assert in_locale("已办结（当场答复）", "en") == "已办结（当场答复）"  # not of the shape: whole
    assert in_locale("办结 (resolve)", "en") == "Resolve"
