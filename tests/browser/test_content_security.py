"""The pages work under the Content-Security-Policy (web/security_headers.py) in a real Chromium, with zero
violations: each role's main page, with its scripts doing their work (live hints, print buttons, charts, the
workflow diagram, the QR link's auto lookup, Swagger UI and ReDoc), while every `securitypolicyviolation` event,
console error or warning and page error is collected. A refused inline script or style shows up here."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import PASSWORD
from tests.browser.test_leader import september

REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.reportViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


class Watched:
    """A browser context whose CSP violations, console errors/warnings and page errors are collected."""

    def __init__(self, chromium: Any, live: Any) -> None:
        self.live = live
        self.problems: list[str] = []
        self.context = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        self.context.set_default_timeout(10000)
        self.context.expose_function("reportViolation", lambda text: self.problems.append(f"CSP: {text}"))
        self.context.add_init_script(REPORTER)
        self.page = self.context.new_page()
        self.page.on(
            "console",
            lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None,
        )
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def sign_in(self, username: str) -> None:
        self.go("/login")
        self.page.fill("#f-username", username)
        self.page.fill("#f-password", PASSWORD)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")

    def go(self, path: str) -> Any:
        self.page.goto(f"{self.live.base}{path}")
        self.page.wait_for_load_state("load")
        return self.page

    def clean(self, where: str) -> None:
        self.page.wait_for_timeout(150)  # violations are reported asynchronously
        assert self.problems == [], f"{where}: {self.problems}"

    def close(self) -> None:
        self.context.close()


def test_every_role_works_under_the_policy_with_no_violation(chromium, live) -> None:  # type: ignore[no-untyped-def]
    cases = september(live)
    code = live.world.get(cases["waiting"], "intake")["query_code"]
    opened: list[Watched] = []

    def person(username: str | None = None) -> Watched:
        opened.append(Watched(chromium, live))
        if username:
            opened[-1].sign_in(username)
        return opened[-1]

    try:
        # The front desk: intake form with its live hints, then a receipt with its QR code and print button.
        clerk = person("intake")
        page = clerk.go("/intake")
        page.fill("input[name=title]", "路灯不亮")
        page.fill("input[name=petitioner_phone]", "13812341234")
        page.wait_for_selector("[data-hint-url='/intake/lookup'] a")
        clerk.clean("/intake with live hints")
        page = clerk.go(f"/cases/{cases['waiting']}/receipt")
        assert page.locator("#tracking-qr svg").is_visible()
        assert page.locator("button[data-print]").is_visible()
        assert page.evaluate("getComputedStyle(document.querySelector('.fd-receipt header')).textAlign") == "center"
        clerk.clean("receipt")

        # A case page with its action forms; the dispatcher's pool.
        dispatcher = person("dispatcher")
        page = dispatcher.go(f"/cases/{cases['waiting']}")
        assert page.locator("form[action*='/actions/dispatch']").count() >= 1
        dispatcher.go("/pool")
        dispatcher.clean("case page and pool")

        # The department queue (its own stylesheet) and the supervisor's board.
        head = person("head")
        page = head.go("/queue?view=all")
        assert page.evaluate("getComputedStyle(document.querySelector('.queue-views')).display") == "flex"
        head.clean("queue")
        person("supervisor").go("/board")
        opened[-1].clean("board")

        # The leader: dashboard charts and the monthly report with its print button.
        leader = person("leader")
        page = leader.go("/dashboard")
        assert page.locator("figure.chart svg").count() == 2
        assert page.evaluate("getComputedStyle(document.querySelector('.kpis')).display") == "grid"
        page = leader.go("/reports/monthly/2025-09")
        assert page.locator("button[data-print]").is_visible()  # shown by app.js, not an inline script
        leader.clean("dashboard and monthly report")

        # The administrator: calendar, a workflow diagram sized by app.js, the department tree.
        admin = person("admin")
        admin.go("/admin/calendar")
        page = admin.go("/admin/workflows/standard")
        diagram = page.locator("svg.workflow-diagram").first
        assert diagram.evaluate("svg => svg.style.minWidth").endswith("px")
        page = admin.go("/admin/departments")
        assert page.evaluate("getComputedStyle(document.querySelector('.subnav')).display") == "flex"
        admin.clean("admin pages")

        # A petitioner scans the QR code: /track#code=... looks the case up by itself (track.js).
        petitioner = person()
        page = petitioner.go(f"/track#code={code}")
        page.wait_for_selector("#status")
        assert page.url == f"{live.base}/track"
        petitioner.clean("/track")

        # The API docs: Swagger UI and ReDoc render from their packaged assets under their hashed inline blocks.
        reader = person()
        page = reader.go("/docs")
        page.wait_for_selector(".swagger-ui .info .title")
        page.wait_for_selector(".opblock-tag")
        reader.clean("/docs")
        page = reader.go("/redoc")
        page.wait_for_selector("h1")
        page.wait_for_selector("[data-section-id]", state="attached")  # the operations are listed
        # ReDoc's footer logo comes from our own /static (web/app.py's redoc_script), not cdn.redoc.ly: no exclusion.
        logo = page.locator("img[alt='redocly logo']")
        logo.wait_for(state="attached")
        assert logo.get_attribute("src") == "/static/redocly-logo-mini.svg"
        assert logo.evaluate("img => img.complete && img.naturalWidth > 0")
        reader.clean("/redoc")
    finally:
        for watched in opened:
            watched.close()
