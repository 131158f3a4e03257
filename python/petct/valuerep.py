"""Number values that keep their DICOM text, as pydicom's: ``str(ds.SliceThickness)`` is the text in the
file ("3.000000"), the value is a float or int for arithmetic. Unlike pydicom, ``repr`` is unquoted
(``5.000000`` rather than ``'5.000000'``): these are numbers.

Each element's bytes are copied from the parsed file when its value is made (not the file: values
outlive their data set cheaply); they are split into texts when ``str()`` (or the writer) first asks,
and used only if every value of the element parses to exactly the number the core decoded.
"""

from __future__ import annotations

from typing import Any, Literal

from . import _native


def _parse_is(text: str) -> float:
    try:
        return int(text)
    except ValueError:
        return float(text)  # "1.0" is an IS pydicom accepts; ValueError for text that is no number


def checked_texts(encoded: bytes | None, vr: str, values: tuple) -> list[str] | None:
    """The text of each value in ``encoded`` (an element's bytes as in the file), or None unless there
    is one per value and each parses to exactly that value."""
    if not encoded:
        return None
    try:
        parts = encoded.decode("ascii").split("\\")
    except UnicodeDecodeError:
        return None
    if len(parts) != len(values):
        return None
    parse = float if vr == "DS" else _parse_is
    out = []
    try:
        for v, t in zip(values, parts):
            t = t.strip(" \x00")
            if not t or parse(t) != v:
                return None
            out.append(t)
    except ValueError:
        return None
    return out


class _ElementText:
    """One DS/IS element's bytes as in the file, split and checked the first time a value's text is
    wanted. Holds only those bytes, never the parsed file, so values outlive their data set cheaply."""

    __slots__ = ("encoded", "vr", "values", "texts")

    def __init__(self, encoded: bytes | None, vr: str, values: tuple) -> None:
        self.encoded, self.vr, self.values = encoded, vr, values
        self.texts: list[str] | None | Literal[False] = False

    def text(self, position: int) -> str | None:
        if self.texts is False:
            self.texts = checked_texts(self.encoded, self.vr, self.values)
            self.encoded = None
        return self.texts[position] if self.texts else None


class _KeepsText:
    """What DSfloat and IS share: the text they were read from, found when first asked for."""

    __slots__ = ()

    def _keep(self, original_string: str | None, source: _ElementText | None, position: int) -> None:
        # the slots are declared by the number subclasses (float / int layouts differ)
        self._text, self._source, self._position = original_string, source, position  # type: ignore[misc]

    @property
    def original_string(self) -> str | None:
        if self._source is not None:
            self._text = self._source.text(self._position)  # type: ignore[misc]
            self._source = None  # type: ignore[misc]
        return self._text

    def __str__(self) -> str:
        text = self.original_string
        return text if text is not None else self._number_repr()  # type: ignore[attr-defined]

    def __reduce__(self):
        return (type(self), (self._base(self), self.original_string))  # _base: the builtin number type


class DSfloat(_KeepsText, float):
    """A Decimal String value: a ``float`` whose ``str()`` is the text it was read from."""

    __slots__ = ("_text", "_source", "_position")

    def __new__(
        cls, value: Any, original_string: str | None = None, _source: _ElementText | None = None, _position: int = 0
    ) -> DSfloat:
        self = float.__new__(cls, value)
        self._keep(original_string, _source, _position)
        return self

    _base, _number_repr = float, float.__repr__

    def __repr__(self) -> str:
        # the text, unquoted: a list of them prints like pydicom's MultiValue ([0.661468, 0.661468])
        return str(self)


class IS(_KeepsText, int):
    """An Integer String value: an ``int`` whose ``str()`` is the text it was read from."""

    def __new__(
        cls, value: Any, original_string: str | None = None, _source: _ElementText | None = None, _position: int = 0
    ) -> IS:
        self = int.__new__(cls, value)
        self._keep(original_string, _source, _position)
        return self

    _base, _number_repr = int, int.__repr__
    __repr__ = int.__repr__


def with_text(value: Any, vr: str, handle: Any, index: int) -> Any:
    """``value`` (a number or list of numbers the core decoded from element ``index`` of the parsed file
    ``handle``) as DSfloat / IS that keep the element's encoded bytes for their text."""
    values = tuple(value) if type(value) is list else (value,)
    kind = float if vr == "DS" else int
    if not values or any(type(v) is not kind for v in values):
        return value
    source = _ElementText(_native.encoded_value(handle, index), vr, values)
    cls = DSfloat if vr == "DS" else IS
    out = [cls(v, None, source, k) for k, v in enumerate(values)]
    return out if type(value) is list else out[0]


class PersonName(str):
    """A PN value: the string as stored, plus its components (``family_name``, ``given_name``, ...)."""

    __slots__ = ()

    def _component(self, i: int) -> str:
        parts = self.split("=")[0].split("^")
        return parts[i] if i < len(parts) else ""

    @property
    def family_name(self) -> str:
        return self._component(0)

    @property
    def given_name(self) -> str:
        return self._component(1)

    @property
    def middle_name(self) -> str:
        return self._component(2)

    @property
    def name_prefix(self) -> str:
        return self._component(3)

    @property
    def name_suffix(self) -> str:
        return self._component(4)
