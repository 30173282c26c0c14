"""Server-sent events from a run that works in a worker thread (``/learn``, ``/models/train``)."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from starlette.concurrency import iterate_in_threadpool


async def sse(
    first: dict[str, Any], rest: Iterator[dict[str, Any]], stop: threading.Event
) -> AsyncIterator[str]:
    """One ``data:`` event per pull from a worker thread, so the event loop stays free; a
    disconnect stops the pulls and sets ``stop``, which the run checks at every step."""
    try:
        yield f"data: {json.dumps(first)}\n\n"
        async for event in iterate_in_threadpool(rest):
            yield f"data: {json.dumps(event)}\n\n"
    finally:
        stop.set()
