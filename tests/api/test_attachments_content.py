"""Attachments are what their bytes are (grievance/cases/attachment_content.py): an .exe sent as image/jpeg is
refused on every upload path, a PNG sent as octet-stream is stored and served as image/png, names such as
../../etc/passwd are kept and shown as their base name; and an Idempotency-Key reused for another request is
refused instead of answering with the first case."""

from __future__ import annotations

import json

from sqlmodel import func, select

from grievance.cases.attachment_content import safe_filename
from grievance.cases.models import Attachment, Case
from grievance.db import transaction
from tests.web.support import Browser, soup, text_of

API = "/api/v1"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00" + b"\x00" * 32
CASE = {
    "channel": "meeting",
    "case_type": "help",
    "title": "小区门口路灯不亮",
    "description": "青桐路18号小区门口的路灯坏了一周",
    "petitioner": {"name": "张三", "phone": "13812341234"},
}


def counts(app) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with transaction(app.state.sessions) as session:
        cases = session.exec(select(func.count()).select_from(Case)).one()
        files = session.exec(select(func.count()).select_from(Attachment)).one()
        return cases, files


def intake_with(world, files, key: str | None = None, **fields):  # type: ignore[no-untyped-def]
    headers = world.headers("intake") | ({"Idempotency-Key": key} if key else {})
    case = {**CASE, "meeting": world.meeting_id, **fields}
    return world.client.post(
        f"{API}/cases", data={"case": json.dumps(case, ensure_ascii=False)}, files=files, headers=headers
    )


def test_an_exe_sent_as_a_jpeg_is_refused_at_intake_and_nothing_is_stored(world, app) -> None:  # type: ignore[no-untyped-def]
    response = intake_with(world, [("files", ("现场照片.jpg", EXE, "image/jpeg"))])
    assert response.status_code == 422
    data = response.json()
    assert data["error"] == "attachment_type_refused"
    assert "application/x-msdownload" in data["message"] and "不是可接受的附件类型" in data["message"]
    assert "jpg, png" in data["message_en"] and "pdf" in data["message_en"]  # what is accepted
    assert data["errors"][0]["field"] == "files"
    assert counts(app) == (0, 0)


def test_an_exe_is_refused_on_the_attachment_route_and_the_case_page(world, app) -> None:  # type: ignore[no-untyped-def]
    no = world.intake()["case_no"]
    response = world.client.post(
        f"{API}/cases/{no}/attachments",
        files=[("files", ("photo.jpg", EXE, "image/jpeg"))],
        headers=world.headers("intake"),
    )
    assert response.status_code == 422 and response.json()["error"] == "attachment_type_refused"
    page = Browser(app, "intake")
    response = page.client.post(
        f"/cases/{no}/attachments",
        data={"csrf_token": page.csrf},
        files=[("files", ("photo.jpg", EXE, "image/jpeg"))],
    )
    assert response.status_code == 422
    assert "不是可接受的附件类型" in text_of(soup(response.text).find(id="e-files"))
    assert counts(app) == (1, 0)


def test_content_decides_the_type_and_a_path_becomes_its_base_name(world, app) -> None:  # type: ignore[no-untyped-def]
    response = intake_with(
        world,
        [
            ("files", ("../../etc/passwd", b"root:x:0:0\n", "image/jpeg")),
            ("files", ("C:\\Users\\王\\现场.png", PNG, "application/octet-stream")),
        ],
    )
    assert response.status_code == 201, response.text
    attachments = response.json()["attachments"]
    assert [(a["filename"], a["content_type"]) for a in attachments] == [
        ("passwd", "text/plain"),
        ("现场.png", "image/png"),
    ]
    no = response.json()["case_no"]
    shown = world.get(no, "intake")["attachments"]
    assert [a["filename"] for a in shown] == ["passwd", "现场.png"]
    download = world.client.get(f"{API}/cases/{no}/attachments/{shown[0]['id']}", headers=world.headers("intake"))
    assert download.status_code == 200 and download.content == b"root:x:0:0\n"
    assert download.headers["content-type"].startswith("text/plain")
    assert download.headers["content-disposition"] == 'attachment; filename="passwd"'
    png = world.client.get(f"{API}/cases/{no}/attachments/{shown[1]['id']}", headers=world.headers("intake"))
    assert png.headers["content-type"] == "image/png"
    assert png.headers["content-disposition"].startswith("attachment; filename*=utf-8''")
    # The case page lists the base name too.
    page = Browser(app, "intake").page(f"/cases/{no}")
    assert [text_of(a) for a in page.select(".files a")] == ["passwd", "现场.png"]


def test_the_same_idempotency_key_and_body_returns_the_first_case(world, app) -> None:  # type: ignore[no-untyped-def]
    files = [("files", ("说明.txt", "路灯杆编号 18-3".encode(), "text/plain"))]
    first = intake_with(world, files, key="desk-1-0001")
    assert first.status_code == 201, first.text
    again = intake_with(world, files, key="desk-1-0001")
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["case_no"] == first.json()["case_no"]
    assert counts(app) == (1, 1)


