"""What leaves the service in a message (docs/integrations.md, "What leaves and what does not"), with the inputs
of trial 11: a title and notes naming the petitioner and their phone go out masked; a petitioner's rating comment
never goes out; a report (举报) against CGJ dispatched to another department reaches no subscription of CGJ, no
all-department robot, and elsewhere only as 【保密件】 with its number."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlmodel import select

from grievance.cases.models import Case
from grievance.cases.ratings import record_external_callback
from grievance.db import transaction
from grievance.outbox import worker
from grievance.outbox.privacy import mask_text
from tests.api._support import API
from tests.factories import World
from tests.outbox._support import messages, subscribe
from tests.outbox.conftest import Receiver

ROBOT_OK = b'{"errcode":0,"errmsg":"ok"}'
PHONE = "13900001111"


def _bodies(receiver: Receiver, name: str) -> list[dict]:
    return [r.json() for r in receiver.received if urlpath(r.path) == f"/hook/{name}"]


def urlpath(path: str) -> str:
    return path.split("?", 1)[0]


def _subscribe_all_formats(world: World, receiver: Receiver, **kwargs: object) -> None:
    receiver.answer(200, ROBOT_OK)
    subscribe(world.app, receiver.url + "/json", name="json", **kwargs)
    subscribe(world.app, receiver.url + "/ding?access_token=t", name="ding", format="dingtalk", secret="SECx", **kwargs)
    subscribe(world.app, receiver.url + "/wecom?key=k", name="wecom", format="wecom", secret="", **kwargs)


def _run(world: World) -> None:
    worker.run_once(world.app.state.sessions, world.app.state.runtime.settings)


def test_the_petitioners_phone_and_name_are_masked_in_titles_and_notes(world: World, receiver: Receiver):
    _subscribe_all_formats(world, receiver)
    no = world.intake(
        title=f"李四{PHONE}反映噪音", petitioner={"name": "李四", "phone": PHONE, "id_no": "11010519491231002X"}
    )["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ", note=f"请联系李四 {PHONE}")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note=f"已电话联系 {PHONE} 李四，身份证11010519491231002X，座机0710-1234567")
    _run(world)
    assert len(receiver.received) == 3 * 4
    sent = "\n".join(r.body.decode("utf-8") for r in receiver.received)
    for secret in (PHONE, "李四", "11010519491231002X", "0710-1234567"):
        assert secret not in sent
    (dispatch,) = [b for b in _bodies(receiver, "json") if b["event"] == "dispatch"]
    assert dispatch["case"]["title"] == "李*139****1111反映噪音"
    assert dispatch["input"]["note"] == "请联系李* 139****1111"
    text = next(b["markdown"]["text"] for b in _bodies(receiver, "ding") if "派单" in b["markdown"]["title"])
    assert "标题：李\\*139\\*\\*\\*\\*1111反映噪音" in text and "说明：请联系李\\* 139\\*\\*\\*\\*1111" in text
    respond = next(b for b in _bodies(receiver, "json") if b["event"] == "respond")
    assert respond["input"]["note"] == "已电话联系 139****1111 李*，身份证110***********002X，座机071****4567"
    # and nothing personal is stored in the outbox for later either
    assert PHONE not in json.dumps([m.body for m in messages(world.app)], ensure_ascii=False)


def test_masking_leaves_case_numbers_and_times_alone():
    text = "见 GX-2026-000123，2026-12-02T12:00:00+00:00 前办结；联系 +86 138-1234-5678 或 (027)87654321"
    assert mask_text(text) == "见 GX-2026-000123，2026-12-02T12:00:00+00:00 前办结；联系 138****5678 或 027****4321"
    assert mask_text("王大妈说", names=["王大妈", "王"]) == "王**说"  # one-character names are not searched


def test_a_rating_comment_never_leaves_and_the_rating_says_petitioner(world: World, receiver: Receiver):
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已联系")
    world.act(no, "resolve", "handler", reply="已修复路灯", outcome="solved")
    _subscribe_all_formats(world, receiver, events=["callback"])
    comment = "灯还是不亮！我电话13912345678，联系王大妈"
    code = world.get(no, "intake")["query_code"]
    with TestClient(world.app, client=("203.0.113.7", 50000)) as client:
        rated = client.post(
            f"{API}/public/rating",
            json={"query_code": code, "solved": False, "satisfaction": "unsatisfied", "comment": comment},
        )
    assert rated.status_code == 201, rated.text
    _run(world)
    assert len(receiver.received) == 3
    sent = "\n".join(r.body.decode("utf-8") for r in receiver.received)
    for secret in ("灯还是不亮", "13912345678", "王大妈"):
        assert secret not in sent
    (body,) = _bodies(receiver, "json")
    assert body["actor_role"] == "petitioner"
    assert body["input"]["self_reported"] is True and body["input"]["source"] == "petitioner"
    assert body["input"]["has_comment"] is True and "note" not in body["input"]
    assert body["input"]["satisfaction"] == "unsatisfied"


def test_the_12345_platforms_callback_result_says_its_source(world: World, receiver: Receiver):
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已联系")
    world.act(no, "resolve", "handler", reply="已修复路灯", outcome="solved")
    _subscribe_all_formats(world, receiver, events=["callback"])
    with transaction(world.app.state.sessions) as session:
        case = session.exec(select(Case).where(Case.case_no == no)).one()
        record_external_callback(
            session, world.app.state.runtime, case=case, source="12345", solved=True, satisfaction="satisfied",
            comment="市民来电 13912345678 表示满意",
        )  # fmt: skip
    _run(world)
    (body,) = _bodies(receiver, "json")
    assert body["actor_role"] == "hotline12345" and body["input"]["source"] == "12345"
    assert "13912345678" not in json.dumps(body, ensure_ascii=False)


def test_a_report_never_reaches_the_accused_department_and_robots_get_no_title(world: World, receiver: Receiver):
    receiver.answer(200, ROBOT_OK)
    app = world.app
    subscribe(app, receiver.url + "/cgj-json", name="cgj-json", departments=["CGJ"])
    subscribe(app, receiver.url + "/cgj-ding", name="cgj-ding", format="dingtalk", secret="", departments=["CGJ"])
    subscribe(app, receiver.url + "/both", name="both", departments=["CGJ", "JD1"])
    subscribe(app, receiver.url + "/all-wecom?key=k", name="all-wecom", format="wecom", secret="")
    subscribe(app, receiver.url + "/all-json", name="all-json")
    subscribe(app, receiver.url + "/jd1-ding", name="jd1-ding", format="dingtalk", secret="", departments=["JD1"])
    title = "举报城管局某队员收受好处"
    no = world.intake(
        channel="hotline",
        meeting=None,
        case_type="report",
        title=title,
        accused_department="CGJ",
        petitioner={"name": "王五", "phone": "13700001111"},
    )["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="JD1", note="请核查城管局队员")
    world.act(no, "accept", "other_handler")
    _run(world)
    for name in ("cgj-json", "cgj-ding", "both", "all-wecom"):
        assert _bodies(receiver, name) == [], name
    everything = "\n".join(r.body.decode("utf-8") for r in receiver.received)
    assert title not in everything and "请核查" not in everything and "13700001111" not in everything
    all_json = _bodies(receiver, "all-json")
    assert [b["event"] for b in all_json] == ["intake", "dispatch", "accept"]
    for body in all_json:
        assert body["case"]["confidential"] is True and body["case"]["title"] == "【保密件】"
    dispatch = all_json[1]
    assert dispatch["input"] == {"department": {"code": "JD1", "name": "青桐街道"}}
    robot = _bodies(receiver, "jd1-ding")  # dispatched to JD1: its own group learns of it, without the title
    assert len(robot) == 2
    for body in robot:
        assert no in body["markdown"]["text"] and "标题：【保密件】" in body["markdown"]["text"]
        assert "说明" not in body["markdown"]["text"]


def test_a_callback_note_is_left_out_whatever_the_action_is_called():
    from grievance.outbox.privacy import public_input

    centre = public_input("callback", {"reached": True, "satisfaction": "satisfied", "note": "他说电话13912345678"})
    renamed = public_input("phone_back", {"reached": False, "note": "电话无人接听"})
    assert centre == {"reached": True, "satisfaction": "satisfied", "has_comment": True}
    assert renamed == {"reached": False, "has_comment": True}
    assert public_input("respond", {"note": "已处理"}) == {"note": "已处理"}
