"""The centre's callback list (待回访), callback clocks in every list, how late a row is ("已超期 3个工作日"), true
counts, and the pool's possible-duplicate flags with select-all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api._support import sh
from tests.factories import World
from tests.web.support import soup, text_of
from tests.web.test_work_lists import bulk_form, caller, row, rows
from web.pages.work import board as work_board
from web.pages.work import callbacks as work_callbacks

MON = sh(2025, 11, 3)  # a quiet working week, and the next one


def resolved(world: World, i: int, reply: str) -> str:
    no = world.intake(title=f"路灯不亮{i}号", petitioner=caller(i))["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已联系")
    world.act(no, "resolve", "handler", outcome="solved", reply=reply)
    return no


def hidden_fields(form: Any) -> dict[str, str]:
    return {i["name"]: i["value"] for i in form.select("input[type=hidden]")}


def test_the_centre_calls_back_from_its_list_and_sees_how_late(world, browser, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    first = resolved(world, 1, "已更换灯泡，恢复照明")  # callback within 2 working days: by Wednesday 24:00
    clock.set(MON + timedelta(days=1))
    second = resolved(world, 2, "已修复线路")  # by Thursday 24:00
    done = resolved(world, 3, "已处理")
    world.act(done, "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    clock.set(MON + timedelta(days=2, hours=2))  # Wednesday noon: the first callback is due soon
    due_soon = browser("supervisor").page("/board").select_one("#h-due-soon").parent
    assert first in rows(due_soon) and "即将到期" in text_of(row(due_soon, first))
    clock.set(MON + timedelta(days=7))  # the next Monday 10:00
    b = browser("dispatcher")
    page = b.page("/callbacks")
    assert rows(page) == [first, second]  # earliest due first; a case called back is done
    assert "共 2 件" in text_of(page.find("h1"))
    line = row(page, first)
    # Thursday, Friday and this Monday morning: 3 working days late (the weekend does not count).
    assert "已超期 3个工作日" in text_of(line) and "回访时限" in text_of(line)
    assert "已超期 2个工作日" in text_of(row(page, second))
    monkeypatch.setattr(work_callbacks, "PAGE_SIZE", 1)
    one = b.page("/callbacks")
    assert rows(one) == [first] and "共 2 件" in text_of(one.find("h1"))
    assert rows(b.page(one.find("a", rel="next")["href"])) == [second]
    assert "城市管理局" in text_of(line) and "已更换灯泡，恢复照明" in text_of(line)
    assert line.select_one("a.tel")["href"] == "tel:13900000001"
    form = line.select_one("form[data-action=callback]")
    assert {i["name"] for i in form.select("input[type=radio]")} == {"reached", "solved"}
    assert form.select_one("select[name=satisfaction]") is not None
    response = b.post(
        form["action"], {**hidden_fields(form), "reached": "true", "solved": "true", "satisfaction": "satisfied"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/callbacks"
    page = b.page("/callbacks")
    assert "已完成「回访」" in text_of(page.find(class_="flash"))
    assert rows(page) == [second] and "共 1 件" in text_of(page.find("h1"))
    assert world.get(first, "dispatcher")["satisfaction"] == "satisfied"
    # The callback clock is the centre's: its lists show it, the department's do not count it as its lateness.
    assert "已超期 2个工作日" in text_of(row(b.page("/cases"), second))
    overdue = browser("supervisor").page("/board").select_one("#h-overdue").parent
    assert "已超期 2个工作日" in text_of(row(overdue, second))
    handler_row = text_of(row(browser("handler").page("/cases"), second))
    assert "超期" not in handler_row and "无时限" in handler_row
    assert browser("handler").get("/callbacks").status_code == 403
    assert "待回访" in text_of(browser("supervisor").page("/board").find("nav"))
    # Only the roles that may read personal data get the number to call.
    monkeypatch.setattr(world.app.state.runtime.settings, "personal_data_roles", ["dispatcher"])
    line = row(browser("supervisor").page("/callbacks"), second)
    assert line.select_one("a.tel") is None and "139****0002" in text_of(line)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # pages only: the SQL is that of the lists above
def test_queues_and_boards_say_how_late_and_how_many(world, browser, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(work_board, "BOARD_SIZE", 1)
    clock.set(MON)
    late = []
    for i in range(2):
        no = world.intake(title=f"井盖缺失{i}号", petitioner=caller(i))["case_no"]
        world.act(no, "dispatch", "dispatcher", department_id="CGJ")  # accept by the end of Tuesday
        late.append(no)
    clock.set(MON + timedelta(days=3))  # Thursday 10:00: Wednesday and this morning
    section = browser("supervisor").page("/board").select_one("#h-overdue").parent
    assert "共 2 件" in text_of(section.find("h2")) and len(rows(section)) == 1
    assert "已超期 2个工作日" in text_of(section.select_one("tbody tr"))
    queue = browser("handler").page("/queue")
    assert "已超期 2个工作日" in text_of(row(queue, late[0]))
    assert "共 2 件" in text_of(queue.find("h1"))
    english = browser("handler")
    english.client.cookies.set("lang", "en")
    assert "Overdue by 2 working days" in text_of(row(english.page("/queue"), late[0]))


def test_the_pool_flags_possible_duplicates_before_they_go_out_together(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    first = world.intake(title="青桐路井盖缺失", petitioner=caller(1))["case_no"]
    similar = world.intake(title="青桐路井盖缺失了", petitioner=caller(2))["case_no"]
    same_phone = world.intake(title="噪音扰民", petitioner=caller(1))["case_no"]
    other = world.intake(title="公交站台破损", petitioner=caller(4))["case_no"]
    b = browser("dispatcher")
    page = b.page("/pool")
    assert "共 4 件" in text_of(page.find("h1"))
    flag = row(page, first).select_one(".duplicate-flag")
    assert text_of(flag).startswith("可能与") and text_of(flag).endswith("重复")
    assert {a.text for a in flag.select("a")} == {similar, same_phone}
    assert row(page, other).select_one(".duplicate-flag") is None
    assert f"{first} 与 {similar} 可能重复" in text_of(page.select_one("#bulk"))
    tick_all = page.select_one("table.pool thead input[type=checkbox][data-tick-all=case_no]")
    assert tick_all["aria-label"] == "勾选本页全部诉求"
    # Ticked together, they are not sent until the dispatcher says they are no duplicates.
    data = {**bulk_form(page), "department_id": "2"}
    data["case_no"] = [first, same_phone, other]
    response = b.post("/pool/dispatch", data)
    assert response.status_code == 422
    answer = soup(response.text)
    assert f"{first} 与 {same_phone} 可能重复" in text_of(answer.select_one(".duplicate-check"))
    assert answer.select_one("input[name=duplicates_checked]") is not None
    assert world.get(first, "dispatcher")["state"] == "received"
    # The case page's dispatch form says it too.
    dispatch = b.page(f"/cases/{first}").select_one('details[data-for="dispatch"]')
    assert {a.text for a in dispatch.select(".duplicate-flag a")} == {similar, same_phone}
    response = b.post("/pool/dispatch", {**data, "duplicates_checked": "1"})
    assert response.status_code == 303
    assert rows(b.page("/pool")) == [similar]


def test_earliest_due_first_counts_the_centres_clocks_for_the_centre_only(world, client, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    called_back = resolved(world, 1, "已处理")  # the centre's callback: by Wednesday 24:00
    fresh = world.intake(title="新登记的件", petitioner=caller(2))["case_no"]  # respond: by Tuesday 24:00
    clock.set(MON + timedelta(days=3))
    sent = world.intake(title="周四派的件", petitioner=caller(3))["case_no"]
    world.act(sent, "dispatch", "dispatcher", department_id="CGJ")  # accept: by Friday 24:00

    def pages(user: str) -> list[str]:
        numbers, cursor = [], ""
        while True:
            url = "/api/v1/cases?sort=due&limit=1" + (f"&cursor={cursor}" if cursor else "")
            body = client.get(url, headers=world.headers(user)).json()
            numbers += [item["case_no"] for item in body["items"]]
            if not (cursor := body["next_cursor"]):
                return numbers

    assert pages("dispatcher") == [fresh, called_back, sent]
    assert pages("handler") == [sent, called_back]  # the callback is no deadline of the department's
