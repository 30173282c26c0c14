"""``convscope predict digit.png``: the digits model's most probable classes."""

from __future__ import annotations

import argparse

from app.cli._args import add_server_argument

DESCRIPTION = """\
Classify a handwritten digit with the shipped model (or your --weights from `convscope
train`): print the most probable classes with their probabilities. IMAGE is a picture
(PNG, JPEG...; the server crops, scales and centres it as MNIST was, dark ink on light
paper or the reverse) or a .npy of 28x28 values in [0, 1], white on black."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="classify a handwritten digit",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("image", metavar="IMAGE", help="an image file, or a 28x28 .npy")
    parser.add_argument("--top", type=int, default=3, help="how many classes to print (3)")
    parser.add_argument("--weights", metavar="NPZ", help="your weights (.npz from train)")
    parser.add_argument(
        "--classes", help="their class names, comma-separated, as in training (default: 0, 1, ...)"
    )
    parser.add_argument(
        "--preprocess",
        metavar="WAY",
        help="how the server turns a picture into 28x28: digit (MNIST-style, the default) or "
        "fit (the whole picture, aspect kept, no centring); the server judges the name",
    )
    add_server_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from app.cli._common import execute, fail, session
    from app.client import models_describe, models_predict

    if args.top < 1:
        return fail("convscope predict", [f"--top must be at least 1, got {args.top}"])
    classes = None if args.classes is None else [c.strip() for c in args.classes.split(",")]
    if args.preprocess is not None and args.image.endswith(".npy"):
        return fail("convscope predict", ["--preprocess is for a picture; a .npy is 28x28 already"])

    async def work() -> None:
        import numpy as np

        if args.image.endswith(".npy"):
            call = models_predict(
                np.load(args.image, allow_pickle=False), weights=args.weights, classes=classes
            )
        else:
            call = models_predict(
                image=args.image,
                weights=args.weights,
                classes=classes,
                preprocess=args.preprocess,
            )
        async with session(args) as client:
            result = await client.send(call)
            names = classes
            if names is None and args.weights is None:
                names = (await client.send(models_describe()))["classes"]
        for name, probability in result.top(args.top, names):
            print(f"{name:<12} {probability * 100:6.2f} %")

    return execute("convscope predict", work)
