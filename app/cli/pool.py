"""``convscope pool IMAGE --kernel-size 2 -o pooled.npy``."""

from __future__ import annotations

import argparse

from app.cli import _images
from app.cli._args import TIMES, value

DESCRIPTION = f"""\
Max or average pooling of each channel of an image, as PyTorch's max_pool2d/avg_pool2d;
save the output as .npy (float32, C{TIMES}H{TIMES}W) or .png (the first map). Without -o, print the
output's size and value range."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "pool",
        help="max or average pooling of an image",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _images.add_image_arguments(parser)
    parser.add_argument("--mode", default="max", help="max or avg (default max)")
    parser.add_argument(
        "--kernel-size", "--kernel", type=value, default=2, help="k or kh,kw (default 2)"
    )
    parser.add_argument("--stride", type=value, default=None, help="default: the kernel size")
    parser.add_argument("--padding", type=value, default=0, help="p or ph,pw (default 0)")
    parser.add_argument("--dilation", type=value, default=1, help="max pooling only (default 1)")
    parser.add_argument(
        "--ceil-mode", action=argparse.BooleanOptionalAction, default=False, help="round up"
    )
    parser.add_argument(
        "--count-include-pad",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="average pooling: count padded cells in the divisor (default yes)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from app.client import image_pool2d

    params = {
        "mode": args.mode,
        "kernel_size": args.kernel_size,
        "stride": args.stride,
        "padding": args.padding,
        "dilation": args.dilation,
        "ceil_mode": args.ceil_mode,
        "count_include_pad": args.count_include_pad,
    }
    return _images.run_image_command("convscope pool", args, image_pool2d, params)
