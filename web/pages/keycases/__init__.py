"""The key-case pages of the supervisor and the leaders (issue 12): the weekly dispatch sheet (每周调度), the battle
map (挂图作战) and the key-case report, each in its own module, all reading grievance/keycases/."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
# Each page module adds itself here: `from web.pages.keycases import dispatch` then router.include_router(...).

from web.pages.keycases import battlemap  # noqa: E402

router.include_router(battlemap.router)

from web.pages.keycases import dispatch  # noqa: E402

router.include_router(dispatch.router)

from web.pages.keycases import report  # noqa: E402

router.include_router(report.router)
