"""An Open311 form is read as UTF-8 however a client sends it: raw bytes (`curl -d description=测试`),
percent-encoded (`--data-urlencode`), with or without `charset=utf-8`; bytes that are not UTF-8 (GBK) are refused
with 400 naming the field and nothing stored (web/input_guard.py). The bodies go over a live HTTP server as the
bytes curl sends. And a date filter whose "+" a URL turned into a space is read with its offset."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import quote

import httpx
import pytest
from sqlmodel import select

from grievance.cases.models import Case
from grievance.db import transaction
from tests.factories import World
from tests.open311._support import BASE, Open311World, both_formats, serve

FORM = "application/x-www-form-urlencoded"
DESCRIPTION = "测试201 路灯不亮"
ADDRESS = "青桐路18号"
Encode = Callable[[str], bytes]


@pytest.fixture
def live(world: World) -> Iterator[tuple[Open311World, str]]:
    o311 = Open311World(world)
    with serve(world.app) as root:
        yield o311, root + BASE


def _body(o311: Open311World, encode: Encode, **given: bytes) -> bytes:
    """The form with its Chinese fields as `encode` writes them, or as `given` (bytes sent as they are)."""
    fields = {"description": DESCRIPTION, "address_string": ADDRESS, "first_name": "小明", "last_name": "王"}
    sent = {name: encode(value) for name, value in fields.items()} | given
    head = f"api_key={o311.key}&service_code=CS0101&phone=13812345678".encode()
    return head + b"".join(b"&" + name.encode() + b"=" + value for name, value in sent.items())


def _cases(o311: Open311World) -> list[Case]:
    with transaction(o311.app.state.sessions) as session:
        return list(session.exec(select(Case)).all())


def _raw(value: str) -> bytes:
    return value.encode("utf-8")


def _percent(value: str) -> bytes:
    return quote(value, encoding="utf-8").encode()


@pytest.mark.parametrize(
    ("encode", "content_type"),
    [
        (_raw, FORM),  # curl -d description=测试201
        (_raw, FORM + "; charset=utf-8"),  # curl --data-binary with the charset declared
        (_raw, FORM + "; charset=ISO-8859-1"),  # a wrong declaration: the bytes are read as UTF-8 all the same
        (_percent, FORM),  # curl --data-urlencode
        (_percent, FORM + "; charset=utf-8"),
    ],
    ids=["raw", "raw-charset-utf8", "raw-charset-latin1", "percent", "percent-charset-utf8"],
)
def test_a_utf8_form_is_stored_as_sent(live: tuple[Open311World, str], encode: Encode, content_type: str):
    o311, root = live
    posted = httpx.post(
        f"{root}/requests.json", content=_body(o311, encode), headers={"Content-Type": content_type}, timeout=10
    )
    assert posted.status_code == 201, posted.text
    case_no = posted.json()[0]["service_request_id"]
    (case,) = _cases(o311)
    assert (case.title, case.description) == ("测试201 路灯不亮", DESCRIPTION)
    assert case.petitioner_name == "王小明" and case.location.startswith(ADDRESS)
    (read,) = both_formats(httpx.Client(base_url=root.removesuffix(BASE)), f"requests/{case_no}", "service_requests")
    assert read["description"] == DESCRIPTION and read["address"] == ADDRESS


@pytest.mark.parametrize(
    ("encode", "content_type"),
    [
        (lambda value: value.encode("gbk"), FORM),
        (lambda value: value.encode("gbk"), FORM + "; charset=gbk"),  # declared, still not UTF-8: refused
        (lambda value: quote(value, encoding="gbk").encode(), FORM),
        (lambda value: value.encode("utf-8")[:-1], FORM),  # a character cut in half
    ],
    ids=["gbk-raw", "gbk-declared", "gbk-percent", "truncated-utf8"],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bytes_that_are_not_utf8_are_refused_naming_the_field(
    live: tuple[Open311World, str], encode: Encode, content_type: str, fmt: str
):
    o311, root = live
    posted = httpx.post(
        f"{root}/requests.{fmt}",
        content=_body(o311, _raw, description=encode("路灯坏了")),
        headers={"Content-Type": content_type},
        timeout=10,
    )
    assert posted.status_code == 400, posted.text
    text = posted.json()[0]["description"] if fmt == "json" else posted.text
    assert "description" in text and "UTF-8" in text
    assert _cases(o311) == []


def test_a_date_whose_plus_became_a_space_keeps_its_offset(live: tuple[Open311World, str]):
    """The filed case is received at 2025-09-29T02:00Z (tests/conftest.py's clock). The "+" goes unescaped in the
    URL, as a person types it from the error message's example, and arrives as a space."""
    o311, root = live
    case_no = o311.file()[0]["service_request_id"]

    def ids(end_date: str) -> list[str]:
        answer = httpx.get(f"{root}/requests.json?start_date=2025-09-28T00:00:00Z&end_date={end_date}", timeout=10)
        assert answer.status_code == 200, answer.text
        return [r["service_request_id"] for r in answer.json()]

    assert ids("2025-09-29T06:00:00+05:00") == []  # 01:00Z: not -05:00 (11:00Z), not UTC
    assert ids("2025-09-29T08:00:00+05:00") == [case_no]  # 03:00Z: not the local +08:00 (00:00Z)
    assert ids("2025-09-29T08:00:00%2B05:00") == [case_no]  # the escaped "+" as before
    assert ids("2025-09-29T08:00+0500") == [case_no]
    bad = httpx.get(f"{root}/requests.json?end_date=2025-09-29T08:00:00+5", timeout=10)
    assert bad.status_code == 400 and "end_date" in bad.json()[0]["description"]
