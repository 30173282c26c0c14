"""``convscope conv IMAGE --kernel sobel_x --padding same -o edges.png``."""

from __future__ import annotations

import argparse

from app.cli import _images
from app.cli._args import TIMES, array_or_json, value

DESCRIPTION = f"""\
Convolve an image (cross-correlation, as PyTorch: the kernel is not flipped) and save
the output as .npy (float32, C{TIMES}H{TIMES}W) or .png (the first map, coloured as the app draws
it). Without -o, print the output's size and value range."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "conv",
        help="convolve an image with a kernel",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _images.add_image_arguments(parser)
    parser.add_argument(
        "--kernel",
        action="append",
        required=True,
        metavar="K",
        help="a preset name (repeat for several filters: --kernel sobel_x --kernel sobel_y), "
        "a .npy file, or a JSON array [[...]]",
    )
    parser.add_argument(
        "--bias", type=array_or_json, default=0.0, help="a number, or one per filter"
    )
    parser.add_argument("--stride", type=value, default=1, help="s or sh,sw (default 1)")
    parser.add_argument(
        "--padding",
        type=value,
        default=0,
        help="p, ph,pw, top,bottom,left,right, valid, same or full (default 0)",
    )
    parser.add_argument(
        "--padding-mode", default="zeros", help="zeros, reflect, replicate or circular"
    )
    parser.add_argument("--dilation", type=value, default=1, help="d or dh,dw (default 1)")
    parser.add_argument("--groups", type=value, default=1, help="for 4-D kernels (default 1)")
    parser.add_argument(
        "--channel-mode",
        default="depthwise",
        help="how a 2-D kernel meets several channels: depthwise (per channel) or sum",
    )
    parser.set_defaults(run=run)


def _kernel(given: list[str]) -> object:
    if len(given) == 1:
        return array_or_json(given[0])
    return given  # several preset names, one filter each


def run(args: argparse.Namespace) -> int:
    from app.client import image_conv2d

    params = {
        "kernel": _kernel(args.kernel),
        "bias": args.bias,
        "stride": args.stride,
        "padding": args.padding,
        "padding_mode": args.padding_mode,
        "dilation": args.dilation,
        "groups": args.groups,
        "channel_mode": args.channel_mode,
    }
    return _images.run_image_command("convscope conv", args, image_conv2d, params)
