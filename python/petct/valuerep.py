"""Number values that keep their DICOM text, as pydicom's: ``str(ds.SliceThickness)`` is the text in the
file ("3.000000"), the value is a float or int for arithmetic. Unlike pydicom, ``repr`` is unquoted
(``5.000000`` rather than ``'5.000000'``): these are numbers."""
from __future__ import annotations

from typing import Any


class DSfloat(float):
    """A Decimal String value: a ``float`` whose ``str()`` is the text it was read from."""

    def __new__(cls, value: Any, original_string: str | None = None) -> "DSfloat":
        self = super().__new__(cls, value)
        self.original_string = original_string
        return self

    def __str__(self) -> str:
        return self.original_string if self.original_string is not None else float.__repr__(self)

    def __repr__(self) -> str:
        # the text, unquoted: a list of them prints like pydicom's MultiValue ([0.661468, 0.661468])
        return str(self)

    def __reduce__(self):
        return (type(self), (float(self), self.original_string))


class IS(int):
    """An Integer String value: an ``int`` whose ``str()`` is the text it was read from."""

    def __new__(cls, value: Any, original_string: str | None = None) -> "IS":
        self = super().__new__(cls, value)
        self.original_string = original_string
        return self

    def __str__(self) -> str:
        return self.original_string if self.original_string is not None else int.__repr__(self)

    def __repr__(self) -> str:
        return int.__repr__(self)

    def __reduce__(self):
        return (type(self), (int(self), self.original_string))


def _same_number(text: str, value: Any, vr: str) -> bool:
    try:
        if vr == "IS":
            try:
                return int(text) == value
            except ValueError:
                return float(text) == value
        return float(text) == value
    except ValueError:
        return False


def with_text(value: Any, vr: str, encoded: bytes | None) -> Any:
    """``value`` (a number or list of numbers the core decoded from ``encoded``) as DSfloat / IS keeping
    each value's text; unchanged unless every value's text parses to exactly that value."""
    if not encoded:
        return value
    values = value if isinstance(value, list) else [value]
    kind, cls = (float, DSfloat) if vr == "DS" else (int, IS)
    if not all(type(v) is kind for v in values):
        return value
    try:
        texts = encoded.decode("ascii").rstrip("\x00 ").split("\\")
    except UnicodeDecodeError:
        return value
    texts = [t.strip(" \x00") for t in texts]
    if len(texts) != len(values) or not all(_same_number(t, v, vr) for t, v in zip(texts, values)):
        return value
    out = [cls(v, t) for v, t in zip(values, texts)]
    return out if isinstance(value, list) else out[0]
