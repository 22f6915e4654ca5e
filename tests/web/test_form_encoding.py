"""The pages read every form and query string as UTF-8, as curl or a script may send them: raw bytes, percent-
encoded, url-encoded or multipart, whatever charset is declared; bytes that are not UTF-8 (GBK) get the error
page naming the field, in the reader's language, and nothing is stored (web/input_guard.py). Over a live HTTP
server, the bodies as raw bytes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlmodel import select

from grievance.cases.models import Case
from grievance.db import transaction
from tests import asgi_run
from tests.factories import World
from tests.open311._support import serve
from tests.web.support import Browser, soup, text_of
from tests.web.test_frontdesk import a_case
from web.pages.common import SESSION_COOKIE

FORM = "application/x-www-form-urlencoded"
BOUNDARY = "----utf8test"


@pytest.fixture
def live(world: World) -> Iterator[str]:
    with serve(world.app) as root:
        yield root


def _client(app: Any, root: str, username: str, lang: str = "zh_CN") -> tuple[httpx.Client, str]:
    """An httpx client on the live server signed in as `username` (tests.web.support.Browser's session), and its
    CSRF token."""
    browser = Browser(app, username)
    cookies = {SESSION_COOKIE: browser.client.cookies[SESSION_COOKIE], "lang": lang}
    return httpx.Client(base_url=root, cookies=cookies, timeout=10, follow_redirects=False), browser.csrf


def _urlencoded(fields: dict[str, str], raw: dict[str, bytes]) -> bytes:
    """Plain fields percent-encoded as a browser does; `raw` ones as the bytes given (curl -d)."""
    parts = [f"{quote(k)}={quote(v)}".encode() for k, v in fields.items() if k not in raw]
    return b"&".join(parts + [k.encode() + b"=" + v for k, v in raw.items()])


def _multipart(fields: dict[str, str], raw: dict[str, bytes]) -> bytes:
    values = {k: v.encode() for k, v in fields.items()} | raw
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode() + v + b"\r\n"
        for k, v in values.items()
    ]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _titles(world: World) -> list[str]:
    with transaction(world.app.state.sessions) as session:
        return [case.title for case in session.exec(select(Case)).all()]


URLENCODED = (_urlencoded, FORM)
MULTIPART = (_multipart, f"multipart/form-data; boundary={BOUNDARY}")
MULTIPART_LATIN1 = (_multipart, f"multipart/form-data; charset=iso-8859-1; boundary={BOUNDARY}")


@pytest.mark.parametrize(
    ("form", "raw"),
    [
        (URLENCODED, True),
        ((_urlencoded, FORM + "; charset=utf-8"), True),
        (URLENCODED, False),
        (MULTIPART, True),
        (MULTIPART_LATIN1, True),  # a wrong declaration: the text is read as UTF-8 all the same
    ],
    ids=["urlencoded-raw", "urlencoded-raw-charset", "urlencoded-percent", "multipart", "multipart-latin1"],
)
def test_the_intake_form_stores_utf8_as_typed(world: World, live: str, form: Any, raw: bool):
    encode, content_type = form
    client, csrf = _client(world.app, live, "intake")
    fields = a_case(csrf_token=csrf)
    typed = {"title": "测试201 路灯", "petitioner_name": "王小明", "location": "青桐路18号"}
    sent = encode(fields | ({} if raw else typed), {k: v.encode() for k, v in typed.items()} if raw else {})
    posted = client.post("/intake", content=sent, headers={"Content-Type": content_type})
    assert posted.status_code == 303, posted.text[:800]
    case_no = posted.headers["location"].split("/")[2]
    with transaction(world.app.state.sessions) as session:
        case = session.exec(select(Case).where(Case.case_no == case_no)).one()
        assert (case.title, case.petitioner_name, case.location) == ("测试201 路灯", "王小明", "青桐路18号")


@pytest.mark.parametrize(
    ("form", "title"),
    [
        (URLENCODED, "路灯坏了".encode("gbk")),
        (URLENCODED, quote("路灯坏了", encoding="gbk").encode()),
        ((_urlencoded, FORM + "; charset=gbk"), "路灯坏了".encode("gbk")),  # declared, still not UTF-8
        (MULTIPART, "路灯坏了".encode("gbk")),
        (MULTIPART_LATIN1, "路灯坏了".encode("gbk")),
    ],
    ids=["urlencoded-gbk", "urlencoded-gbk-percent", "urlencoded-gbk-declared", "multipart-gbk", "multipart-declared"],
)
def test_bytes_that_are_not_utf8_get_the_error_page_naming_the_field(world: World, live: str, form: Any, title: bytes):
    encode, content_type = form
    for lang, words in (("zh_CN", "不是有效的 UTF-8 文本"), ("en", "is not valid UTF-8 text")):
        client, csrf = _client(world.app, live, "intake", lang)
        fields = a_case(csrf_token=csrf)
        posted = client.post(
            "/intake", content=encode(fields, {"title": title}), headers={"Content-Type": content_type}
        )
        assert posted.status_code == 422, posted.text[:800]
        text = text_of(soup(posted.text).find("main") or soup(posted.text))
        assert "title" in text and words in text, text
    assert _titles(world) == []


def _asgi_get(app: Any, path: bytes, query: bytes, cookie: str) -> tuple[int, str]:
    """GET straight through the app's ASGI interface: uvicorn's HTTP parser (h11) refuses raw bytes above 0x7F
    in a request line, other servers (httptools, a proxy) pass them on, and no client library sends them."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path.decode(), "raw_path": path, "query_string": query, "root_path": "",
        "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asgi_run.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body").decode()


def test_a_raw_utf8_query_string_is_read_as_utf8(world: World):
    browser = Browser(world.app, "dispatcher")
    cookie = f"{SESSION_COOKIE}={browser.client.cookies[SESSION_COOKIE]}"
    status, html = _asgi_get(world.app, b"/cases", "q=青桐路".encode(), cookie)
    assert status == 200 and soup(html).find(id="f-q")["value"] == "青桐路"
    status, html = _asgi_get(world.app, b"/cases", "q=青桐路".encode("gbk"), cookie)
    assert status == 422 and "q：不是有效的 UTF-8 文本" in text_of(soup(html))
