"""The server-rendered pages: each area of work in its own module, all through the same service functions as
the JSON API."""

from fastapi import APIRouter

from web.pages import admin, auth, frontdesk, keycases, leader, public, work

pages_router = APIRouter(include_in_schema=False)
for module in (auth, public, frontdesk, work, leader, keycases, admin):
    pages_router.include_router(module.router)
