"""Build the ConvScope app: static files, routers, error handlers, limits."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.formparsers import MultiPartParser

from app import __version__, pages
from app.api import docs, errors, images, kernels, models, ops, reference, teach, train
from app.config import Settings, get_settings
from app.middleware import (
    AccessLog,
    BodyLimit,
    ConcurrencyLimit,
    SecurityHeaders,
    configure_access_log,
)

DESCRIPTION = """
Convolution, pooling, activations, batch norm and dropout with PyTorch's semantics
(`torch.nn.functional`; a convolution is a cross-correlation: the kernel is not flipped).
JSON endpoints compute in float64. Tensors are channel-first nested lists.
Every endpoint, error and limit is described in `docs/api.md` in the repository;
`GET /api/v1/limits`, `/layers` and `/colormaps` serve the limits, layer types and colour rule.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app, with ``settings`` (default: from the environment, ``get_settings()``)."""
    settings = settings or get_settings()
    # Uploads stay in memory (never spooled to a temporary file); BodyLimit bounds them.
    MultiPartParser.spool_max_size = max(
        MultiPartParser.spool_max_size, settings.max_upload_bytes + 1
    )
    app = FastAPI(
        title="ConvScope",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
    )
    # Added last = outermost: the log and the headers see every answer, even a 413 or 503.
    # The body is read (BodyLimit) before a computation slot is taken (ConcurrencyLimit).
    app.add_middleware(ConcurrencyLimit, limit=settings.max_concurrent)
    app.add_middleware(
        BodyLimit,
        json_limit=settings.max_body_bytes,
        upload_limit=settings.max_upload_bytes,
        timeout=settings.max_body_seconds,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)
    configure_access_log()
    app.state.settings = settings
    errors.install(app)
    app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")
    for module in (ops, images, train, kernels, teach, models, reference, docs, pages):
        app.include_router(module.router)

    @app.get("/healthz", tags=["health"], summary="Liveness check")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app


app = create_app()
