"""What the computing subcommands share: where they run, argument values, exit codes."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import numpy as np

from app.client import AsyncClient, Busy, ConvScopeError

LOCAL_URL = "http://convscope.local"  # never dialled: requests go to the in-process app
EXIT_BAD_INPUT = 2
TIMES = "\N{MULTIPLICATION SIGN}"  # sizes are written CxHxW
EXIT_FAILURE = 1


def add_server_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        metavar="URL",
        help="run on a ConvScope server (e.g. http://127.0.0.1:8000) instead of in this process",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds per request to --server (default 60)"
    )


def value(text: str) -> Any:
    """A hyperparameter as typed: ``2`` -> 2, ``2,1`` -> [2, 1], ``same`` -> "same".

    Anything else is passed on as given, so the API judges it and names the field.
    """
    parts = [p.strip() for p in text.split(",")]
    numbers: list[Any] = []
    for part in parts:
        try:
            numbers.append(int(part))
        except ValueError:
            try:
                numbers.append(float(part))
            except ValueError:
                return text
    return numbers[0] if len(numbers) == 1 else numbers


def array_or_json(text: str) -> Any:
    """A ``.npy`` file, or a JSON value (``[[1, 0], [0, -1]]``), or the text itself."""
    if text.endswith(".npy") and Path(text).is_file():
        return np.load(text, allow_pickle=False)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


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
