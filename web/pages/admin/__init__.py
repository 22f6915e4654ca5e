"""Administration: staff accounts, departments, stations, enterprises and their liaisons, the category tree,
the working-day calendar, each workflow drawn from its file, and the ledger (台账) import.

Every page is for administrators only (the ledger import also for the roles the API lets import), and
every change goes through the same service functions as the JSON API.
"""

from fastapi import APIRouter

from web.pages.admin import calendar, ledger, overview, reference, users, workflows

router = APIRouter(include_in_schema=False)
for module in (overview, users, reference, calendar, workflows, ledger):
    router.include_router(module.router)
