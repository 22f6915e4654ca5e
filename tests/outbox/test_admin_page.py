"""The 推送订阅 page: administrators only; subscriptions added (a generated secret shown once), refused with
the reason at the field, paused and resumed; deliveries with their status; dead letters sent again one by
one and all at once; in Chinese by default and in English on request."""

from __future__ import annotations

from grievance.outbox import worker
from tests.factories import World
from tests.outbox._support import deliveries, subscribe
from tests.outbox.conftest import Receiver
from tests.web.support import Browser, soup, text_of


def test_only_administrators_open_it(world: World):
    for username in ("handler", "dispatcher", "supervisor"):
        browser = Browser(world.app, username)
        assert browser.get("/admin/outbox").status_code == 403
        assert browser.post("/admin/outbox/resend-all").status_code == 403
        assert browser.post("/admin/outbox/subscriptions", {"name": "x", "url": "https://e.org"}).status_code == 403
    assert Browser(world.app).get("/admin/outbox").status_code in (303, 401)
    page = Browser(world.app, "admin").page("/admin/outbox")
    assert text_of(page.find("h1")) == "推送订阅"
    nav = page.find("nav", class_="subnav")
    assert nav.find("a", href="/admin/outbox") and nav.find("a", href="/admin/open311/keys")
    assert "Open311 密钥" in text_of(nav)


def test_add_pause_resume_a_subscription(world: World):
    admin = Browser(world.app, "admin")
    refused = admin.post("/admin/outbox/subscriptions", {"name": "城管群", "url": "ftp://x", "format": "json"})
    assert refused.status_code == 422
    page = soup(refused.text)
    assert "http" in text_of(page.find(id="e-url")) and page.find(id="f-name")["value"] == "城管群"
    made = admin.post(
        "/admin/outbox/subscriptions",
        {
            "name": "城管群",
            "url": "https://hooks.example.org/in",
            "format": "json",
            "events": ["dispatch", "overdue"],
            "departments": ["CGJ"],
        },
    )
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    secret = text_of(soup(made.text).find(id="secret"))
    assert len(secret) >= 32
    listing = admin.page("/admin/outbox")
    row = listing.find("tr", attrs={"data-id": True})
    assert (
        "城管群" in text_of(row)
        and "派单" in text_of(row)
        and "已超期" in text_of(row)
        and "城市管理局" in text_of(row)
    )
    assert secret not in str(listing)  # never shown again
    robot = admin.post(
        "/admin/outbox/subscriptions",
        {
            "name": "钉钉群",
            "url": "https://oapi.dingtalk.com/robot/send?access_token=tok",
            "format": "dingtalk",
            "secret": "SECx",
        },
    )
    assert robot.status_code == 303
    listing = admin.page("/admin/outbox")
    assert "access_token=tok" not in str(listing) and "SECx" not in str(listing)
    taken = admin.post("/admin/outbox/subscriptions", {"name": "城管群", "url": "https://e.org", "format": "json"})
    assert taken.status_code == 409 and text_of(soup(taken.text).find(id="e-name"))
    sid = row["data-id"]
    assert admin.post(f"/admin/outbox/subscriptions/{sid}/active", {"active": "0"}).status_code == 303
    assert "已暂停" in text_of(admin.page("/admin/outbox").find("tr", attrs={"data-id": sid}))
    assert admin.post(f"/admin/outbox/subscriptions/{sid}/active", {"active": "1"}).status_code == 303
    assert "在用" in text_of(admin.page("/admin/outbox").find("tr", attrs={"data-id": sid}))
    assert admin.post("/admin/outbox/subscriptions/999999/active", {"active": "1"}).status_code == 404


def test_a_secret_of_spaces_is_refused_on_the_page_as_by_the_cli(world: World):
    admin = Browser(world.app, "admin")
    for format_, url in (
        ("json", "https://e.org/j"),
        ("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=t"),
    ):
        refused = admin.post(
            "/admin/outbox/subscriptions", {"name": f"空白{format_}", "url": url, "format": format_, "secret": "   "}
        )
        assert refused.status_code == 422, format_
        assert text_of(soup(refused.text).find(id="e-secret"))
    assert "空白json" not in admin.get("/admin/outbox").text


def test_dead_letters_sent_again_from_the_page(world: World, receiver: Receiver):
    app = world.app
    settings = app.state.runtime.settings
    settings.outbox_max_attempts = 1
    subscribe(app, receiver.url)
    receiver.answer(503)
    world.intake()
    world.intake()
    worker.run_once(app.state.sessions, settings)
    dead = deliveries(app, "dead")
    assert len(dead) == 2
    admin = Browser(app, "admin")
    page = admin.page("/admin/outbox")
    assert text_of(page.find(attrs={"data-count": "dead"})) == "2"
    rows = page.find(id="dead").find_all("tr", attrs={"data-delivery": True})
    assert len(rows) == 2 and "HTTP 503" in text_of(rows[0]) and "投递失败" in text_of(rows[0])
    assert admin.post(f"/admin/outbox/deliveries/{dead[0].id}/resend").status_code == 303
    assert {d.id for d in deliveries(app, "pending")} == {dead[0].id}
    assert admin.post(f"/admin/outbox/deliveries/{dead[0].id}/resend").status_code == 404  # no longer dead
    assert admin.post("/admin/outbox/resend-all").status_code == 303
    receiver.answer(200)
    worker.run_once(app.state.sessions, settings)
    assert len(deliveries(app, "delivered")) == 2
    delivered = admin.page("/admin/outbox?status=delivered").find(id="recent")
    assert len(delivered.find_all("tr", attrs={"data-delivery": True})) == 2


def test_the_page_in_english(world: World):
    admin = Browser(world.app, "admin")
    admin.client.cookies.set("lang", "en")
    page = admin.page("/admin/outbox")
    assert text_of(page.find("h1")) == "Push subscriptions"
    assert "New subscription" in text_of(page) and "推送" not in text_of(page.find("main") or page)


def test_skipped_rows_are_counted_not_listed_and_pausing_says_it_holds(world: World, receiver: Receiver, monkeypatch):  # type: ignore[no-untyped-def]
    app = world.app
    subscribe(app, receiver.url)
    world.intake()
    with monkeypatch.context() as patched:  # a format that declines the message when sending: a skipped row
        patched.setattr(worker, "renderer", lambda name: lambda *args: None)
        worker.run_once(app.state.sessions, app.state.runtime.settings)
    world.intake()
    worker.run_once(app.state.sessions, app.state.runtime.settings)
    assert sorted(d.status for d in deliveries(app)) == ["delivered", "skipped"]
    admin = Browser(app, "admin")
    page = admin.page("/admin/outbox")
    rows = page.find(id="recent").find_all("tr", attrs={"data-delivery": True})
    assert [text_of(r.find_all("td")[4]) for r in rows] == ["已送达"]
    assert "另有 1 条“无需发送”的记录" in text_of(page.find(id="skipped-note"))
    assert page.find(id="skipped-note").find("a", href="/admin/outbox?status=skipped")
    skipped = admin.page("/admin/outbox?status=skipped").find(id="recent")
    assert len(skipped.find_all("tr", attrs={"data-delivery": True})) == 1
    assert "暂停期间的诉求变动仍为它排队" in text_of(page)
    admin.client.cookies.set("lang", "en")
    english = admin.page("/admin/outbox")
    assert "1 skipped deliveries" in text_of(english.find(id="skipped-note"))
    assert "Pausing a subscription holds its messages" in text_of(english)
