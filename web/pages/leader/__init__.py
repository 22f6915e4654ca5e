"""The leader's pages: the dashboard of an assessment month, the rates report with its groups and downloads,
the exact cases behind every figure, and the monthly report (月报) inside the site frame.

Every figure comes from grievance/reports/service.py, as the JSON API's do, and every figure links to its case
list with the same period, filters and `as_of` moment, so the list always counts what the figure counted.
"""

from fastapi import APIRouter

from web.pages.leader import dashboard, keycases, monthly, reports

router = APIRouter(include_in_schema=False)
for module in (dashboard, reports, monthly, keycases):
    router.include_router(module.router)
