"""Serve an ASGI app on a real 127.0.0.1 socket for the length of a ``with`` block
(the CLI's own helper, which ``convscope train`` uses to stream locally)."""

from app.cli._common import serving

__all__ = ["serving"]
