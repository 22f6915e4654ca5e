"""What the Open311 tests share: a category tree with public and withdrawn services, an API key, the spec's JSON
Schemas (../shared/open311/georeport-v2/) and a form that files a plain request."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import uvicorn
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlmodel import select

from grievance.db import transaction
from grievance.open311.keys import create_key
from grievance.reference.models import Category, Department
from tests.factories import World

SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "open311" / "georeport-v2"
if not SCHEMAS.is_dir():  # the repository checked out elsewhere: the shared folder beside /work/main
    SCHEMAS = Path("/work/shared/open311/georeport-v2")
BASE = "/open311/v2"
START_SECONDS = 15


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port, in a thread: yields its root ("http://127.0.0.1:PORT"),
    stops it after the block. For requests that must cross a real HTTP server (raw bytes as curl sends them)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn stopped at start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_SECONDS)


def _registry() -> Registry:
    resources = [
        (path.name, Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT202012))
        for path in SCHEMAS.glob("*.json")
    ]
    return Registry().with_resources(resources)


REGISTRY = _registry()


FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339 as the schemas mean it: a date, "T", a time and an offset (jsonschema checks it only with an
    optional package, so the tests check it themselves)."""
    if not isinstance(value, str):
        return True
    moment = datetime.fromisoformat(value)
    return "T" in value and moment.tzinfo is not None


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


def validate(document: Any, schema: str) -> None:
    """Raise jsonschema.ValidationError unless `document` conforms to SCHEMAS/`schema` (its $refs resolved and
    its formats, date-time and uri, checked)."""
    contents = REGISTRY.contents(schema)
    Draft202012Validator(contents, registry=REGISTRY, format_checker=FORMATS).validate(document)


class Open311World:
    """The API world (tests/factories.World) with a category tree and an Open311 key."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.client = world.client
        self.app = world.app
        with transaction(world.app.state.sessions) as session:
            cgj = session.exec(select(Department).where(Department.code == "CGJ")).one()
            top = Category(code="CS", name="城市管理", level=1)
            session.add(top)
            session.flush()
            mid = Category(code="CS01", name="市容环境", level=2, parent_id=top.id)
            session.add(mid)
            session.flush()
            session.add(Category(code="CS0101", name="路灯损坏", level=3, parent_id=mid.id, department_id=cgj.id))
            session.add(
                Category(code="CS0102", name="占道经营", level=3, parent_id=mid.id, accepts_public_requests=False)
            )
            session.add(Category(code="CS0103", name="垃圾清运", level=3, parent_id=mid.id))
            row, self.key = create_key(session, name="市民通 app")
            self.key_id = row.id

    def form(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "api_key": self.key,
            "service_code": "CS0101",
            "description": "青桐路18号门口路灯不亮\n已经一周了",
            "address_string": "青桐路18号",
            "lat": "30.5928",
            "long": "114.3055",
            "first_name": "三",
            "last_name": "张",
            "phone": "138-1234-5678",
            "email": "zhangsan@example.com",
        }
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not None}

    def file(self, fmt: str = "json", expect: int = 201, **overrides: Any) -> Any:
        response = self.client.post(f"{BASE}/requests.{fmt}", data=self.form(**overrides))
        assert response.status_code == expect, response.text
        return response.json() if fmt == "json" else response.text


def assert_xml_matches(element: ElementTree.Element, value: Any, path: str = "") -> None:
    """The XML `element` says what the JSON `value` says, field by field: a dict's keys are its child elements
    (no more, no fewer), a list's items its children in order, a scalar its text (null: empty, booleans
    true/false, numbers equal as numbers)."""
    where = path or element.tag
    if isinstance(value, dict):
        tags = [child.tag for child in element]
        assert sorted(tags) == sorted(value), f"{where}: elements {tags} vs keys {list(value)}"
        for child in element:
            assert_xml_matches(child, value[child.tag], f"{where}/{child.tag}")
    elif isinstance(value, list):
        children = list(element)
        assert len(children) == len(value), f"{where}: {len(children)} elements vs {len(value)} items"
        for i, (child, item) in enumerate(zip(children, value, strict=True)):
            assert_xml_matches(child, item, f"{where}/{child.tag}[{i}]")
    else:
        text = element.text or ""
        if value is None:
            assert text == "", f"{where}: {text!r} for null"
        elif isinstance(value, bool):
            assert text == ("true" if value else "false"), f"{where}: {text!r} vs {value}"
        elif isinstance(value, int | float):
            assert float(text) == value, f"{where}: {text!r} vs {value}"
        else:
            assert text == value, f"{where}: {text!r} vs {value!r}"


def both_formats(client: Any, path: str, root: str, item: str | None = None, **params: Any) -> Any:
    """GET `path` as .json and .xml: the JSON, after checking that the XML has the spec's root (and item)
    elements and matches it field by field."""
    as_json = client.get(f"{BASE}/{path}.json", params=params)
    as_xml = client.get(f"{BASE}/{path}.xml", params=params)
    assert as_json.status_code == as_xml.status_code, (as_json.text, as_xml.text)
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_xml.headers["content-type"].startswith("text/xml")
    tree = ElementTree.fromstring(as_xml.content)
    assert tree.tag == root
    if item is not None:
        assert all(child.tag == item for child in tree), [child.tag for child in tree]
    assert_xml_matches(tree, as_json.json())
    return as_json.json()
