"""The daily work in a real browser: a dispatcher routes cases, a handler accepts, responds and resolves one,
the supervisor sees an overdue one and approves an extension, and a handler cannot open another department's
case by URL. Screenshots of the pool, the queue, the case page and the board go to screenshots/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.factories import World


def dispatched(world: World, title: str, department: str = "CGJ") -> str:
    no = world.intake(title=title)["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id=department)
    return no


def row(page: Any, case_no: str) -> Any:
    return page.locator(f'tr[data-case="{case_no}"]')


def test_a_dispatcher_routes_them(live, person) -> None:  # type: ignore[no-untyped-def]
    world = live.world
    station = world.intake(channel="station", station="ZS01", meeting=None, title="驿站门口路面积水")["case_no"]
    lamps = [world.intake(title=f"青桐路{n}号路灯不亮")["case_no"] for n in (18, 20)]
    dispatcher = person("dispatcher")
    page = dispatcher.page
    assert page.url == f"{live.base}/pool"  # the dispatcher's day starts at the pool
    assert page.inner_text("h1").startswith("待派单")
    # The station's case comes with its routing suggestion already chosen.
    line = row(page, station)
    assert line.locator("select option:checked").inner_text().startswith("青桐街道")
    dispatcher.screenshot("work-pool")
    line.get_by_role("button", name="派单").click()
    page.wait_for_selector(".flash")
    assert "已完成「派单」" in page.inner_text(".flash")
    assert row(page, station).count() == 0
    # The other two go together to one department.
    for no in lamps:
        row(page, no).locator('input[type="checkbox"]').check()
    page.select_option("#f-bulk-department", label="城市管理局")
    page.fill("#f-bulk-note", "路灯类统一派城管")
    page.get_by_role("button", name="派出所选诉求").click()
    # One caller, one street lamp: the pool asks whether they are duplicates before sending both.
    assert "可能重复" in page.inner_text(".duplicate-check")
    page.get_by_label("不是重复件，全部派出").check()
    page.get_by_role("button", name="派出所选诉求").click()
    page.wait_for_selector(".flash")
    assert page.inner_text(".flash") == "已将 2 件诉求派给城市管理局"
    assert "暂无待派单的诉求" in page.inner_text("main")
    for no in lamps:
        assert world.get(no, "handler")["department"] == "城市管理局"
    # And finds them again in the case list.
    page.get_by_role("link", name="诉求查询").click()
    page.fill("#f-q", "路灯")
    page.keyboard.press("Enter")
    page.wait_for_url("**/cases?q=*")
    assert page.locator("table.cases tbody tr").count() == 3  # all three mention the street lamp
    dispatcher.screenshot("work-cases")


def test_a_handler_accepts_responds_and_resolves_one(live, person) -> None:  # type: ignore[no-untyped-def]
    no = dispatched(live.world, "小区门口路灯不亮")
    later = dispatched(live.world, "人行道树木倒伏")
    handler = person("handler")
    page = handler.page
    assert page.url == f"{live.base}/queue"
    assert row(page, no).locator(".status").inner_text() == "正常"
    handler.screenshot("work-queue")
    row(page, no).get_by_role("button", name="签收").click()
    page.wait_for_selector(".flash")
    assert "已完成「签收」" in page.inner_text(".flash")
    assert row(page, later).get_by_role("button", name="签收").is_visible()  # still to accept
    row(page, no).get_by_role("link", name="办理").click()
    page.wait_for_url(f"{live.base}/cases/{no}")
    # The next step (respond) is open with the cursor in it: type and press Ctrl+Enter.
    page.keyboard.type("已电话联系诉求人，约定明天现场查看")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(".flash")
    assert "已完成「响应（联系诉求人）」" in page.inner_text(".flash")
    assert "办理中" in page.inner_text(".tags")
    # Resolve: a choice from the vocabulary and the reply.
    form = page.locator('form[data-action="resolve"]')
    assert form.is_visible()  # the next step again, open
    form.locator("select[name=outcome]").select_option(label="已解决")
    form.locator("textarea[name=reply]").fill("已更换灯泡，路灯恢复照明")
    handler.screenshot("work-case")
    form.get_by_role("button", name="办结").click()
    page.wait_for_selector(".flash")
    assert "已办结" in page.inner_text(".tags")
    timeline = page.inner_text(".timeline")
    assert timeline.index("办结") < timeline.index("响应（联系诉求人）") < timeline.index("签收")
    assert "已更换灯泡，路灯恢复照明" in timeline
    # On a phone the same page reads top to bottom.
    phone = person("handler", width=390, height=844)
    phone.go(f"/cases/{later}")
    assert phone.page.locator('form[data-action="accept"]').is_visible()
    phone.screenshot("work-case-phone")


def test_the_supervisor_sees_an_overdue_one_and_approves_an_extension(live, person) -> None:  # type: ignore[no-untyped-def]
    world = live.world
    late = dispatched(world, "井盖缺失无人签收")
    slow = dispatched(world, "老旧小区雨水管网改造")
    world.act(slow, "accept", "handler")
    world.act(slow, "respond", "handler", note="已现场查看")
    world.act(slow, "request_extension", "handler", days=5, reason="需协调供电公司迁改线路")
    live.now += timedelta(days=2)  # Wednesday: the accept limit (end of Tuesday) has passed
    supervisor = person("supervisor")
    page = supervisor.page
    assert page.url == f"{live.base}/board"
    overdue = page.locator("section", has=page.locator("#h-overdue"))
    assert row(overdue, late).locator(".status").inner_text().startswith("已超期")  # and by how much
    extensions = page.locator("section", has=page.locator("#h-extensions"))
    request = row(extensions, slow)
    assert "需协调供电公司迁改线路" in request.inner_text()
    supervisor.screenshot("work-board")
    # Enter (or Ctrl+Enter) in the note decides nothing, though approval is the first button: only a click does.
    note = request.locator("input[name=note]")
    note.fill("材料不全，不同意")
    note.press("Enter")
    note.press("Control+Enter")
    page.wait_for_timeout(300)
    assert page.url == f"{live.base}/board" and page.locator(".flash").count() == 0
    assert world.get(slow, "supervisor")["pending_extension_days"] == 5
    request.locator("input[name=note]").fill("同意延期5个工作日")
    request.get_by_role("button", name="批准延期").click()
    page.wait_for_selector(".flash")
    assert "已完成「批准延期」" in page.inner_text(".flash")
    assert "暂无待审批的延期申请" in page.inner_text("main")
    # Urge the late one from the same board.
    row(overdue, late).locator("input[name=note]").fill("请今天内签收")
    row(overdue, late).get_by_role("button", name="催办").click()
    page.wait_for_selector(".flash")
    page.get_by_role("link", name=late).first.click()
    assert "请今天内签收" in page.inner_text(".timeline")
    resolve = next(c for c in world.get(slow, "supervisor")["clocks"] if c["name"] == "resolve")
    assert resolve["extended_days"] == 5


def test_a_handler_cannot_open_another_departments_case_by_url(live, person) -> None:  # type: ignore[no-untyped-def]
    no = dispatched(live.world, "小区门口路灯不亮")
    other = person("other_handler")
    response = other.page.goto(f"{live.base}/cases/{no}")
    assert response.status == 404
    assert other.page.inner_text("h1") == "未找到"
    assert "不存在或不属于您的单位" in other.page.inner_text("main")
    assert "小区门口路灯不亮" not in other.page.content()
    other.page.get_by_role("link", name="返回我的首页").click()
    other.page.wait_for_url(f"{live.base}/queue")
