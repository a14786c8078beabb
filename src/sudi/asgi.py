"""ASGI entry point for uvicorn (``sudi serve``), configured from the environment."""

from sudi.app import create_app

app = create_app(run_jobs=True)
