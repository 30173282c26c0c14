"""The ``convscope`` command: serve the app with uvicorn."""

import argparse
import os
import signal
from types import FrameType

import uvicorn


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="convscope", description="Serve ConvScope.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--reload", action="store_true", help="restart on code changes")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--graceful-timeout",
        type=int,
        default=30,
        help="seconds a shutdown waits for requests in flight (default 30)",
    )
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    main()
