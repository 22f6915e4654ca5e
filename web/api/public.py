"""What is public: a petitioner tracks their case with its query code (status and replies only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from grievance.cases.public import public_status
from web.deps import DbSession, RuntimeDep

router = APIRouter(prefix="/public", tags=["public"])


@router.get("/cases/{query_code}", summary="诉求人凭查询码查询进度 (track a case)")
def track(query_code: str, session: DbSession, runtime: RuntimeDep) -> dict[str, Any]:
    return public_status(session, runtime, query_code)
