"""A third-party Open311 client, the `georeport` package from PyPI, talks to a live server on the loopback: a
request filed over HTTP (georeport only reads, so the form goes out with httpx as any client would send it) is
read back by georeport in JSON and in XML, and is a case of the staff API with channel online."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from georeport import GeoReport

from tests.factories import World
from tests.open311._support import BASE, Open311World, serve


@pytest.fixture
def live(world: World) -> Iterator[tuple[Open311World, str]]:
    """The test's app served by uvicorn on a free loopback port, in a thread, stopped after the test."""
    o311 = Open311World(world)
    with serve(world.app) as root:
        yield o311, root + BASE


def test_georeport_reads_back_a_request_filed_over_http(live: tuple[Open311World, str]):
    o311, root = live
    posted = httpx.post(f"{root}/requests.json", data=o311.form(**{"attribute[case_type]": "complaint"}), timeout=10)
    assert posted.status_code == 201, posted.text
    case_no = posted.json()[0]["service_request_id"]

    for output in ("json", "xml"):
        client = GeoReport(root, output_format=output)
        services = client.get_service_list()
        assert [s["service_code"] for s in services] == ["CS0101", "CS0103"]
        definition = client.get_service_definition("CS0101")
        assert definition["service_code"] == "CS0101"
        one = client.get_service_request(case_no)
        assert one["service_request_id"] == case_no and one["status"] == "open"
        assert one["address"] == "青桐路18号" and one["service_name"] == "路灯损坏"
        assert float(one["lat"]) == 30.5928  # XML gives text, JSON a number
        listed = client.get_service_requests(service_request_id=case_no)
        # xmltodict gives a lone <request> as a dict, JSON a list of one
        assert (listed if isinstance(listed, dict) else listed[0])["service_request_id"] == case_no

    detail = o311.world.get(case_no, "dispatcher")
    case = detail.get("case", detail)
    assert case["channel"] == "online" and case["case_type"] == "complaint"
    served = httpx.get(f"{root}/requests/{case_no}.xml", timeout=10).text
    assert "13812345678" not in served and "张三" not in served
