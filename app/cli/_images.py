"""The image subcommands' shared options and their one way of running."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli._args import add_server_argument

if TYPE_CHECKING:
    import numpy as np

    from app.client import Call

OUTPUT_SUFFIXES = (".npy", ".png")


def add_image_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "image", nargs="?", help="PNG, JPEG, GIF, BMP or WebP file (or give --sample)"
    )
    parser.add_argument("--sample", help="a bundled sample image's name instead of a file")
    parser.add_argument("--color", default="gray", help="gray (1 channel) or rgb (3)")
    parser.add_argument(
        "--max-side",
        default=None,
        help="downscale the longest side to at most this (the server's default: 512)",
    )
    parser.add_argument(
        "-o", "--output", help="write the output to this .npy (float32) or .png file"
    )
    add_server_argument(parser)


def run_image_command(
    prog: str,
    args: argparse.Namespace,
    build: Callable[..., Call[np.ndarray]],
    params: dict[str, Any],
) -> int:
    import numpy as np

    from app.cli._common import dims, execute, fail, session
    from app.client import as_png

    out = Path(args.output) if args.output else None
    if out is not None and out.suffix.lower() not in OUTPUT_SUFFIXES:
        return fail(prog, [f"-o must name a .npy or .png file, got {args.output!r}"])
    call = build(args.image, sample=args.sample, color=args.color, max_side=args.max_side, **params)

    async def work() -> None:
        async with session(args) as client:
            if out is not None and out.suffix.lower() == ".png":
                png: bytes = await client.send(as_png(call))
                out.write_bytes(png)
                print(f"wrote {out}")
                return
            output = await client.send(call)
        if out is not None:
            np.save(out, output)
            print(f"wrote {out} (float32 {dims(output.shape)})")
        else:
            print(f"output {dims(output.shape)}, min {output.min():.6g}, max {output.max():.6g}")

    return execute(prog, work)
