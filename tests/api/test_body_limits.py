"""Bodies are bounded and never read for a stranger (web/body_limits.py, web/uploads.py): 401 before a byte of a
300 MB body is read, 413 for a Content-Length over the cap and for a chunked body as soon as it passes it, 413
for more files than Settings.max_files_per_request, and nothing stored by any refused request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import func, select

from grievance.cases.models import Case
from grievance.db import transaction
from tests import asgi_run
from tests.web.support import Browser, soup, text_of

API = "/api/v1"
MB = 1024 * 1024
CHUNK = 64 * 1024


class Body:
    """A request body of `total` bytes sent in CHUNK pieces, counting how many the server pulled."""

    def __init__(self, total: int, piece: bytes = b" ", head: bytes = b"") -> None:
        self.total, self.piece, self.head, self.sent = total, piece, head, 0

    def __iter__(self) -> Iterator[bytes]:
        if self.head:
            self.sent += len(self.head)
            yield self.head
        chunk = self.piece * (CHUNK // len(self.piece))
        while self.sent < self.total:
            self.sent += len(chunk)
            yield chunk


def asgi_post(app: Any, path: str, headers: dict[str, str], body: Body) -> tuple[int, dict[str, Any]]:
    """POST straight to the ASGI app, body chunk by chunk as a server passes it (TestClient reads a streamed
    body whole before the app sees it), so Body.sent is what the app really pulled. (status, JSON answer)."""
    chunks = iter(body)
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }
    asgi_run.run(app(scope, receive, send))
    starts = [m for m in messages if m["type"] == "http.response.start"]
    assert len(starts) == 1, messages  # one answer, never two
    text = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return starts[0]["status"], json.loads(text)


def case_count(app) -> int:  # type: ignore[no-untyped-def]
    with transaction(app.state.sessions) as session:
        return session.exec(select(func.count()).select_from(Case)).one()


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # Caps low enough to pass in a test; the defaults (1 MB JSON, 50 MB uploads, 10 files) are the same code.
    return settings.model_copy(
        update={"max_json_body_bytes": 64 * 1024, "max_upload_total_bytes": 2 * MB, "max_files_per_request": 10}
    )


def test_a_300_mb_body_without_a_token_is_refused_401_without_being_read(world, app) -> None:  # type: ignore[no-untyped-def]
    body = Body(300 * MB)
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    status, data = asgi_post(app, f"{API}/cases", headers, body)
    assert status == 401 and data["error"] == "not_authenticated"
    assert "Bearer" in data["message_en"]
    assert body.sent == 0  # not one chunk pulled
    # A declared length of 300 MB: the same 401, before any of it.
    body = Body(300 * MB)
    response = world.client.post(
        f"{API}/cases/GX-2025-000001/attachments",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(300 * MB)},
    )
    assert response.status_code == 401 and body.sent <= 2 * CHUNK


def test_an_unknown_token_is_refused_before_the_body_too(world) -> None:  # type: ignore[no-untyped-def]
    body = Body(300 * MB)
    response = world.client.post(
        f"{API}/cases",
        content=body,
        headers={"Content-Type": "application/json", "Authorization": "Bearer not-a-real-token"},
    )
    assert response.status_code == 401
    assert response.json()["message_en"] == "the token is unknown or revoked"
    assert body.sent <= 2 * CHUNK


def test_a_content_length_over_the_cap_is_413_at_once(world, app) -> None:  # type: ignore[no-untyped-def]
    body = Body(300 * MB)
    response = world.client.post(
        f"{API}/cases",
        content=body,
        headers={**world.headers("intake"), "Content-Type": "application/json", "Content-Length": str(300 * MB)},
    )
    assert response.status_code == 413
    data = response.json()
    assert data["error"] == "body_too_large" and data["limit_bytes"] == 64 * 1024
    assert "0.0625 MB" in data["message"] and "65536 bytes" in data["message_en"]
    assert body.sent <= 2 * CHUNK
    assert case_count(app) == 0


def test_a_chunked_body_is_cut_with_413_as_soon_as_it_passes_the_cap(world, app) -> None:  # type: ignore[no-untyped-def]
    chunked = {**world.headers("intake"), "Transfer-Encoding": "chunked"}
    body = Body(300 * MB, b'{"a": 1}   ')
    status, data = asgi_post(app, f"{API}/cases", {**chunked, "Content-Type": "application/json"}, body)
    assert status == 413 and data["error"] == "body_too_large" and data["limit_bytes"] == 64 * 1024
    assert body.sent <= 64 * 1024 + 2 * CHUNK  # read up to the cap and a chunk, not 300 MB
    # A multipart upload is counted against the upload cap (2 MB here), the same way.
    no = world.intake()["case_no"]
    part = b'--xyz\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\n'
    body = Body(300 * MB, head=part)
    multipart = {**chunked, "Content-Type": "multipart/form-data; boundary=xyz"}
    status, data = asgi_post(app, f"{API}/cases/{no}/attachments", multipart, body)
    assert status == 413 and data["limit_bytes"] == 2 * MB and "2 MB" in data["message"]
    assert body.sent <= 2 * MB + 2 * CHUNK
    assert case_count(app) == 1


def test_a_json_body_under_the_cap_still_works(world) -> None:  # type: ignore[no-untyped-def]
    assert world.intake(description="路灯" * 1000)["case_no"]


def test_eleven_files_in_one_request_are_refused_and_nothing_is_stored(world, app) -> None:  # type: ignore[no-untyped-def]
    no = world.intake()["case_no"]
    files = [("files", (f"说明{i}.txt", f"第 {i} 页".encode(), "text/plain")) for i in range(11)]
    response = world.client.post(f"{API}/cases/{no}/attachments", files=files, headers=world.headers("intake"))
    assert response.status_code == 413
    data = response.json()
    assert data["error"] == "too_many_files" and data["limit_files"] == 10
    assert "10 个文件" in data["message"] and "at most 10 files" in data["message_en"]
    assert world.get(no, "intake")["attachments"] == []
    # Ten are fine.
    response = world.client.post(f"{API}/cases/{no}/attachments", files=files[:10], headers=world.headers("intake"))
    assert response.status_code == 201, response.text
    assert len(world.get(no, "intake")["attachments"]) == 10


def test_eleven_files_on_the_case_page_get_the_same_refusal(world, app) -> None:  # type: ignore[no-untyped-def]
    no = world.intake()["case_no"]
    page = Browser(app, "intake")
    files = [("files", (f"说明{i}.txt", b"x", "text/plain")) for i in range(11)]
    response = page.client.post(f"/cases/{no}/attachments", data={"csrf_token": page.csrf}, files=files)
    assert response.status_code == 413
    assert "一次最多上传 10 个文件" in text_of(soup(response.text).find("main"))
    assert world.get(no, "intake")["attachments"] == []


def test_a_page_post_without_a_session_goes_to_sign_in_without_reading_the_body(world) -> None:  # type: ignore[no-untyped-def]
    body = Body(300 * MB)
    response = world.client.post(
        "/intake",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/intake"
    assert body.sent <= 2 * CHUNK


def test_the_public_lookup_still_takes_a_body_without_a_token(world) -> None:  # type: ignore[no-untyped-def]
    response = world.client.post(f"{API}/public/lookup", json={"code": "K7QM-3XHD-9TPR"})
    assert response.status_code in (404, 422), response.text  # answered by the route: no token needed
    assert response.json()["error"] != "not_authenticated"
