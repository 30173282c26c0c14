"""What the computing subcommands share when they run: where, and with which exit codes.

Imported by a command's ``run`` only, so parsing and ``--help`` stay light."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import httpx2

from app.cli._args import TIMES
from app.client import AsyncClient, Busy, ConvScopeError

LOCAL_URL = "http://convscope.local"  # never dialled: requests go to the in-process app
EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


def _local_app() -> Any:
    """The app itself, built in this process, with its access log silenced."""
    logging.getLogger("convscope.access").addHandler(logging.NullHandler())
    from app.main import create_app

    return create_app()


@asynccontextmanager
async def session(args: argparse.Namespace) -> AsyncIterator[AsyncClient]:
    if args.server:
        async with AsyncClient(args.server, timeout=args.timeout) as client:
            yield client
    else:
        transport = httpx2.ASGITransport(app=_local_app())
        async with AsyncClient(LOCAL_URL, transport=transport, retries=0) as client:
            yield client


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` on a free 127.0.0.1 port, uvicorn in a daemon thread; yields the base URL.
    For what must stream (training events): the in-process transport buffers answers."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the local server did not start within 20 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@asynccontextmanager
async def streaming_session(args: argparse.Namespace) -> AsyncIterator[AsyncClient]:
    """As ``session``, but locally the app listens on a loopback port so that a stream
    arrives event by event."""
    if args.server:
        async with session(args) as client:
            yield client
        return
    with serving(_local_app()) as url:
        async with AsyncClient(url, timeout=args.timeout, retries=0) as client:
            yield client


def execute(prog: str, work: Callable[[], Awaitable[None]]) -> int:
    """Run ``work``; print what went wrong as the API said it, and choose the exit code."""
    try:
        anyio.run(work)
    except Busy as exc:
        return fail(prog, exc.messages, EXIT_FAILURE)
    except ConvScopeError as exc:
        code = EXIT_BAD_INPUT if 400 <= exc.status < 500 else EXIT_FAILURE
        return fail(prog, exc.messages, code)
    except httpx2.TransportError as exc:
        return fail(prog, [f"cannot reach the server: {exc}"], EXIT_FAILURE)
    except (OSError, ValueError) as exc:  # an unreadable file or an unusable argument
        return fail(prog, [str(exc)], EXIT_BAD_INPUT)
    return 0


def fail(prog: str, messages: list[str], code: int = EXIT_BAD_INPUT) -> int:
    """Print each message as argparse prints a usage error; return the exit code."""
    for message in messages:
        print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def dims(shape: tuple[int, ...]) -> str:
    """(3, 32, 32) -> "3x32x32" (with the multiplication sign); one channel is HxW."""
    if len(shape) == 3 and shape[0] == 1:
        shape = shape[1:]
    return TIMES.join(str(n) for n in shape)
