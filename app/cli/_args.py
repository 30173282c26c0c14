"""Argument parsing the subcommands share. Only argparse here: ``convscope --help`` and
parsing import neither numpy nor the HTTP client nor the app."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

TIMES = "\N{MULTIPLICATION SIGN}"  # sizes are written CxHxW


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
        import numpy as np

        return np.load(text, allow_pickle=False)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
