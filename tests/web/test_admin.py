"""The administration pages as an administrator sees them: accounts, departments, stations, enterprises and
liaisons, categories, the calendar (whose changes move running due times), each workflow's diagram, and the
ledger import with its dry run; and the 403 page for everyone else."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from grievance.config import PROJECT_ROOT
from grievance.workflow.definition import WorkflowDef
from grievance.workflow.diagram import columns_of, workflow_svg
from grievance.workflow.loader import load_file
from tests.api._support import clock_of, ts
from tests.ledger._support import counts, csv_bytes
from tests.web.support import Browser, soup, text_of
from tests.web.test_auth import give_password, sign_in

ADMIN_PAGES = [
    "/admin",
    "/admin/users",
    "/admin/departments",
    "/admin/stations",
    "/admin/enterprises",
    "/admin/categories",
    "/admin/calendar",
    "/admin/workflows",
    "/admin/workflows/standard",
]
STRONG = "a-long-enough-pass"


def flash_of(b: Browser, response: Any) -> str:
    """Follow a 303 after a form and return the page's one-shot message."""
    assert response.status_code == 303, response.text[:800]
    page = b.page(response.headers["location"])
    return text_of(page.find(class_="flash"))


def error_at(page: Any, name: str) -> str:
    return text_of(page.find(id=f"e-{name}"))


def value_of(page: Any, name: str) -> str:
    node = page.find(id=f"f-{name}")  # the form's field, not a filter of the same name
    if node.name == "select":
        chosen = node.find("option", selected=True)
        return chosen["value"] if chosen else ""
    return node.get("value", "")


def row_with(page: Any, text: str) -> Any:
    return next((tr for tr in page.find_all("tr") if text in text_of(tr)), None)


def account_row(page: Any, username: str) -> Any:
    return next(tr for tr in page.find("tbody").find_all("tr") if text_of(tr.find("td")) == username)


def user_id_of(b: Browser, username: str) -> int:
    return int(account_row(b.page("/admin/users"), username).find("a")["href"].rsplit("/", 1)[1])


# --- who may open them -----------------------------------------------------------------------------------


def test_only_the_administrator_opens_the_administration_pages(browser, world) -> None:  # type: ignore[no-untyped-def]
    admin, handler, leader = browser("admin"), browser("handler"), browser("leader")
    for url in ADMIN_PAGES:
        assert admin.get(url).status_code == 200, url
        for other in (handler, leader):
            response = other.get(url)
            assert response.status_code == 403, url
            page = soup(response.text)
            assert text_of(page.find("h1")) == "无权访问此页面"
            assert "管理员" in text_of(page.find(class_="error-page"))
    response = handler.post("/admin/users", {"username": "x", "role": "admin", "password": STRONG})
    assert response.status_code == 403
    assert "x" not in text_of(admin.page("/admin/users").find("table"))


def test_the_ledger_import_is_open_to_the_roles_the_api_lets_import(browser, world) -> None:  # type: ignore[no-untyped-def]
    for username, status in (
        ("admin", 200),
        ("supervisor", 200),
        ("dispatcher", 200),
        ("handler", 403),
        ("leader", 403),
    ):
        assert browser(username).get("/admin/import").status_code == status, username
    page = browser("supervisor").page("/admin/import")
    assert page.find("nav", class_="subnav") is None  # the other administration pages are not theirs


def test_a_form_without_its_csrf_token_is_refused(browser, world) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    response = b.client.post("/admin/departments", data={"code": "X1", "name": "某单位"})
    assert response.status_code == 403
    assert "X1" not in text_of(b.page("/admin/departments").find("table"))


def test_the_overview_counts_and_links_every_page(browser, world) -> None:  # type: ignore[no-untyped-def]
    page = browser("admin").page("/admin")
    tiles = {text_of(a.find("h2")): (a["href"], text_of(a.find(class_="tile-count"))) for a in page.select("a.tile")}
    assert tiles["用户"] == ("/admin/users", "9")
    assert tiles["承办单位"] == ("/admin/departments", "4")
    assert tiles["城市驿站"][1] == "1"
    assert tiles["企业"][1] == "1"
    assert tiles["流程"] == ("/admin/workflows", "3")
    assert tiles["台账导入"][0] == "/admin/import"
    assert "规上企业 1 家，1 家有包保干部" in text_of(page)


# --- users -----------------------------------------------------------------------------------------------


def test_a_created_account_appears_in_the_list_and_signs_in(app, browser, world) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    form = b.page("/admin/users")
    assert form.find("input", {"name": "username"}).has_attr("autofocus")
    response = b.post(
        "/admin/users",
        {"username": "wang", "display_name": "王芳", "role": "handler", "department": "CGJ", "password": STRONG},
    )
    assert "账号 wang 已创建" in flash_of(b, response)
    row = account_row(b.page("/admin/users"), "wang")
    assert [text_of(td) for td in row.find_all("td")] == ["wang", "王芳", "承办人", "城市管理局", "在用"]
    person = Browser(app)
    assert sign_in(person, "wang", STRONG).headers["location"] == "/"


