"""The API password as a value that cannot be printed by accident.

Textual's crash report shows every frame's local variables, and so do rich tracebacks, debuggers and
logging of reprs. A password held as ``str`` in any frame on the stack at the wrong moment would be
printed. Held as :class:`Secret`, it shows as ``Secret('***')`` everywhere; only :meth:`reveal`
gives the text, and the REST client calls it at the one place the password is sent.
"""

from __future__ import annotations

from typing import NoReturn

__all__ = ["Secret"]


class Secret:
    """A password: never in a repr, a str, a format or a pickle."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    @classmethod
    def of(cls, value: Secret | str | None) -> Secret:
        """``value`` as a Secret (a Secret as it is; None as an empty one)."""
        return value if isinstance(value, Secret) else cls(value or "")

    def reveal(self) -> str:
        """The password itself: for the request that sends it, and nothing else."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret is not pickled: it would write the password")