def test_an_idempotency_key_reused_for_another_request_is_refused(world, app) -> None:  # type: ignore[no-untyped-def]
    headers = world.headers("intake") | {"Idempotency-Key": "desk-1-0002"}
    body = {**CASE, "meeting": world.meeting_id}
    first = world.client.post(f"{API}/cases", json=body, headers=headers)
    assert first.status_code == 201
    other = world.client.post(f"{API}/cases", json={**body, "title": "另一件事：井盖缺失"}, headers=headers)
    assert other.status_code == 422
    data = other.json()
    assert data["error"] == "idempotency_key_reused"
    assert first.json()["case_no"] in data["message"]
    assert data["errors"][0]["message_en"] == "this key was used for another request"
    # Another file with the same fields is another request too.
    with_file = intake_with(world, [("files", ("a.txt", b"x", "text/plain"))], key="desk-1-0002")
    assert with_file.status_code == 422 and with_file.json()["error"] == "idempotency_key_reused"
    # The same body (keys in another order) is the same request.
    same = world.client.post(f"{API}/cases", json=dict(reversed(list(body.items()))), headers=headers)
    assert same.status_code == 200 and same.json()["case_no"] == first.json()["case_no"]
    assert counts(app) == (1, 0)


def test_names_lose_folders_control_characters_and_excess_length() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("..\\..\\boot.ini") == "boot.ini"
    assert safe_filename("报告\x00\r\n\u202egpj.exe") == "报告gpj.exe"  # NUL, CR/LF, right-to-left override
    assert safe_filename("..") == safe_filename("") == safe_filename(None) == "attachment"
    long = safe_filename("长" * 300 + ".pdf")
    assert len(long) == 120 and long.endswith(".pdf")


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def test_a_refusal_names_the_kind_once_not_as_an_extension(world, app) -> None:  # type: ignore[no-untyped-def]
    response = intake_with(world, [("files", ("logo.png", SVG, "image/png"))])
    assert response.status_code == 422, response.text
    data = response.json()
    assert data["error"] == "attachment_type_refused"
    assert (
        "附件「logo.png」的内容是 SVG 图像 (image/svg+xml)，不是可接受的附件类型，不允许上传；可接受：jpg, png"
        in data["message"]
    )
    assert "holds an SVG image (image/svg+xml), which is not accepted; accepted: jpg" in data["message_en"]
    assert ".image/svg+xml" not in data["message"] + data["message_en"]
    html = intake_with(world, [("files", ("a.txt", b"<!doctype html><p>x", "text/plain"))]).json()
    assert "HTML 网页 (text/html)" in html["message"] and "(.text/html)" not in html["message"]
    assert counts(app) == (0, 0)


def test_misleading_and_bare_extension_names_are_stored_truthfully(world, app) -> None:  # type: ignore[no-untyped-def]
    response = intake_with(
        world,
        [
            ("files", ("evil\u202egnp.exe", PNG, "image/png")),
            ("files", (".png", PNG, "image/png")),
            ("files", ("notes.log", b"plain words\n", "text/plain")),
            ("files", ("readme.exe", b"plain words\n", "text/plain")),
        ],
    )
    assert response.status_code == 201, response.text
    stored = [(a["filename"], a["content_type"]) for a in response.json()["attachments"]]
    assert stored == [
        ("evilgnp.exe.png", "image/png"),
        ("attachment.png", "image/png"),
        ("notes.log", "text/plain"),
        ("readme.exe.txt", "text/plain"),
    ]
    no = response.json()["case_no"]
    first = world.get(no, "intake")["attachments"][0]
    download = world.client.get(f"{API}/cases/{no}/attachments/{first['id']}", headers=world.headers("intake"))
    assert download.headers["content-type"] == "image/png"
    assert 'filename="evilgnp.exe.png"' in download.headers["content-disposition"]


def test_a_very_long_file_name_is_kept_to_its_stem_head_and_extension(world, app) -> None:  # type: ignore[no-untyped-def]
    long_name = "现场" * 600 + ".png"  # 3,600 bytes of header: python-multipart reads it
    response = intake_with(world, [("files", (long_name, PNG, "image/png"))])
    assert response.status_code == 201, response.text
    [attachment] = response.json()["attachments"]
    assert attachment["filename"] == "现场" * 58 + ".png" and len(attachment["filename"]) == 120


def test_a_file_name_past_the_multipart_header_limit_is_refused_saying_why(world, app) -> None:  # type: ignore[no-untyped-def]
    response = intake_with(world, [("files", ("a" * 5000 + ".png", PNG, "image/png"))])
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert "文件名过长" in error["message"] and "4224 字节" in error["message"]
    assert "file name that is too long" in error["message_en"] and "4224 bytes" in error["message_en"]
    assert counts(app) == (0, 0)
