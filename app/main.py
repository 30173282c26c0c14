"""Build the ConvScope app: static files, routers, error handlers."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__, pages
from app.config import get_settings


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(title="ConvScope", version=__version__)
    app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")
    app.include_router(pages.router)
    return app


app = create_app()
