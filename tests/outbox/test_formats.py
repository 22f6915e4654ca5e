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
from pathlib import Path
from urllib.parse import parse_qs, quote_plus, urlsplit

from grievance.cases.models import CaseEvent
from grievance.db import transaction
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


def _sweeper_event(world: World, no: str, action: str, **payload: object) -> None:
    """What the supervision sweeper writes (grievance/supervision/sweeper.py): no actor, automatic, the clock."""
    with transaction(world.app.state.sessions) as session:
        session.add(
            CaseEvent(
                case_id=world.get(no, "dispatcher")["id"],
                action=action,
                from_state="accepted",
                to_state="accepted",
                actor_id=None,
                at=world.app.state.runtime.now(),
                payload={"automatic": True, **payload},
            )
        )


def test_the_sweepers_robot_messages_name_the_clock_and_its_own_due_time(world: World, receiver: Receiver):
    receiver.answer(200, ROBOT_OK)
    subscribe(world.app, receiver.url + "?key=k", format="wecom", secret="", events=["auto_urge", "overdue"])
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    _sweeper_event(world, no, "overdue", clock="accept", due_at="2026-12-01T03:23:00+00:00")
    _sweeper_event(world, no, "auto_urge", clock="resolve", due_at="2026-12-01T03:25:00+00:00")
    _sweeper_event(
        world, no, "auto_urge", clock="node:2", due_at="2026-12-03T16:00:00+00:00", node=2, node_name="清运垃圾"
    )
    worker.run_once(world.app.state.sessions, world.app.state.runtime.settings)
    overdue, urge, node = (r.json()["markdown"]["content"] for r in receiver.received)
    assert "【已超期】（系统自动）" in overdue and "- 签收时限：2026年12月1日 11:23" in overdue
    assert "【即将超期（自动催办）】" + no in urge and "- 办结时限：2026年12月1日 11:25" in urge
    assert "- 节点：清运垃圾" in node and "- 节点时限：2026年12月3日 24:00" in node
    for text in (overdue, urge, node):
        assert text.count("自动") == 1 and "办理时限" not in text


def test_robots_send_our_user_agent_and_a_cut_note_ends_with_an_ellipsis(world: World, receiver: Receiver):
    receiver.answer(200, ROBOT_OK)
    subscribe(world.app, receiver.url + "?key=k", format="wecom", secret="", events=["dispatch"])
    subscribe(world.app, receiver.url + "?access_token=t", name="d", format="dingtalk", secret="", events=["dispatch"])
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ", note="路" * 250)
    worker.run_once(world.app.state.sessions, world.app.state.runtime.settings)
    assert len(receiver.received) == 2
    for request in receiver.received:
        assert request.headers["User-Agent"] == "grievance-outbox/1"
        text = json.dumps(request.json(), ensure_ascii=False)
        assert "说明：" + "路" * 199 + "…" in text and "路" * 200 not in text


def _documented_example() -> dict:
    """The `json` format's example body in docs/integrations.md (its first ```json block)."""
    docs = (Path(__file__).parents[2] / "docs" / "integrations.md").read_text(encoding="utf-8")
    block = docs.split("```json\n", 1)[1].split("```", 1)[0]
    return json.loads(block.replace("…", ""))  # type: ignore[no-any-return]


def test_the_documented_json_example_has_the_real_messages_shape(world: World, receiver: Receiver):
    subscribe(world.app, receiver.url, events=["dispatch"])
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ", note="请尽快处理")
    worker.run_once(world.app.state.sessions, world.app.state.runtime.settings)
    (request,) = receiver.received
    real, documented = request.json(), _documented_example()
    assert set(real) == set(documented)
    assert set(real["case"]) == set(documented["case"])
    assert set(real["input"]) == set(documented["input"])
    assert real["input"]["department"] == documented["input"]["department"] == {"code": "CGJ", "name": "城市管理局"}
    assert set(real["case"]["department"]) == set(documented["case"]["department"])
    assert real["actor_role"] == documented["actor_role"] == "dispatcher"
