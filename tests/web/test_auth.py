"""Signing in and out in the browser: session cookie, CSRF, throttling, password change, the 403 page,
and the language switch."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from grievance.db import transaction
from grievance.users.models import User, WebSession
from grievance.users.service import hash_password
from tests.web.support import Browser, soup, text_of

PASSWORD = "correct-horse-42"


def give_password(app, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    with transaction(app.state.sessions) as session:
        user = session.exec(select(User).where(User.username == username)).one()
        user.password_hash = hash_password(password)
        session.add(user)


def sign_in(b: Browser, username: str, password: str = PASSWORD, next: str = "/"):  # type: ignore[no-untyped-def]
    form = b.page(f"/login?next={next}")
    token = form.find("input", {"name": "csrf_token"})["value"]
    return b.client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": token,
            "next": form.find("input", {"name": "next"})["value"],
        },
    )


def test_a_page_without_a_session_sends_to_the_sign_in_form_and_back(app, world) -> None:  # type: ignore[no-untyped-def]
    give_password(app, "handler")
    b = Browser(app)
    response = b.get("/queue?state=accepted")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/queue%3Fstate%3Daccepted"
    page = b.page("/login?next=/queue")
    assert text_of(page.find("h1")) == "登录"
    response = sign_in(b, "handler", next="/queue")
    assert response.status_code == 303 and response.headers["location"] == "/queue"
    cookie = response.headers["set-cookie"]
    assert "gv_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_the_home_page_sends_each_role_to_its_daily_work(app, world) -> None:  # type: ignore[no-untyped-def]
    for username, home in (
        ("intake", "/intake"),
        ("dispatcher", "/pool"),
        ("handler", "/queue"),
        ("supervisor", "/board"),
        ("leader", "/dashboard"),
        ("admin", "/admin"),
    ):
        response = Browser(app, username).get("/")
        assert response.headers["location"] == home, username


def test_a_wrong_password_says_so_keeps_the_name_and_is_recorded(app, world) -> None:  # type: ignore[no-untyped-def]
    give_password(app, "handler")
    b = Browser(app)
    response = sign_in(b, "handler", "wrong-password")
    assert response.status_code == 401
    page = soup(response.text)
    assert "用户名或密码错误" in text_of(page.find(class_="form-error"))
    assert page.find("input", {"name": "username"})["value"] == "handler"
    assert "gv_session" not in response.headers.get("set-cookie", "")


def test_repeated_failures_are_throttled_even_with_the_right_password(app, world, clock) -> None:  # type: ignore[no-untyped-def]
    give_password(app, "handler")
    b = Browser(app)
    for _ in range(3):  # exactly three wrong passwords pass; the third makes the next attempt wait a second
        assert sign_in(b, "handler", "wrong-password").status_code == 401
    response = sign_in(b, "handler")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert text_of(soup(response.text).find(class_="form-error")) == "登录失败次数过多，请 1 秒后再试"
    assert "gv_session" not in response.headers.get("set-cookie", "")
    clock.set(clock.at + timedelta(seconds=1))
    assert sign_in(b, "handler").status_code == 303


def test_sign_in_refuses_a_form_without_its_csrf_token(app, world) -> None:  # type: ignore[no-untyped-def]
    give_password(app, "handler")
    b = Browser(app)
    b.page("/login")
    response = b.client.post("/login", data={"username": "handler", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403
    assert "gv_session" not in response.headers.get("set-cookie", "")


def test_next_never_leaves_the_site(app, world) -> None:  # type: ignore[no-untyped-def]
    give_password(app, "handler")
    response = sign_in(Browser(app), "handler", next="https://evil.example/")
    assert response.headers["location"] == "/"


def test_sign_out_ends_the_session_and_needs_the_csrf_token(app, world) -> None:  # type: ignore[no-untyped-def]
    b = Browser(app, "handler")
    assert b.client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert b.post("/logout").status_code == 303
    assert b.get("/queue").status_code == 303  # back to the sign-in form
    with transaction(app.state.sessions) as session:
        assert session.exec(select(WebSession)).all() == []


def test_password_change_checks_the_current_one_and_signs_out_other_sessions(app, world) -> None:  # type: ignore[no-untyped-def]
    give_password(app, "handler")
    here, elsewhere = Browser(app), Browser(app)
    sign_in(here, "handler")
    sign_in(elsewhere, "handler")
    here.csrf = here.page("/account/password").find("input", {"name": "csrf_token"})["value"]
    response = here.post(
        "/account/password", {"current": "nope-nope-nope", "new": "another-good-one", "confirm": "another-good-one"}
    )
    assert response.status_code == 422
    assert "当前密码不正确" in text_of(soup(response.text).find(id="e-current"))
    response = here.post("/account/password", {"current": PASSWORD, "new": "short", "confirm": "short"})
    assert "至少10个字符" in response.text
    response = here.post(
        "/account/password", {"current": PASSWORD, "new": "another-good-one", "confirm": "another-good-one"}
    )
    assert response.status_code == 303
    assert here.get("/account/password").status_code == 200
    assert elsewhere.get("/account/password").status_code == 303  # signed out
    assert sign_in(Browser(app), "handler", "another-good-one").status_code == 303


def test_a_page_for_other_roles_answers_a_clear_403_page(app, world) -> None:  # type: ignore[no-untyped-def]
    b = Browser(app, "handler")
    response = b.get("/admin/users")
    assert response.status_code == 403
    page = soup(response.text)
    assert text_of(page.find("h1")) == "无权访问此页面"
    assert "管理员" in text_of(page.find("main"))
    assert page.find("nav") is not None  # still signed in: the navigation is there


def test_the_language_switch_turns_the_pages_into_english(app, world) -> None:  # type: ignore[no-untyped-def]
    b = Browser(app, "handler")
    assert "退出" in b.get("/account/password").text
    response = b.get("/lang/en?next=/account/password")
    assert response.status_code == 303 and response.headers["location"] == "/account/password"
    page = b.page("/account/password")
    assert text_of(page.find("h1")) == "Change password"
    assert page.find("html")["lang"] == "en"


def test_static_assets_are_served_by_the_app(app, world) -> None:  # type: ignore[no-untyped-def]
    b = Browser(app)
    assert b.get("/static/app.css").status_code == 200
    assert "Ctrl+Enter" in b.get("/static/app.js").text
    html = b.page("/login")
    for tag in html.find_all(["script", "link", "img"]):
        source = tag.get("src") or tag.get("href") or ""
        assert not source.startswith(("http://", "https://", "//")), source


def test_a_liaison_cadre_finds_the_intake_form_in_the_navigation_and_a_plain_handler_does_not(app, world) -> None:  # type: ignore[no-untyped-def]
    def links(username: str) -> list[str]:
        nav = Browser(app, username).page("/account/password").find("nav")
        return [a["href"] for a in nav.find_all("a")]

    assert links("liaison")[0] == "/intake"
    assert "/intake" not in links("handler")


def test_a_nul_byte_in_the_sign_in_form_answers_the_form_with_the_field_message(app, world) -> None:  # type: ignore[no-untyped-def]
    """web/input_guard.py refuses NUL text before the route runs; /login answers its own form, not the bare
    error page, and the form still works (a fresh form token comes with it)."""
    give_password(app, "handler")
    b = Browser(app)
    form = b.page("/login")
    token = form.find("input", {"name": "csrf_token"})["value"]
    data = {"username": "hand\x00ler", "password": PASSWORD, "csrf_token": token}
    response = b.client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 422
    page = soup(response.text)
    assert page.find("form", {"action": "/login"}) is not None
    assert "username" in text_of(page.find(id="e-username"))
    assert page.find("input", {"name": "password"}) is not None
    assert "gv_session" not in response.headers.get("set-cookie", "")
    fresh = page.find("input", {"name": "csrf_token"})["value"]
    again = b.client.post(
        "/login", data={"username": "handler", "password": PASSWORD, "csrf_token": fresh}, follow_redirects=False
    )
    assert again.status_code == 303
