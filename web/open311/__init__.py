"""Open311 GeoReport v2 over HTTP: the routes mounted at /open311/v2 (web/app.py) and their two formats."""

from web.open311.routes import router

__all__ = ["router"]
