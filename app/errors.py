"""The two client mistakes every layer may raise; plain exceptions, no HTTP here.

``app/api/errors.py`` turns them into responses: ``ParamError`` into a 422 naming the
field, ``LimitExceeded`` into a 413 whose message names the limit's variable.
"""

from __future__ import annotations


class ParamError(ValueError):
    """An invalid argument; ``field`` names it so the API can point at it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class LimitExceeded(Exception):
    """A request over a configured limit (see ``app.limits``).

    The message is the same on every path:
    ``"<field>: <what> (<value>) is over the limit of <limit> (set CONVSCOPE_<NAME> to
    change it)"``.
    """

    status_code = 413

    def __init__(
        self, field: str, what: str, value: int | float, limit: int | float, name: str
    ) -> None:
        self.field, self.what, self.value, self.limit, self.name = field, what, value, limit, name
        self.detail = (
            f"{field}: {what} ({value:,}) is over the limit of {limit:,} "
            f"(set CONVSCOPE_{name.upper()} to change it)"
        )
        super().__init__(self.detail)

    def at(self, field: str) -> LimitExceeded:
        """The same breach reported at another field path (e.g. inside ``params``)."""
        return LimitExceeded(field, self.what, self.value, self.limit, self.name)
