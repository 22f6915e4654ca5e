"""The JSON API, version 1."""

from fastapi import APIRouter

from web.api import admin, cases, hotline12345, keycase_report, ledger, public, reference, reports

api_router = APIRouter()
api_router.include_router(cases.router)
api_router.include_router(reference.router)
api_router.include_router(admin.router)
api_router.include_router(public.router)
api_router.include_router(reports.router)
api_router.include_router(keycase_report.router)  # the key-case report (issue 12)
api_router.include_router(ledger.router)
api_router.include_router(hotline12345.router)
