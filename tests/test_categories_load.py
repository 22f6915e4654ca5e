"""`grievance categories load` on a fresh database: the tree loads, the categories whose department does not
exist yet are listed without routing, and loading again once the departments exist fills the routing in; files
in UTF-8 or GB18030 alike (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from grievance.db import transaction
from grievance.reference.models import Category, Department
from tests.factories import World

SHIPPED_UNROUTED = [
    "  01 城市管理 -> CGJ",
    "  02 企业服务 -> QFJ",
    "  03 社会事务 -> SSJ",
    "  04 矛盾纠纷 -> ZFB",
    "  05 征迁安置 -> ZQB",
]


def _routing(app: Any) -> dict[str, str | None]:
    """Each category's own routing department (code), by category code."""
    with transaction(app.state.sessions) as session:
        departments = {d.id: d.code for d in session.exec(select(Department)).all()}
        return {c.code: departments.get(c.department_id) for c in session.exec(select(Category)).all()}


def test_categories_load_on_a_fresh_database_loads_the_tree_and_lists_what_has_no_routing(cli, app):
    result = cli("categories", "load")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    total = len(_routing(app))
    assert total > 20
    assert lines[0] == f"分类已载入：新建 {total} 个，更新 0 个 (categories loaded: {total} created, 0 updated)"
    assert lines[1].startswith("5 个分类指定的承办单位尚不存在，暂无派单建议")
    assert "(5 categories name a department that does not exist yet" in lines[1]
    assert lines[2:] == SHIPPED_UNROUTED
    assert set(_routing(app).values()) == {None}

    # Once a department exists, loading the file again fills its routing in.
    assert cli("department", "add", "CGJ", "城市管理局").code == 0
    again = cli("categories", "load")
    assert again.code == 0, again.err
    assert again.out.splitlines()[0] == (
        f"分类已载入：新建 0 个，更新 {total} 个 (categories loaded: 0 created, {total} updated)"
    )
    assert again.out.splitlines()[2:] == SHIPPED_UNROUTED[1:]
    routing = _routing(app)
    assert routing["01"] == "CGJ"
    assert routing["0101"] is None  # a child without its own department inherits its parent's
    assert routing["02"] is None


def test_categories_load_with_every_department_present_lists_nothing(cli, app):
    for code in ("CGJ", "QFJ", "SSJ", "ZFB", "ZQB"):
        assert cli("department", "add", code, f"{code} 单位").code == 0
    result = cli("categories", "load")
    assert result.code == 0, result.err
    assert len(result.out.splitlines()) == 1
    assert {c for c, d in _routing(app).items() if d} == {"01", "02", "03", "04", "05"}


def test_categories_load_reads_a_gb18030_file(cli, app, tmp_path):
    path = tmp_path / "categories.yaml"
    path.write_bytes(
        '- code: "01"\n  name: 城市管理\n  department: CGJ\n  children:\n'
        '    - {code: "0101", name: 市政设施㐀}\n'.encode("gb18030")
    )
    result = cli("categories", "load", str(path))
    assert result.code == 0, result.err
    assert result.out.splitlines()[2:] == ["  01 城市管理 -> CGJ"]
    with transaction(app.state.sessions) as session:
        names = {c.code: c.name for c in session.exec(select(Category)).all()}
    assert names == {"01": "城市管理", "0101": "市政设施㐀"}  # 㐀 is outside GBK: GB18030 proper


def test_the_api_reload_answers_which_categories_have_no_routing(app, client, clock):
    world = World(app, client)  # CGJ and QFJ exist; SSJ, ZFB and ZQB do not
    response = client.post("/api/v1/categories/reload", headers=world.headers("admin"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["updated"] == 0 and body["created"] > 20
    assert body["unrouted"] == [
        {"code": "03", "name": "社会事务", "department": "SSJ"},
        {"code": "04", "name": "矛盾纠纷", "department": "ZFB"},
        {"code": "05", "name": "征迁安置", "department": "ZQB"},
    ]
    routing = _routing(app)
    assert (routing["01"], routing["02"], routing["03"]) == ("CGJ", "QFJ", None)