def test_a_weak_password_is_refused_next_to_the_field_and_the_rest_is_kept(browser, world) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    response = b.post(
        "/admin/users",
        {"username": "li", "display_name": "李强", "role": "dept_head", "department": "JD1", "password": "short"},
    )
    assert response.status_code == 422
    page = soup(response.text)
    assert "密码至少10个字符" in error_at(page, "password")
    assert page.find(id="f-password")["aria-invalid"] == "true"
    assert value_of(page, "username") == "li"
    assert value_of(page, "display_name") == "李强"
    assert value_of(page, "role") == "dept_head"
    assert value_of(page, "department") == "JD1"
    assert value_of(page, "password") == ""  # a password is never sent back
    assert row_with(page.find("table"), "李强") is None


def test_account_mistakes_are_shown_at_their_fields(browser, world) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    taken = soup(
        b.post("/admin/users", {"username": "handler", "role": "handler", "department": "CGJ", "password": STRONG}).text
    )
    assert "用户名 handler 已存在" in error_at(taken, "username")
    no_dept = soup(b.post("/admin/users", {"username": "zhao", "role": "handler", "password": STRONG}).text)
    assert "承办人和单位负责人必须属于一个单位" in error_at(no_dept, "department")
    no_password = soup(b.post("/admin/users", {"username": "zhao", "role": "leader"}).text)
    assert "请设置初始密码" in error_at(no_password, "password")


def test_deactivation_signs_the_person_out_revokes_tokens_and_reactivation_lets_them_in(app, browser, world) -> None:  # type: ignore[no-untyped-def]
    admin, handler = browser("admin"), browser("handler")
    assert handler.get("/account/password").status_code == 200
    assert world.client.get("/api/v1/me", headers=world.headers("handler")).status_code == 200
    user_id = user_id_of(admin, "handler")

    response = admin.post(f"/admin/users/{user_id}/deactivate")
    assert "handler 已停用：1 个浏览器登录已退出，1 个 API 令牌已吊销" in flash_of(admin, response)
    after = handler.get("/account/password")
    assert after.status_code == 303 and after.headers["location"].startswith("/login")
    assert world.client.get("/api/v1/me", headers=world.headers("handler")).status_code == 401
    assert text_of(account_row(admin.page("/admin/users"), "handler").find_all("td")[-1]) == "已停用"
    give_password(app, "handler", STRONG)
    assert sign_in(Browser(app), "handler", STRONG).status_code == 401

    assert "handler 已恢复" in flash_of(admin, admin.post(f"/admin/users/{user_id}/reactivate"))
    assert sign_in(Browser(app), "handler", STRONG).status_code == 303
    assert world.client.get("/api/v1/me", headers=world.headers("handler")).status_code == 401  # revoked stays


def test_an_administrator_cannot_deactivate_themselves(browser, world) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    user_id = user_id_of(b, "admin")
    response = b.post(f"/admin/users/{user_id}/deactivate")
    assert response.status_code == 409
    assert "不能停用自己的账号" in text_of(soup(response.text).find(class_="form-error"))
    assert b.get("/admin").status_code == 200


def test_a_password_reset_signs_the_person_out_and_the_new_password_works(app, browser, world) -> None:  # type: ignore[no-untyped-def]
    admin, handler = browser("admin"), browser("handler")
    user_id = user_id_of(admin, "handler")
    differ = soup(admin.post(f"/admin/users/{user_id}/password", {"password": STRONG, "confirm": "other"}).text)
    assert "两次输入的密码不一致" in error_at(differ, "confirm")
    weak = soup(admin.post(f"/admin/users/{user_id}/password", {"password": "short", "confirm": "short"}).text)
    assert "密码至少10个字符" in error_at(weak, "password")
    response = admin.post(f"/admin/users/{user_id}/password", {"password": STRONG, "confirm": STRONG})
    assert "已为 handler 设置新密码，1 个浏览器登录已退出" in flash_of(admin, response)
    assert handler.get("/account/password").status_code == 303
    assert sign_in(Browser(app), "handler", STRONG).status_code == 303


