"""Workflows as files: their schema, the loader that validates them, the engine that runs them."""
