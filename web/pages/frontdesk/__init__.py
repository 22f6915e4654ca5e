"""The front desk: the intake form (keyboard first, with live hints while typing), the printable receipt, and
the meeting (阳光恳谈会) and station (城市驿站) pages where a clerk logs one case after another."""

from fastapi import APIRouter

from web.pages.frontdesk import intake, meetings, receipt, stations

router = APIRouter(include_in_schema=False)
for module in (intake, receipt, meetings, stations):
    router.include_router(module.router)
