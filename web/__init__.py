"""The web layer: the FastAPI app factory, the JSON API and (later) the HTML pages."""
