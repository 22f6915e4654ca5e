"""Administration: staff accounts, departments, stations, enterprises and their liaisons, the category tree,
the working-day calendar, each workflow drawn from its file, the ledger (台账) import, and the outbox's
subscriptions and deliveries (推送订阅), the Open311 API keys, the audit log (审计日志).

Every page is for administrators only (the ledger import also for the roles the API lets import), and
every change goes through the same service functions as the JSON API.
"""

from fastapi import APIRouter

from web.pages.admin import audit, calendar, ledger, open311, outbox, overview, reference, users, workflows

router = APIRouter(include_in_schema=False)
for module in (overview, users, reference, calendar, workflows, ledger, outbox, open311, audit):
    router.include_router(module.router)
