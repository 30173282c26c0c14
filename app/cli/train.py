"""``convscope train --epochs 3 -o weights.npz``: train the digits architecture."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli._args import add_server_argument, value

DESCRIPTION = """\
Train the digits model's architecture (on the server with --server, else in this
process), as POST /api/v1/models/train does: a progress bar on stderr, then the held-out
accuracy on stdout, and with -o the weights as .npz (torch state_dict keys; use them with
`convscope predict --weights`). --dataset is "digits" (8,000 MNIST digits) or a JSON file
{"classes": [...], "examples": [{"label": ..., "input": 28x28 values in [0, 1]}, ...]}."""

BAR = 30


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the digits network and save its weights",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", default="digits", help='"digits" or a JSON file')
    parser.add_argument("--epochs", type=value, default=3, help="default 3")
    parser.add_argument("--batch-size", type=value, default=32, help="default 32")
    parser.add_argument(
        "--learning-rate",
        type=value,
        default=None,
        help="default: the optimizer's own, as the server sets it",
    )
    parser.add_argument("--optimizer", default="adam", help="adam or sgd (default adam)")
    parser.add_argument("--momentum", type=value, default=0.9, help="sgd only (default 0.9)")
    parser.add_argument("--seed", type=value, default=0, help="default 0")
    parser.add_argument(
        "--init", default="random", help="random, or digits: retrain the last layer only"
    )
    parser.add_argument("--widths", type=value, default=[8, 8, 16, 16], help="default 8,8,16,16")
    parser.add_argument("--every", type=value, default=10, help="steps between updates (10)")
    parser.add_argument("-o", "--output", metavar="NPZ", help="write the weights here (.npz)")
    add_server_argument(parser)
    parser.set_defaults(run=run)


def _bar(event: dict[str, Any], steps: int) -> str:
    done = min(event["step"] / max(steps, 1), 1.0)
    filled = round(done * BAR)
    return (
        f"\repoch {event['epoch']}  [{'#' * filled}{'.' * (BAR - filled)}] {done * 100:3.0f} %"
        f"  loss {event['loss']:.4f}"
    )


def run(args: argparse.Namespace) -> int:
    from app.cli._common import execute, fail, streaming_session
    from app.client import train_body

    if args.output is not None and not args.output.endswith(".npz"):
        return fail("convscope train", [f"-o: the weights are an .npz file, got {args.output}"])

    async def work() -> None:
        import base64
        import json
        from pathlib import Path

        dataset: Any = args.dataset
        if dataset != "digits":
            dataset = json.loads(Path(dataset).read_text())
        body = train_body(
            dataset,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            optimizer=args.optimizer,
            momentum=args.momentum,
            seed=args.seed,
            init=args.init,
            widths=args.widths,
            every=args.every,
        )
        steps, done = 1, None
        async with streaming_session(args) as client:
            async for event in client.stream("/api/v1/models/train", body):
                if event["type"] == "start":
                    steps = event["steps"]
                elif event["type"] == "progress":
                    print(_bar(event, steps), end="", file=sys.stderr, flush=True)
                elif event["type"] == "done":
                    done = event
        print(file=sys.stderr)
        if done is None:
            raise ValueError("the training stream ended before its result")
        print(
            f"test accuracy {done['test_accuracy'] * 100:.2f} % on {done['test_size']} "
            f"held-out examples ({done['reason']}, {done['epoch']} epochs, {done['step']} steps)"
        )
        if args.output:
            Path(args.output).write_bytes(base64.b64decode(done["weights"]))
            print(f"weights written to {args.output}")

    return execute("convscope train", work)
