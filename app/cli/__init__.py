"""The ``convscope`` command: serve the app, or run one operation from the shell.

``convscope`` alone (or with ``--host``/``--port``...) serves, as ``convscope serve``
does. The other subcommands compute locally (the app runs in this process, so the
validation, limits and messages are the API's own) or, with ``--server URL``, on a
running server.
"""

from __future__ import annotations

import argparse
import sys

from app.cli import conv, geometry, pool, predict, serve, train

EPILOG = """\
exit status: 0 done, 2 bad input (the API's message is printed), 1 any other failure
(server busy after retries, unreachable, or a server error).

run `convscope COMMAND --help` for a command's options."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convscope",
        description="Serve ConvScope (the default), or run one operation from the shell.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_arguments(parser, default=False)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in (serve, conv, pool, geometry, predict, train):
        command.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:  # no subcommand: serve, with the top-level options or the defaults
        defaults = build_parser().parse_args(["serve"])
        args = argparse.Namespace(**(vars(defaults) | vars(args)))
        run = serve.run
    elif run is not serve.run:
        given = [f"--{n.replace('_', '-')}" for n in serve.SERVE_OPTIONS if n in vars(args)]
        if given:
            parser.error(f"{', '.join(given)}: serving options; use them with `convscope serve`")
    sys.exit(run(args))


if __name__ == "__main__":
    main()