def test_an_api_token_is_shown_once_and_works(browser, world) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    user_id = user_id_of(b, "leader")
    response = b.post(f"/admin/users/{user_id}/tokens", {"name": "大屏"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    token = text_of(soup(response.text).find(id="token"))
    assert token.startswith("gv_")
    me = world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "leader"
    detail = b.page(f"/admin/users/{user_id}")
    assert token not in detail.text
    assert "有效的 API 令牌 2" in text_of(detail.find("dl"))


# --- departments, stations, enterprises ------------------------------------------------------------------


def test_departments_form_a_tree_and_a_taken_code_is_refused_at_its_field(browser, world) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    response = b.post("/admin/departments", {"code": "CGJ-1", "name": "市政科", "parent": "CGJ"})
    assert "单位「市政科」已创建" in flash_of(b, response)
    names = [text_of(tr.find("td")) for tr in b.page("/admin/departments").find("tbody").find_all("tr")]
    assert names.index("└ 市政科") == names.index("城市管理局") + 1
    taken = b.post("/admin/departments", {"code": "CGJ", "name": "重复的单位"})
    assert taken.status_code == 422
    page = soup(taken.text)
    assert "单位编码 CGJ 已存在" in error_at(page, "code")
    assert value_of(page, "name") == "重复的单位"
    empty = soup(b.post("/admin/departments", {"code": "NEW", "name": ""}).text)
    assert "不能为空" in error_at(empty, "name")
    assert value_of(empty, "code") == "NEW"


def test_a_station_is_created_with_its_department(browser, world) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    assert b.page("/admin/stations").find("input", {"name": "code"}).has_attr("autofocus")
    response = b.post(
        "/admin/stations",
        {"code": "ZS02", "name": "白沙驿站", "address": "白沙路1号", "community": "白沙社区", "department": "JD1"},
    )
    assert "驿站「白沙驿站」已创建" in flash_of(b, response)
    row = row_with(b.page("/admin/stations"), "ZS02")
    assert [text_of(td) for td in row.find_all("td")] == ["ZS02", "白沙驿站", "白沙路1号", "白沙社区", "青桐街道"]
    missing = soup(b.post("/admin/stations", {"code": "ZS03", "name": "", "address": "某路"}).text)
    assert error_at(missing, "name") and value_of(missing, "address") == "某路"


def test_enterprises_show_their_liaison_and_a_change_keeps_the_history(browser, world, clock) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    listing = b.page("/admin/enterprises")
    row = row_with(listing, "云帆光电")
    assert [text_of(td) for td in row.find_all("td")][2:] == ["规上", "liaison"]
    assert "规上企业 1 家，其中 1 家有包保干部" in text_of(listing)

    bad = b.post(
        "/admin/enterprises", {"name": "新星材料", "credit_code": "123", "is_large": "1", "liaison": "handler"}
    )
    assert bad.status_code == 422
    page = soup(bad.text)
    assert "统一社会信用代码应为18位" in error_at(page, "credit_code")
    assert value_of(page, "name") == "新星材料" and value_of(page, "liaison") == "handler"
    assert page.find("input", {"name": "is_large"}).has_attr("checked")

    created = b.post("/admin/enterprises", {"name": "新星材料", "credit_code": "91420100MA4K00002Y", "is_large": "1"})
    assert "企业「新星材料」已添加" in flash_of(b, created)
    assert "1 家没有包保干部" in text_of(b.page("/admin/enterprises"))

    url = f"/admin/enterprises/{world.enterprise_id}"
    clock.set(datetime(2025, 10, 9, 2, 0, tzinfo=UTC))
    assert "包保干部已更换" in flash_of(b, b.post(f"{url}/liaison", {"liaison": "other_handler"}))
    history = b.page(url).find("tbody").find_all("tr")
    assert [text_of(tr.find("td")) for tr in history] == ["other_handler (other_handler)", "liaison (liaison)"]
    assert text_of(history[0].find_all("td")[2]) == "现任"
    assert text_of(history[1].find_all("td")[2]) == "2025年10月9日 10:00"
    unknown = b.post(f"{url}/liaison", {"liaison": "nobody"})
    assert unknown.status_code == 422 and "nobody" in error_at(soup(unknown.text), "liaison")


# --- categories ------------------------------------------------------------------------------------------


def test_categories_reload_from_the_file_or_say_why_not(app, browser, world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    assert "暂无业务分类" in text_of(b.page("/admin/categories"))
    # A file that breaks the tree's rules half-way: refused, nothing changes.
    broken = tmp_path / "broken.yaml"
    broken.write_text('- {code: "09", name: 其他}\n- {name: 无编码}\n', encoding="utf-8")
    app.state.runtime.settings.categories_file = broken
    refused = b.post("/admin/categories/reload")
    assert refused.status_code == 422
    assert "categories[1] 需要 code 和 name" in text_of(soup(refused.text).find(class_="form-error"))
    assert "暂无业务分类" in text_of(soup(refused.text))

    tree = tmp_path / "categories.yaml"
    tree.write_text(
        '- code: "01"\n  name: 城市管理\n  department: CGJ\n  children:\n'
        '    - code: "0101"\n      name: 市政设施\n      children:\n        - {code: "010101", name: 路灯照明}\n',
        encoding="utf-8",
    )
    app.state.runtime.settings.categories_file = tree
    assert "新增 3 个，更新 0 个" in flash_of(b, b.post("/admin/categories/reload"))
    rows = [
        [text_of(td) for td in tr.find_all("td")] for tr in b.page("/admin/categories").find("tbody").find_all("tr")
    ]
    assert rows == [
        ["城市管理", "01", "城市管理局", "分组"],
        ["└ 市政设施", "0101", "城市管理局 · 沿用上级", "分组"],
        ["└ 路灯照明", "010101", "城市管理局 · 沿用上级", "开放"],  # an Open311 service
    ]

    # The deployment's own file names departments this small world lacks: the tree loads, and the message
    # says which categories wait for their department.
    app.state.runtime.settings.categories_file = PROJECT_ROOT / "config" / "categories.yaml"
    flash = flash_of(b, b.post("/admin/categories/reload"))
    assert "更新 3 个" in flash
    assert (
        "3 个分类指定的承办单位尚不存在，暂无派单建议：社会事务 (SSJ)、矛盾纠纷 (ZFB)、征迁安置 (ZQB)。"
        "请先添加这些单位，再重新载入。"
    ) in flash
    assert text_of(row_with(b.page("/admin/categories"), "社会事务").find_all("td")[2]) == "—"


# --- calendar --------------------------------------------------------------------------------------------


def test_a_day_off_added_to_the_calendar_moves_a_running_due_time(browser, world, clock) -> None:  # type: ignore[no-untyped-def]
    case = world.intake()  # Monday 2025-09-29 10:00: resolve within 15 working days
    before = ts(clock_of(world.get(case["case_no"], "supervisor"), "resolve")["due_at"])
    b = browser("admin")
    response = b.post("/admin/calendar", {"day": "2025-09-30", "kind": "holiday", "note": "本地放假"})
    assert "2025-09-30 已调整为休息日，1 件在办诉求的时限已随之调整" in flash_of(b, response)
    moved = ts(clock_of(world.get(case["case_no"], "supervisor"), "resolve")["due_at"])
    assert moved is not None and before is not None and moved > before

    page = b.page("/admin/calendar?year=2025")
    row = row_with(page.find("tbody"), "本地放假")
    assert [text_of(td) for td in row.find_all("td")][:4] == ["2025年9月30日 星期二", "休息日", "工作日", "本地放假"]
    response = b.post("/admin/calendar/remove", {"day": "2025-09-30"})
    assert "已删除 2025-09-30 的调整，1 件在办诉求" in flash_of(b, response)
    assert ts(clock_of(world.get(case["case_no"], "supervisor"), "resolve")["due_at"]) == before
    assert "2025年暂无本地调整" in text_of(b.page("/admin/calendar?year=2025"))


def test_a_wrong_calendar_form_keeps_what_was_typed(browser, world) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    response = b.post("/admin/calendar", {"day": "", "kind": "workday", "note": "补班"})
    assert response.status_code == 422
    page = soup(response.text)
    assert "应为日期" in error_at(page, "day")
    assert value_of(page, "kind") == "workday" and value_of(page, "note") == "补班"


def test_the_calendar_answers_whether_a_day_is_worked_and_when_a_limit_ends(browser, world) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    holiday = b.page("/admin/calendar?check_day=2025-10-01")
    assert "2025年10月1日 星期三：休息日 — 法定节假日：国庆节" in text_of(holiday.find(id="check"))
    makeup = b.page("/admin/calendar?check_day=2025-10-11")
    assert "工作日 — 国庆节调休上班" in text_of(makeup.find(id="check"))
    due = b.page("/admin/calendar?start=2025-09-30T10:00&amount=1&unit=working_days")
    answer = text_of(due.find(id="due").find(class_="answer"))
    assert "到期时间：2025年10月9日 24:00" in answer and "2025年10月9日 星期四 当天结束前" in answer
    wrong = b.get("/admin/calendar?start=2025-09-30T10:00&amount=abc&unit=working_days")
    assert wrong.status_code == 422
    assert "应为数字" in error_at(soup(wrong.text), "amount")
    assert value_of(soup(wrong.text), "start") == "2025-09-30T10:00"


def upload_calendar(b: Browser, text: str, dry_run: bool = True) -> Any:
    fields = {"dry_run": "1"} if dry_run else {}
    return b.post("/admin/calendar/import", fields, files={"file": ("2025.csv", text.encode(), "text/csv")})


def test_a_calendar_file_is_checked_then_applied_and_moves_a_running_due_time(browser, world, clock) -> None:  # type: ignore[no-untyped-def]
    case = world.intake()  # Monday 2025-09-29 10:00: resolve within 15 working days
    before = ts(clock_of(world.get(case["case_no"], "supervisor"), "resolve")["due_at"])
    b = browser("admin")
    file = "日期,类型,说明\n2025-09-30,放假,本地放假\n2025-10-01,holiday,国庆节\n"
    page = soup(upload_calendar(b, file).text)
    result = page.find(id="calendar-file-result")
    assert text_of(result.find("h3")) == "检查通过：尚未写入任何数据"
    rows = [[text_of(td) for td in tr.find_all("td")] for tr in result.find("tbody").find_all("tr")]
    assert rows == [["2", "2025年9月30日 星期二", "工作日", "休息日", "本地放假"]]
    assert "1 天已与文件一致，保持不变：2025-10-01" in text_of(result)
    assert "将有 1 件在办诉求的时限随之调整" in text_of(result)
    assert ts(clock_of(world.get(case["case_no"], "supervisor"), "resolve")["due_at"]) == before  # nothing written

    confirm = result.find("form")
    assert text_of(confirm.find("button")) == "立即调整这 1 天"
    applied = b.post("/admin/calendar/import", {"text": confirm.find("input", {"name": "text"})["value"]})
    assert flash_of(b, applied) == "日历文件已载入：调整 1 天，1 天已一致未改动；1 件在办诉求的时限已随之调整"
    assert ts(clock_of(world.get(case["case_no"], "supervisor"), "resolve")["due_at"]) > before
    assert row_with(b.page("/admin/calendar?year=2025").find("tbody"), "本地放假") is not None

    again = upload_calendar(b, file, dry_run=False)  # loaded twice: said, not refused, in Chinese only
    assert again.status_code == 200
    notice = text_of(soup(again.text).find(id="calendar-file-notice"))
    assert notice == "文件所列的 2 天都已是文件所写的安排，没有需要导入的调整。"
    assert "day(s)" not in again.text and soup(again.text).find(id="e-file") is None
    b.client.cookies.set("lang", "en")
    notice = text_of(soup(upload_calendar(b, file).text).find(id="calendar-file-notice"))
    assert notice == "All 2 days in the file are already as it says: nothing needed importing."


def test_a_calendar_day_outside_2000_to_2099_is_refused_and_the_page_keeps_its_year(browser, world) -> None:  # type: ignore[no-untyped-def]
    """A date field typed 2025/9/28 once stored 5928-09-28 and the page then showed another year."""
    b = browser("admin")
    response = b.post("/admin/calendar?year=2025", {"day": "5928-09-28", "kind": "holiday", "note": ""})
    assert response.status_code == 422
    page = soup(response.text)
    assert error_at(page, "day") == "日期 5928-09-28 超出范围，可调整 2000-01-01 至 2099-12-31 之间的日期"
    assert value_of(page, "day") == "5928-09-28" and "2025年暂无本地调整" in text_of(page)
    filed = soup(upload_calendar(b, "1999-12-31,holiday\n", dry_run=False).text)
    assert text_of(filed.find(id="calendar-file-problems")) == (
        "第1行：日期 1999-12-31 超出范围，可调整 2000-01-01 至 2099-12-31 之间的日期"
    )
    api = world.client.put(
        "/api/v1/calendar/overrides", json={"day": "2100-01-04", "kind": "holiday"}, headers=world.headers("admin")
    )
    assert api.status_code == 422 and "2000-01-01 至 2099-12-31" in api.text
    far = b.get("/admin/calendar?year=5928")
    assert far.status_code == 422
    assert (
        text_of(soup(far.text).find(id="year-error")) == "没有 5928 年的日历：可查看 2000 至 2099 年，现显示 2025 年。"
    )
    saved = b.post("/admin/calendar?year=2025", {"day": "2027/10/8", "kind": "holiday", "note": "国庆节"})
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/calendar?year=2027"


def test_a_wrong_calendar_file_names_each_line_in_the_readers_language_and_changes_nothing(browser, world) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    file = "2025-09-30,holiday\n2025-09-31,holiday\n2025-10-09,maybe\n2025-09-30,workday\n"
    response = upload_calendar(b, file, dry_run=False)
    assert response.status_code == 422
    page = soup(response.text)
    assert error_at(page, "file") == "日历文件有误，未导入任何一天"
    assert [text_of(li) for li in page.find(id="calendar-file-problems").find_all("li")] == [
        "第2行：应为日期，如 2027-10-01，收到 '2025-09-31'",
        "第3行：应为 workday（上班/补班）或 holiday（休息/放假），收到 'maybe'",
        "第4行：2025-09-30 已在第1行列出，每天只能列一次",
    ]
    assert "2025年暂无本地调整" in text_of(b.page("/admin/calendar?year=2025"))
    b.client.cookies.set("lang", "en")
    english = soup(upload_calendar(b, "2025-09-31,holiday\n").text)
    assert error_at(english, "file") == "The calendar file has errors; nothing was imported"
    assert text_of(english.find(id="calendar-file-problems")) == (
        "line 1: the day must be a date like 2027-10-01, got '2025-09-31'"
    )
    nothing = b.post("/admin/calendar/import", {"dry_run": "1"})
    assert (
        nothing.status_code == 422 and error_at(soup(nothing.text), "file") == "choose a calendar file (.csv or .txt)"
    )


def test_an_adjustment_that_changes_nothing_is_refused_on_the_page_and_in_the_api(browser, world) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    response = b.post("/admin/calendar", {"day": "2025-10-01", "kind": "holiday", "note": ""})
    assert response.status_code == 409
    page = soup(response.text)
    assert error_at(page, "kind") == "2025-10-01 已是休息日（法定节假日：国庆节），无需调整"
    assert value_of(page, "day") == "2025-10-01"
    weekend = b.post("/admin/calendar", {"day": "2025-10-11", "kind": "workday"})  # a make-up Saturday
    assert error_at(soup(weekend.text), "kind") == "2025-10-11 已是工作日（国庆节调休上班），无需调整"
    api = world.client.put(
        "/api/v1/calendar/overrides", json={"day": "2025-10-04", "kind": "holiday"}, headers=world.headers("admin")
    )
    assert api.status_code == 409 and api.json()["error"] == "nothing_to_change"
    assert (
        "2025-10-04 is already a day off: statutory holiday, National Day; nothing to change"
        in api.json()["message_en"]
    )
    assert "2025年暂无本地调整" in text_of(b.page("/admin/calendar?year=2025"))


# --- workflows -------------------------------------------------------------------------------------------


def test_each_workflow_is_listed_and_drawn_with_every_state(browser, world) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    listing = b.page("/admin/workflows")
    links = [a["href"] for a in listing.find("tbody").find_all("a")]
    assert links == ["/admin/workflows/petition", "/admin/workflows/enterprise", "/admin/workflows/standard"]

    standard = load_file(PROJECT_ROOT / "workflows" / "standard.yaml")
    page = b.page("/admin/workflows/standard")
    svg = page.find("svg")
    assert svg is not None and svg.find("title").get_text() == "标准流程"
    drawn = {text_of(g.find("text")) for g in svg.select("g.state")}
    assert drawn == {state.label for state in standard.states.values()}
    finals = {g["data-state"] for g in svg.select("g.state.final")}
    assert finals == {"closed", "merged"}
    arrows = " ".join(text_of(t) for t in svg.select("g.action-label text"))
    for action in standard.actions.values():
        if action.to is not None:
            assert action.label in arrows
    actions = text_of(page.find("h2", string="操作").find_next("table"))
    assert "派单 dispatch" in actions and "派单员、督办员" in actions
    limits = text_of(page.find("h2", string="时限").find_next("table"))
    assert "特急 0.5小时" in limits and "其他 15个工作日" in limits
    assert b.get("/admin/workflows/nothing").status_code == 404


def test_the_diagram_puts_states_in_columns_by_distance_and_escapes_every_text() -> None:
    wf = WorkflowDef.model_validate(
        {
            "name": "x<y",
            "label": "<b>流程</b>",
            "applies_to": {},
            "initial_state": "a",
            "states": {"a": {"label": "A&B"}, "b": {"label": "<script>"}, "c": {"label": "C", "final": True}},
            "actions": {
                "go": {"label": '去"b"', "from": ["a"], "to": "b", "roles": ["handler"]},
                "end": {"label": "结束", "from": ["b"], "to": "c", "roles": ["handler"]},
                "back": {"label": "退回", "from": ["b"], "to": "a", "roles": ["handler"]},
                "note": {"label": "记录", "from": ["a", "b"], "roles": ["handler"]},
            },
        }
    )
    assert columns_of(wf) == {"a": 0, "b": 1, "c": 2}
    svg = workflow_svg(wf)
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "A&amp;B" in svg and "去&quot;b&quot;" in svg
    parsed = soup(svg)
    xs = {g["data-state"]: float(g.find("rect")["x"]) for g in parsed.select("g.state")}
    assert xs["a"] < xs["b"] < xs["c"]
    assert len(parsed.select("g.state.final rect")) == 2  # the double border
    assert [text_of(t) for t in parsed.select("g.loops text")] == ["↻1", "↻1"]
    assert re.fullmatch(r"wf-x-y-arrow", parsed.find("marker")["id"])


# --- ledger import ---------------------------------------------------------------------------------------

HEADER = ["诉求编号", "受理时间", "来源渠道", "诉求类型", "标题", "城市驿站", "承办单位", "派单时间"]
LEDGER = [
    ["L-0001", "2025-09-01 10:00", "12345热线", "求助", "路灯不亮", "", "CGJ", "2025-09-01 10:30"],
    ["L-0002", "2025-09-02 09:00", "城市驿站", "投诉", "夜间施工噪音", "白沙驿站", "新区建设局", "2025-09-02 09:30"],
]


def upload(b: Browser, data: bytes, name: str = "台账.csv", dry_run: bool = True) -> Any:
    fields = {"dry_run": "1"} if dry_run else {}
    return b.post("/admin/import", fields, files={"file": (name, data, "text/csv")})


def test_a_dry_run_writes_nothing_shows_the_summary_and_then_imports(browser, world, engine) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    before = counts(engine)
    response = upload(b, csv_bytes(HEADER, LEDGER))
    assert response.status_code == 200, response.text[:800]
    assert counts(engine) == before
    page = soup(response.text)
    result = page.find(id="result")
    assert text_of(result.find("h2")) == "检查通过：尚未写入任何数据"
    cells = {text_of(tr.find("th")): text_of(tr.find("td")) for tr in result.find_all("tr")}
    assert cells["读取行数"] == "2" and cells["将新建诉求"] == "2" and cells["系统中已有（保持不变）"] == "0"
    assert cells["新增单位"] == "1: 新区建设局" and cells["新增驿站"] == "1: 白沙驿站"

    confirm = result.find("form")
    assert text_of(confirm.find("button")) == "立即导入这 2 件诉求"
    kept = confirm.find("input", {"name": "kept"})["value"]
    done = b.post("/admin/import", {"kept": kept, "filename": "台账.csv"})
    assert done.status_code == 200
    assert text_of(soup(done.text).find(id="result").find("h2")) == "已导入"
    after = counts(engine)
    assert after["cases"] == before["cases"] + 2 and after["stations"] == before["stations"] + 1
    assert b.post("/admin/import", {"kept": kept, "filename": "台账.csv"}).status_code == 422  # used up

    again = soup(upload(b, csv_bytes(HEADER, LEDGER)).text)
    cells = {text_of(tr.find("th")): text_of(tr.find("td")) for tr in again.find(id="result").find_all("tr")}
    assert cells["将新建诉求"] == "0" and cells["系统中已有（保持不变）"] == "2"
    assert "无需导入" in text_of(again.find(id="result"))


def test_a_ledger_with_errors_lists_row_and_column_and_writes_nothing(browser, world, engine) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    before = counts(engine)
    bad = [LEDGER[0], [*LEDGER[1][:2], "飞鸽传书", *LEDGER[1][3:]]]
    response = upload(b, csv_bytes(HEADER, bad), dry_run=False)
    assert response.status_code == 422
    assert counts(engine) == before
    page = soup(response.text)
    problems = page.find(id="problems")
    assert "未导入任何数据" in text_of(problems.find(class_="form-error"))
    cells = [text_of(td) for td in problems.find("tbody").find("tr").find_all("td")]
    assert cells[:2] == ["3", "来源渠道"] and "飞鸽传书" in cells[2]
    assert not page.find("input", {"name": "dry_run"}).has_attr("checked")  # as the person left it


def test_a_file_the_importer_cannot_read_is_explained_at_the_file_field(browser, world) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    wrong_type = soup(upload(b, b"hello", name="notes.txt").text)
    assert "不支持的文件类型" in error_at(wrong_type, "file")
    unknown = soup(upload(b, csv_bytes(["编号", "颜色"], [["1", "红"]])).text)
    assert "找不到列名行" in error_at(unknown, "file")
    nothing = b.post("/admin/import", {"dry_run": "1"})
    assert nothing.status_code == 422 and "请选择台账文件" in error_at(soup(nothing.text), "file")


def test_a_dry_run_of_a_messy_ledger_says_what_becomes_of_every_column_and_row(browser, world, engine) -> None:  # type: ignore[no-untyped-def]
    """Title row, blank row, 序号 and 备注, GBK, 电话 for the hotline, a department without dispatch time, a
    satisfaction without callback time, a totals row: the page lists each fate, and the import then holds."""
    b = browser("admin")
    header = [
        "序号",
        "工单编号",
        "登记时间",
        "渠道",
        "类型",
        "诉求标题",
        "承办单位",
        "办结时间",
        "办理结果",
        "满意度",
        "备注",
    ]
    rows = [
        ["", "", "", "", "", "", "", "", "", "", ""],
        header,
        ["1", "M-1", "2024/3/5 9:05", "电话", "求助", "路灯不亮", "CGJ", "2024/3/8 9:00", "已解决", "满意", "较急"],
        ["2", "M-2", "2024/3/6 9:05", "12345", "咨询", "问政策", "CGJ", "", "", "", ""],
        ["合计", "2件", "", "", "", "", "", "", "", "", ""],
    ]
    data = csv_bytes(["2024年诉求台账", *[""] * 10], rows, encoding="gb18030")
    before = counts(engine)
    page = soup(upload(b, data).text)
    assert counts(engine) == before
    columns = {
        text_of(tr.find_all("td")[0]): [text_of(td) for td in tr.find_all("td")[1:]]
        for tr in page.find(id="columns").find("tbody").find_all("tr")
    }
    assert columns["1. 序号"][0] == "忽略：不是台账列，不导入"
    assert columns["11. 备注"][0] == "作为台账备注记在诉求的时间线上"
    assert columns["4. 渠道"][:2] == ["导入为「来源渠道」（channel）", "2"]
    assert "文件无此列" in columns["—"][0]  # dispatch, accept, respond and callback times inferred
    skipped = [[text_of(td) for td in tr.find_all("td")] for tr in page.find(id="skipped").find("tbody").find_all("tr")]
    assert [row[:2] for row in skipped] == [["1", "列名行上方的标题或说明行"], ["2", "空行"], ["6", "合计行"]]
    confirm = b.post("/admin/import", {"kept": page.find("input", {"name": "kept"})["value"], "filename": "x.csv"})
    assert confirm.status_code == 200
    assert counts(engine)["cases"] == before["cases"] + 2
    case = world.get("M-1", "supervisor")
    assert (case["channel"], case["state"], case["department"]) == ("hotline", "resolved", "城市管理局")
    timeline = soup(b.get(f"/cases/{case['id']}").text)
    assert "台账未记载，按办结时间推定" in text_of(timeline)
    assert "较急" in text_of(timeline)


def test_the_import_page_lists_the_chinese_headers_which_are_required_and_what_they_accept(browser, world) -> None:  # type: ignore[no-untyped-def]
    b = browser("dispatcher")
    page = b.page("/admin/import")
    template = page.find(id="ledger-template")
    assert "必填列： 诉求编号、受理时间、来源渠道、诉求类型、标题" in text_of(template)
    assert template.find("a", href="/admin/import/template.xlsx") is not None
    guide = page.find(id="ledger-columns")
    rows = {text_of(tr.find("strong")): [text_of(td) for td in tr.find_all("td")] for tr in guide.tbody.find_all("tr")}
    assert list(rows)[:5] == ["诉求编号", "受理时间", "来源渠道", "诉求类型", "紧急程度"]
    assert rows["诉求编号"] == ["诉求编号 也可写作 工单编号、编号", "必填", "诉求编号：导入的键，不可重复"]
    assert rows["紧急程度"][1] == ""
    assert "可填： 阳光恳谈会、城市驿站、流动办公桌、12345热线" in rows["来源渠道"][2]
    assert "如 2025-03-05 14:30" in rows["派单时间"][2]
    assert "case_no" not in text_of(guide) and "channel" not in text_of(guide)  # no English codes in Chinese
    b.client.cookies.set("lang", "en")
    english = b.page("/admin/import").find(id="ledger-columns")
    assert "12345热线 (hotline)" in text_of(english) and "case_no" in text_of(english)


def test_the_template_has_the_chinese_headers_and_one_example_row_that_is_skipped_on_import(
    browser, world, engine
) -> None:  # type: ignore[no-untyped-def]
    from io import BytesIO

    from openpyxl import load_workbook

    b = browser("supervisor")
    response = b.get("/admin/import/template.xlsx")
    assert response.status_code == 200
    assert "filename*=UTF-8''%E5%8F%B0%E8%B4%A6%E6%A8%A1%E6%9D%BF.xlsx" in response.headers["content-disposition"]
    book = load_workbook(BytesIO(response.content))
    ledger, notes = book.worksheets
    assert [c.value for c in ledger[1]][:5] == ["诉求编号", "受理时间", "来源渠道", "诉求类型", "紧急程度"]
    assert ledger.max_row == 2 and notes.title == "填写说明"
    before = counts(engine)
    done = soup(b.post("/admin/import", files={"file": ("台账模板.xlsx", response.content, "application/xlsx")}).text)
    assert text_of(done.find(id="result").find("h2")) == "已导入"
    assert "模板示例行，已跳过" in text_of(done.find(id="result")) and "第 2 行" in text_of(done.find(id="result"))
    assert counts(engine)["cases"] == before["cases"]  # the example never becomes a case
    world.get("示例-0001", "supervisor", expect=404)
    assert browser("handler").get("/admin/import/template.xlsx").status_code == 403


@pytest.mark.parametrize("kept", ["x" * 300, "../../etc/passwd", "1-" + "a" * 30 + ".csv"])
def test_a_forged_kept_file_name_is_a_clear_error_not_a_500(browser, world, kept) -> None:  # type: ignore[no-untyped-def]
    response = browser("admin").post("/admin/import", {"kept": kept, "filename": "x.csv"})
    assert response.status_code == 422
    assert "已过期" in error_at(soup(response.text), "file")


@pytest.mark.parametrize("url", ["/admin/users/999999", "/admin/enterprises/999999"])
def test_unknown_records_get_the_not_found_page(browser, world, url: str) -> None:  # type: ignore[no-untyped-def]
    response = browser("admin").get(url)
    assert response.status_code == 404 and text_of(soup(response.text).find("h1")) == "未找到"


def test_the_import_button_counts_in_english_and_the_size_hint_is_never_zero(browser, world, app) -> None:  # type: ignore[no-untyped-def]
    """A trial read "Import these 1 cases now" and, under a 3,000-byte limit, "at most 0 MB"."""
    b = browser("admin")
    b.client.cookies.set("lang", "en")
    page = soup(upload(b, csv_bytes(HEADER, LEDGER[:1])).text)
    assert text_of(page.find(id="result").find("form").find("button")) == "Import this 1 case now"
    app.state.runtime.settings.ledger_max_bytes = 1536 * 1024
    assert "at most 1.5 MB" in text_of(b.page("/admin/import"))
    app.state.runtime.settings.ledger_max_bytes = 3000
    assert "at most 0.00286 MB" in text_of(b.page("/admin/import"))
