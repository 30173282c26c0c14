"""``convscope serve`` (and plain ``convscope``): run the app with uvicorn."""

from __future__ import annotations

import argparse
import os
import signal
from types import FrameType

SERVE_OPTIONS = ("host", "port", "reload", "workers", "graceful_timeout")


def add_arguments(parser: argparse.ArgumentParser, *, default: bool = True) -> None:
    """The serving options; with ``default=False`` an option not given stays unset, so the
    top-level parser can tell ``convscope --port 9000 conv ...`` apart."""

    def d(value: object) -> object:
        return value if default else argparse.SUPPRESS

    parser.add_argument(
        "--host", default=d("127.0.0.1"), help="interface to bind (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=d(8000), help="port (default 8000)")
    parser.add_argument(
        "--reload", action="store_true", default=d(False), help="restart on code changes"
    )
    parser.add_argument("--workers", type=int, default=d(1), help="worker processes (default 1)")
    parser.add_argument(
        "--graceful-timeout",
        type=int,
        default=d(30),
        help="seconds a shutdown waits for requests in flight (default 30)",
    )


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve the web app and the API", description="Serve ConvScope."
    )
    add_arguments(parser)
    parser.set_defaults(run=run)


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    # One BLAS thread per worker process: requests run in parallel, and oversubscribed
    # BLAS threads spin instead of working. Set before the workers import numpy.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # On SIGTERM uvicorn finishes the requests in flight, then raises the signal again with
    # the handler it found: with this one a clean shutdown ends with status 0, not -15.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        reload=args.reload,
        workers=None if args.reload else args.workers,
        timeout_graceful_shutdown=args.graceful_timeout,
        access_log=False,  # app.middleware.AccessLog writes one structured line per request
    )
    return 0
