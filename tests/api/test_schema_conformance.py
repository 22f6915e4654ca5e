"""The API keeps the contract it publishes: schemathesis generates requests for every operation of /openapi.json
(valid ones and ones that break the schema) and checks each answer: never a server error, a documented status,
a documented media type, a body and headers that fit the documented schema. On SQLite and PostgreSQL, bounded
in time by the examples per operation (EXAMPLES): about a minute per database on a busy 2-core machine. Each run
draws fresh examples (Hypothesis prints the seed of a failure, and its example database replays it)."""

from __future__ import annotations

import time
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as examples_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from grievance.config import Settings
from tests.factories import World

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Examples per operation and mode: enough to reach every documented status of most operations, few enough to
# keep both databases' runs short.
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}
# Some operations (a GET without parameters) have nothing a request could get wrong: no negative case exists.
UNSATISFIABLE = (Unsatisfiable, hypothesis.errors.FailedHealthCheck)


@pytest.fixture
def settings(database: Any, tmp_path: Any) -> Settings:
    """The app with the 12345 secret set: without it the 12345 routes answer 503 by design (refuse unsigned pushes),
    which schemathesis would count as a server error."""
    return Settings(
        database_url=database.fresh_url(tmp_path), data_dir=tmp_path / "data", hotline12345_secret="conformance"
    )


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def _check_operation(
    operation: Any, mode: GenerationMode, headers: dict[str, str], known: dict[str, dict[str, Any]] | None = None
) -> str | None:
    """Run one operation's examples in one mode; the failure report, or None when every answer kept the contract.
    `known` fixes some path and query parameters to real records (the rest is generated)."""
    fixed = known or {}
    names = {p.name for p in operation.path_parameters}
    path_parameters = {k: v for k, v in fixed.get("path", {}).items() if k in names} or None
    query_names = {p.name for p in operation.query}
    query = {k: v for k, v in fixed.get("query", {}).items() if k in query_names} or None

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters, query=query))
    @examples_settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        print_blob=True,
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except UNSATISFIABLE:
        if mode is GenerationMode.NEGATIVE or known is not None:
            return None  # no request can break this operation's schema, or none with these records
        return f"{operation.label}: no valid request could be generated"
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # schemathesis' failure group, or an error the app raised
        return f"### {operation.label} ({mode.value}{', on real records' if known else ''})\n{exc}"
    return None


def _real_records(world: World) -> dict[str, dict[str, Any]]:
    """Path and query values that name records that exist, so reads answer 200 and their bodies are checked
    against CaseDetail, PublicStatus... instead of every generated reference answering 404."""
    case = world.intake(as_user="intake")
    attached = world.client.post(
        f"/api/v1/cases/{case['case_no']}/attachments",
        files={"files": ("note.txt", "路灯位置：青桐路18号小区门口\n".encode(), "text/plain")},
        headers=world.headers("intake"),
    )
    assert attached.status_code == 201, attached.text
    return {
        "path": {
            "ref": case["case_no"],
            "query_code": case["query_code"],
            "attachment_id": attached.json()[0]["id"],
            "meeting_id": world.meeting_id,
            "month": "2025-09",
            "metric": "on_time_response_rate",
            "day": "2025-10-08",
            "action": "dispatch",
        },
        "query": {"month": "2025-09"},
    }


# Who sends each operation: intake is the front desk's, actions are tried by the dispatcher; admin elsewhere.
SENDER = {"POST /api/v1/cases": "intake", "POST /api/v1/cases/{ref}/actions/{action}": "dispatcher"}


def test_every_operation_keeps_its_contract(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    world = World(app, client)
    world.intake()  # a case, so lists and reports have a row to describe
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = _operations(schema)
    assert len(operations) >= 30, [op.label for op in operations]  # every route of web/api, none left out
    known = _real_records(world)
    started = time.monotonic()
    failures: list[str | None] = []
    for operation in operations:
        headers = world.headers(SENDER.get(operation.label, "admin"))  # past 401 on every operation
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures.append(_check_operation(operation, mode, headers))
        if operation.path.startswith("/api/v1/public/"):  # a fresh throttle, so the real code gets its answer
            app.state.lookup_throttle = type(app.state.lookup_throttle)()
        failures.append(_check_operation(operation, GenerationMode.POSITIVE, headers, known))
    reports = [f for f in failures if f is not None]
    assert not reports, f"{len(reports)} operation(s) broke the contract:\n\n" + "\n\n".join(reports)
    assert time.monotonic() - started < 150, "the run must stay bounded; lower EXAMPLES"


@pytest.mark.parametrize("path", ["/api/v1/cases"])
def test_intake_documents_both_bodies_with_schemas_that_exist(app, path: str) -> None:  # type: ignore[no-untyped-def]
    spec = app.openapi()
    body = spec["paths"][path]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    ref = body["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[1]
    assert name == "CaseCreate"
    assert "title" in spec["components"]["schemas"][name]["properties"]
    # Every reference anywhere in the document resolves.
    refs: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    missing = {r for r in refs if r.rsplit("/", 1)[1] not in spec["components"]["schemas"]}
    assert not missing


def test_every_refusal_is_documented_with_the_error_shape(app) -> None:  # type: ignore[no-untyped-def]
    spec = app.openapi()
    for path, item in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"400", "413", "422", "503"} <= set(responses), (method, path)
            if not path.startswith("/api/v1/public/"):
                assert {"401", "403", "404", "409"} <= set(responses), (method, path)
            else:
                assert {"404", "429"} <= set(responses), (method, path)
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]["$ref"]
                    expected = "InvalidInputResponse" if status == "422" else "ErrorResponse"
                    assert schema.endswith("/" + expected), (method, path, status)


def test_files_are_labelled_with_their_real_media_types(app) -> None:  # type: ignore[no-untyped-def]
    paths = app.openapi()["paths"]
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert set(paths["/api/v1/ledger/export"]["get"]["responses"]["200"]["content"]) == {"text/csv", xlsx}
    assert set(paths["/api/v1/reports/rates"]["get"]["responses"]["200"]["content"]) == {
        "application/json",
        "text/csv",
        xlsx,
        "text/html",
    }
    assert set(paths["/api/v1/reports/monthly/{month}"]["get"]["responses"]["200"]["content"]) == {
        "application/json",
        "text/html",
        xlsx,
    }


def test_ledger_export_is_sent_as_it_is_documented(world) -> None:  # type: ignore[no-untyped-def]
    world.intake()
    csv = world.client.get("/api/v1/ledger/export", headers=world.headers("admin"))
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    xlsx = world.client.get("/api/v1/ledger/export?format=xlsx", headers=world.headers("admin"))
    assert xlsx.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert xlsx.content[:2] == b"PK"  # a zip container, not JSON
