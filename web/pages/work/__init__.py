"""The daily work on cases: the list and search every role has, the case page (fields, clocks, timeline,
attachments and exactly the actions the engine allows now), the dispatcher's pool, a department's queue and
the supervisor's board.

Every page reads and writes through the same service functions as the JSON API (web/api/cases.py); a form
only turns its strings into the typed input an action declares.
"""

from fastapi import APIRouter

from web.pages.work import board, callbacks, case, cases, pool, queue

router = APIRouter(include_in_schema=False)
for module in (cases, case, pool, queue, board, callbacks):
    router.include_router(module.router)
