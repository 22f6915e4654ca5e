"""The administrator's Open311 controls: keys issued (shown once), listed and revoked with a confirmation on the
page and in the CLI, administrators only, in Chinese and English; and which categories are offered as services."""

from __future__ import annotations

import pytest
from sqlmodel import select

from grievance.db import transaction
from grievance.open311.keys import key_sha256
from grievance.open311.models import Open311ApiKey
from grievance.reference.models import Category
from tests.factories import World
from tests.open311._support import BASE, Open311World
from tests.web.support import Browser, soup, text_of


@pytest.fixture
def o311(world: World) -> Open311World:
    return Open311World(world)


def _post_with(o311: Open311World, key: str) -> int:
    return o311.client.post(f"{BASE}/requests.json", data=o311.form(api_key=key)).status_code


def test_only_administrators_manage_keys(o311: Open311World):
    for username in ("dispatcher", "supervisor", "handler"):
        browser = Browser(o311.app, username)
        assert browser.get("/admin/open311/keys").status_code == 403
        assert browser.post("/admin/open311/keys", {"name": "x"}).status_code == 403
        assert browser.post(f"/admin/open311/keys/{o311.key_id}/revoke", {"confirm": "1"}).status_code == 403
    assert _post_with(o311, o311.key) == 201  # still active


def test_a_key_is_shown_once_works_and_is_revoked_only_when_confirmed(o311: Open311World):
    admin = Browser(o311.app, "admin")
    refused = admin.post("/admin/open311/keys", {"name": "  "})
    assert refused.status_code == 422 and soup(refused.text).find(id="e-name") is not None
    made = admin.post("/admin/open311/keys", {"name": "街道微信小程序"})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    key = text_of(soup(made.text).find(id="key"))
    assert key.startswith("o311_") and len(key) > 40
    with transaction(o311.app.state.sessions) as session:
        row = session.exec(select(Open311ApiKey).where(Open311ApiKey.name == "街道微信小程序")).one()
        assert row.key_sha256 == key_sha256(key) and row.created_by_id is not None
        key_id = row.id
    listing = admin.page("/admin/open311/keys")
    assert text_of(listing.find("h1")) == "Open311 密钥"
    assert key not in str(listing) and key[:12] in text_of(listing)
    assert _post_with(o311, key) == 201
    row = next(tr for tr in admin.page("/admin/open311/keys").find_all("tr") if key[:12] in text_of(tr))
    assert "从未使用" not in text_of(row)  # its last use is shown

    unconfirmed = admin.post(f"/admin/open311/keys/{key_id}/revoke", {})
    assert unconfirmed.status_code == 422 and "勾选" in unconfirmed.text
    assert _post_with(o311, key) == 201
    revoked = admin.post(f"/admin/open311/keys/{key_id}/revoke", {"confirm": "1"})
    assert revoked.status_code == 303
    assert _post_with(o311, key) == 403
    assert _post_with(o311, o311.key) == 201  # the other client is untouched
    assert admin.post("/admin/open311/keys/999999/revoke", {"confirm": "1"}).status_code == 404


def test_the_keys_page_in_english(o311: Open311World):
    admin = Browser(o311.app, "admin")
    admin.client.cookies.set("lang", "en")
    page = admin.page("/admin/open311/keys")
    assert text_of(page.find("h1")) == "Open311 keys"
    assert "Issue a key" in text_of(page) and "市民通 app" in text_of(page)
    assert "密钥" not in text_of(page.find("main") or page)


def test_the_categories_page_chooses_the_services(o311: Open311World):
    admin = Browser(o311.app, "admin")
    page = admin.page("/admin/categories")
    boxes = {box["value"]: box.has_attr("checked") for box in page.find_all("input", attrs={"name": "public"})}
    with transaction(o311.app.state.sessions) as session:
        ids = {c.code: str(c.id) for c in session.exec(select(Category)).all()}
    assert boxes == {ids["CS0101"]: True, ids["CS0102"]: False, ids["CS0103"]: True}  # leaves only
    saved = admin.post("/admin/categories/open311", {"public": [ids["CS0102"], ids["CS0103"], ids["CS"]]})
    assert saved.status_code == 303
    codes = [s["service_code"] for s in o311.client.get(f"{BASE}/services.json").json()]
    assert codes == ["CS0102", "CS0103"]  # the group stays no service
    assert o311.client.post(f"{BASE}/requests.json", data=o311.form()).status_code == 404  # CS0101 withdrawn
    assert Browser(o311.app, "dispatcher").post("/admin/categories/open311", {"public": []}).status_code == 403


