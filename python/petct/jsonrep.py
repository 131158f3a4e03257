"""The DICOM JSON model (PS3.18 F.2) of a data set: ``Dataset.to_json_dict`` / ``Dataset.to_json``.

It never imports :mod:`petct.dataset` (the data set and its items are used through their methods).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .uid import UID
from .valuerep import IS, DSfloat

__all__ = ["to_json_dict", "to_json"]

_BINARY_VRS = frozenset("OB OD OF OL OV OW UN".split())


def _json_value(vr: str, x: Any) -> Any:
    """One value in the DICOM JSON model: PN as its component groups, AT as hex, numbers as numbers."""
    if vr == "PN":
        groups = str(x).split("=")
        return {k: g for k, g in zip(("Alphabetic", "Ideographic", "Phonetic"), groups) if g}
    if vr == "AT":
        return f"{int(x):08X}"
    if isinstance(x, DSfloat):
        return float(x)
    if isinstance(x, IS):
        return int(x)
    if isinstance(x, UID):
        return str(x)
    return x


def to_json_dict(
    ds: Any, bulk_data_threshold: int = 1024, bulk_data_element_handler: Any = None, suppress_invalid_tags: bool = False
) -> dict[str, Any]:
    """The DICOM JSON model (PS3.18 F.2) of the data set ``ds``, as pydicom's ``to_json_dict``: binary
    values inline as base64, or ``BulkDataURI`` from ``bulk_data_element_handler(element)`` when
    longer than ``bulk_data_threshold`` bytes."""
    out: dict[str, Any] = {}
    for elem in ds:
        try:
            entry: dict[str, Any] = {"vr": elem.VR}
            v = elem.value
            if elem.VR == "SQ":
                entry["Value"] = [
                    item.to_json_dict(bulk_data_threshold, bulk_data_element_handler, suppress_invalid_tags)
                    for item in v or []
                ]
            elif elem.VR in _BINARY_VRS:
                if v is not None and len(v):
                    data = bytes(v) if not hasattr(v, "tobytes") else v.tobytes()
                    if bulk_data_element_handler is not None and len(data) > bulk_data_threshold:
                        entry["BulkDataURI"] = bulk_data_element_handler(elem)
                    else:
                        entry["InlineBinary"] = base64.b64encode(data).decode("ascii")
            elif v is not None and v != "" and v != []:
                values = v if isinstance(v, list) else [v]
                entry["Value"] = [_json_value(elem.VR, x) for x in values]
            out[f"{int(elem.tag):08X}"] = entry
        except Exception:
            if not suppress_invalid_tags:
                raise
    return out


def to_json(
    ds: Any,
    bulk_data_threshold: int = 1024,
    bulk_data_element_handler: Any = None,
    dump_handler: Any = None,
    suppress_invalid_tags: bool = False,
) -> str:
    """``to_json_dict`` as a JSON string (``dump_handler(dict)`` makes it, if given)."""
    d = ds.to_json_dict(bulk_data_threshold, bulk_data_element_handler, suppress_invalid_tags)
    return dump_handler(d) if dump_handler is not None else json.dumps(d, sort_keys=True)
