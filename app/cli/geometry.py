"""``convscope geometry --input 224 --kernel 7 --stride 2 --padding 3``."""

from __future__ import annotations

import argparse
import json

from app.cli._args import add_server_argument, value

DESCRIPTION = """\
The output size of a convolution (or, with --transposed, a transposed one) and the
formula with these numbers, as the API's /api/v1/geometry computes them."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "geometry",
        help="output size and formula of a convolution",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--input",
        "--input-size",
        dest="input_size",
        type=value,
        required=True,
        help="n or h,w",
    )
    parser.add_argument(
        "--kernel",
        "--kernel-size",
        dest="kernel_size",
        type=value,
        required=True,
        help="k or kh,kw",
    )
    parser.add_argument("--stride", type=value, default=1, help="s or sh,sw (default 1)")
    parser.add_argument(
        "--padding", type=value, default=0, help="p, ph,pw, t,b,l,r, valid, same or full"
    )
    parser.add_argument("--dilation", type=value, default=1, help="d or dh,dw (default 1)")
    parser.add_argument("--transposed", action="store_true", help="a transposed convolution")
    parser.add_argument(
        "--output-padding", type=value, default=0, help="transposed only (default 0)"
    )
    parser.add_argument("--json", action="store_true", help="print the API's whole answer as JSON")
    add_server_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from app.cli._common import dims, execute, session
    from app.client import geometry

    call = geometry(
        args.input_size,
        args.kernel_size,
        stride=args.stride,
        padding=args.padding,
        dilation=args.dilation,
        transposed=args.transposed,
        output_padding=args.output_padding,
    )

    async def work() -> None:
        async with session(args) as client:
            result = await client.send(call)
        if args.json:
            print(json.dumps({"geometry": result.geometry}))
            return
        g = result.geometry
        print(f"input   {dims(tuple(g['input']))}")
        print(f"output  {dims(tuple(g['output']))}")
        print(
            f"padding top {g['padding'][0]}, bottom {g['padding'][1]}, "
            f"left {g['padding'][2]}, right {g['padding'][3]}"
        )
        for name, formula in result.formula.items():
            print(f"{name:<7} {formula}")

    return execute("convscope geometry", work)