def test_the_cli_creates_lists_and_revokes_keys(o311: Open311World, cli):  # type: ignore[no-untyped-def]
    made = cli("open311", "keys", "create", "区政务服务网")
    assert made.code == 0, made.err
    key = made.out.strip()
    assert key.startswith("o311_") and "只显示这一次" in made.err
    assert _post_with(o311, key) == 201
    listed = cli("open311", "keys", "list")
    assert listed.code == 0 and "区政务服务网" in listed.out and key not in listed.out and key[:12] in listed.out
    key_id = next(line.split("\t")[0] for line in listed.out.splitlines() if "区政务服务网" in line)
    assert cli("open311", "keys", "revoke", key_id).code == 0
    assert "revoked" in cli("open311", "keys", "list").out
    assert _post_with(o311, key) == 403
    missing = cli("open311", "keys", "revoke", "424242")
    assert missing.code != 0 and "424242" in missing.err


def test_a_second_active_key_with_the_same_name_is_refused(o311: Open311World, cli):  # type: ignore[no-untyped-def]
    admin = Browser(o311.app, "admin")
    again = admin.post("/admin/open311/keys", {"name": " 市民通 APP "})  # the fixture's 市民通 app, case aside
    assert again.status_code == 422
    error = text_of(soup(again.text).find(id="e-name"))
    assert "已有名为「市民通 app」的有效密钥" in error and "请换一个名称" in error
    assert "o311_" not in text_of(soup(again.text).find(id="new-key"))  # no key issued
    admin.client.cookies.set("lang", "en")
    english = admin.post("/admin/open311/keys", {"name": "市民通 app"})
    assert "An active key is already named '市民通 app'" in text_of(soup(english.text).find(id="e-name"))
    refused = cli("open311", "keys", "create", "市民通 app")
    assert refused.code == 2 and "已有名为「市民通 app」的有效密钥" in refused.err and "already named" in refused.err
    with transaction(o311.app.state.sessions) as session:
        assert len(session.exec(select(Open311ApiKey)).all()) == 1
    # Revoked, its name is free again (a key replaced after the old one stopped).
    assert admin.post(f"/admin/open311/keys/{o311.key_id}/revoke", {"confirm": "1"}).status_code == 303
    assert cli("open311", "keys", "create", "市民通 app").code == 0


def test_the_open311_account_is_named_in_the_readers_language(o311: Open311World):
    case_no = o311.file()[0]["service_request_id"]
    dispatcher = Browser(o311.app, "dispatcher")
    who = [text_of(span) for span in dispatcher.page(f"/cases/{case_no}").select(".timeline .who")]
    assert who == ["Open311 接入"]
    dispatcher.client.cookies.set("lang", "en")
    who = [text_of(span) for span in dispatcher.page(f"/cases/{case_no}").select(".timeline .who")]
    assert who == ["Open311 client"]
    admin = Browser(o311.app, "admin")
    admin.client.cookies.set("lang", "en")
    row = next(tr for tr in admin.page("/admin/users").find_all("tr") if "open311" in text_of(tr))
    assert "Open311 client" in text_of(row) and "接入" not in text_of(row)


def test_every_system_account_has_a_label_in_both_languages():
    from grievance.cases.ratings import SOURCE_ACCOUNTS
    from grievance.hotline12345 import inbound
    from grievance.open311 import filing
    from grievance.users.service import account_label

    # The names the accounts are created with, wherever they are, and the first releases' Open311 name.
    created = [*SOURCE_ACCOUNTS.values(), (inbound.ACCOUNT_USERNAME, inbound.ACCOUNT_NAME), filing.ACCOUNT]
    english = {username: account_label(name, "en") for username, name in created}
    assert english == {
        "petitioner": "Petitioner (self-rating)",
        "hotline12345": "12345 platform",
        "open311": "Open311 client",
    }
    assert all(account_label(name) == name for _username, name in created)  # Chinese pages: as created
    assert account_label("Open311 接入 (Open311 clients)", "en") == "Open311 client"
    assert account_label("Open311 接入 (Open311 clients)") == "Open311 接入"
    assert account_label("张三", "en") == "张三" and account_label(None, "en") is None
