"""Specific Character Set handling in Python: the codecs for the terms whose text the core keeps as raw
bytes, decoding that text when read, and the codec a data set's text is written in.

Below :mod:`petct.dataset` and the writer: it never imports :mod:`petct.dataset`.
"""

from __future__ import annotations

from typing import Any

from . import _native
from .valuerep import PersonName

_SINGLE_TEXT_VRS = _native.SINGLE_VALUED_TEXT_VRS

# Python codecs for Specific Character Set terms whose text the core keeps as raw bytes.
PY_CODECS = {
    "": "ascii",
    "ISO_IR 6": "ascii",
    "ISO 2022 IR 6": "ascii",
    "ISO_IR 100": "latin_1",
    "ISO 2022 IR 100": "latin_1",
    "ISO_IR 101": "iso8859_2",
    "ISO 2022 IR 101": "iso8859_2",
    "ISO_IR 109": "iso8859_3",
    "ISO 2022 IR 109": "iso8859_3",
    "ISO_IR 110": "iso8859_4",
    "ISO 2022 IR 110": "iso8859_4",
    "ISO_IR 144": "iso8859_5",
    "ISO 2022 IR 144": "iso8859_5",
    "ISO_IR 127": "iso8859_6",
    "ISO 2022 IR 127": "iso8859_6",
    "ISO_IR 126": "iso8859_7",
    "ISO 2022 IR 126": "iso8859_7",
    "ISO_IR 138": "iso8859_8",
    "ISO 2022 IR 138": "iso8859_8",
    "ISO_IR 148": "iso8859_9",
    "ISO 2022 IR 148": "iso8859_9",
    "ISO_IR 203": "iso8859_15",
    "ISO 2022 IR 203": "iso8859_15",
    "ISO_IR 166": "tis_620",
    "ISO 2022 IR 166": "tis_620",
    "ISO_IR 13": "shift_jis",
    "ISO 2022 IR 13": "shift_jis",
    "ISO 2022 IR 87": "iso2022_jp",
    "ISO 2022 IR 159": "iso2022_jp_2",
    "ISO 2022 IR 149": "euc_kr",
    "ISO 2022 IR 58": "gb2312",
    "ISO_IR 192": "utf_8",
    "GB18030": "gb18030",
    "GBK": "gbk",
}


def decode_raw_text(raw: bytes, charsets: list[str], vr: str) -> Any:
    """Best-effort decoding of text the core could not decode (rare character sets)."""
    text = None
    for term in [c for c in charsets if c] or [""]:
        codec = PY_CODECS.get(term.strip())
        if codec is None:
            continue
        try:
            text = raw.decode("iso2022_jp_2" if "2022" in term and len(charsets) > 1 else codec)
            break
        except (UnicodeDecodeError, LookupError):
            continue
    if text is None:
        text = raw.decode("latin_1")
    text = text.rstrip("\x00 ")
    if vr in _SINGLE_TEXT_VRS:
        return text
    values = text.split("\\")
    if vr == "PN":
        values = [PersonName(v) for v in values]
    return values[0] if len(values) == 1 else values


def codec_for(ds: Any) -> str:
    """The Python codec the text of ``ds`` is written in (its Specific Character Set; ASCII if none)."""
    cs = ds.get("SpecificCharacterSet", None)
    terms = [cs] if isinstance(cs, str) else list(cs or [])
    terms = [t.strip() for t in terms if t and t.strip()]
    if not terms:
        return "ascii"
    term = terms[-1] if len(terms) > 1 else terms[0]
    codec = PY_CODECS.get(term)
    if codec is None:
        raise ValueError(f"cannot write text in Specific Character Set {term!r}")
    return codec
