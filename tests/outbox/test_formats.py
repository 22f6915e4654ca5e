"""The bodies each format sends, checked against the shapes the platforms document: DingTalk's custom robot
markdown message with its signed timestamp (timestamp in ms, sign = urlencode(base64(HMAC-SHA256(secret,
timestamp + "\\n" + secret)))), WeCom's group robot markdown message, and our signed JSON."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from datetime import datetime
from urllib.parse import parse_qs, quote_plus, urlsplit

from grievance.outbox import worker
from grievance.outbox.format_json import sign
from grievance.outbox.format_robots import accepted, due_text
from tests.factories import World
from tests.outbox._support import subscribe
from tests.outbox.conftest import Receiver
from web.i18n import Formatter

ROBOT_OK = b'{"errcode":0,"errmsg":"ok"}'


def _dispatch(world: World) -> tuple[str, dict]:
    no = world.intake(title="小区门口路灯不亮")["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ", note="请尽快处理")
    case = world.get(no, "dispatcher")
    worker.run_once(world.app.state.sessions, world.app.state.runtime.settings)
    return no, case


def test_dingtalk_markdown_signed_as_documented(world: World, receiver: Receiver):
    world.app.state.runtime.settings.public_base_url = "https://12345.example.gov.cn/"
    receiver.answer(200, ROBOT_OK)
    subscribe(world.app, receiver.url + "?access_token=tok123", format="dingtalk", secret="SECabc", events=["dispatch"])
    before_ms = int(time.time() * 1000)
    no, case = _dispatch(world)
    (request,) = receiver.received
    query = parse_qs(urlsplit(request.path).query)
    assert query["access_token"] == ["tok123"]
    timestamp = query["timestamp"][0]
    assert before_ms <= int(timestamp) <= int(time.time() * 1000)  # milliseconds
    expected = base64.b64encode(hmac.new(b"SECabc", f"{timestamp}\nSECabc".encode(), hashlib.sha256).digest())
    assert request.path.endswith(f"&sign={quote_plus(expected.decode())}")  # base64, then URL-encoded
    body = request.json()
    assert set(body) == {"msgtype", "markdown"} and body["msgtype"] == "markdown"
    assert set(body["markdown"]) == {"title", "text"}
    assert no in body["markdown"]["title"] and "派单" in body["markdown"]["title"]
    text = body["markdown"]["text"]
    due = Formatter("zh_CN", "Asia/Shanghai").due(datetime.fromisoformat(case["next_due_at"]), long=True)
    for part in (no, "小区门口路灯不亮", "城市管理局", "派单", f"办理时限：{due}", "请尽快处理"):
        assert part in text
    assert f"(https://12345.example.gov.cn/cases/{no})" in text
    assert "13812341234" not in text and "张三" not in text


def test_wecom_markdown_as_documented_without_a_link_when_no_public_address(world: World, receiver: Receiver):
    receiver.answer(200, ROBOT_OK)
    subscribe(world.app, receiver.url + "?key=k-1", format="wecom", secret="", events=["dispatch"])
    no, _case = _dispatch(world)
    (request,) = receiver.received
    assert parse_qs(urlsplit(request.path).query) == {"key": ["k-1"]}
    body = request.json()
    assert body == {"msgtype": "markdown", "markdown": {"content": body["markdown"]["content"]}}
    content = body["markdown"]["content"]
    assert no in content and "城市管理局" in content and "派单" in content
    assert "http" not in content  # settings.public_base_url unset: no link
    assert len(content.encode("utf-8")) <= 4096


def test_the_robots_success_is_errcode_zero():
    assert accepted(200, ROBOT_OK)
    assert not accepted(200, b'{"errcode":310000,"errmsg":"sign not match"}')
    assert not accepted(200, b"not json")
    assert not accepted(500, ROBOT_OK)


def test_due_times_the_house_way():
    assert due_text("2025-12-01T16:00:00+00:00", "Asia/Shanghai") == "2025年12月1日 24:00"  # local midnight
    assert due_text("2025-12-01T06:30:00+00:00", "Asia/Shanghai") == "2025年12月1日 14:30"
    assert due_text(None, "Asia/Shanghai") == "—"


def test_json_headers_and_signature_scheme(world: World, receiver: Receiver):
    subscribe(world.app, receiver.url, secret="k", events=["intake"])
    world.intake()
    worker.run_once(world.app.state.sessions, world.app.state.runtime.settings)
    (request,) = receiver.received
    headers = request.headers
    body = json.loads(request.body)
    assert headers["X-Grievance-Event"] == "intake" and headers["Content-Type"].startswith("application/json")
    assert headers["X-Grievance-Delivery"] == str(body["delivery_id"])
    assert re.fullmatch(r"\d{10}", headers["X-Grievance-Timestamp"])
    digest = hmac.new(b"k", headers["X-Grievance-Timestamp"].encode() + b"." + request.body, hashlib.sha256)
    assert headers["X-Grievance-Signature"] == f"sha256={digest.hexdigest()}"
    assert sign("k", headers["X-Grievance-Timestamp"], request.body) == headers["X-Grievance-Signature"]
