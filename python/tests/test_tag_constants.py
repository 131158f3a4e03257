"""One tag list: the Swift domain targets name tags through the generated constants
(Sources/DicomBytes/Tags.swift: `Tags.x` for the data dictionary, `PrivateTag.x` for the private elements
the core reads) and never type a tag number themselves."""

from __future__ import annotations

import re

from conftest import REPO

SOURCES = REPO / "Sources"
# The targets above the parser: pixels, codecs, series, SUV, pairing, masks and the C ABI layer.
DOMAIN = ("DicomPixels", "DicomCodecs", "PetctSeries", "PetctSUV", "PetctPairing", "PetctMasks", "PetctExport")
LITERAL = re.compile(r"\b0x([0-9A-Fa-f]{4})_?([0-9A-Fa-f]{4})\b")


def _generated_tags() -> set[int]:
    text = (SOURCES / "DicomBytes" / "Tags.swift").read_text()
    tags = {int(g + e, 16) for g, e in re.findall(r"UInt32 \{ 0x([0-9A-F]{4})_([0-9A-F]{4}) \}", text)}
    tags |= {int(g + e, 16) for g, e in re.findall(r"PrivateTag\(creator: \"[^\"]*\", tag: 0x(\w{4})_(\w{4})", text)}
    return tags


def test_generated_constants_cover_the_dictionary_and_the_private_elements_read():
    tags = _generated_tags()
    assert 0x00100010 in tags and 0x7FE00010 in tags  # PatientName, PixelData
    assert {0x70531000, 0x70531009, 0x0009100D} <= tags  # Philips SUV / activity factors, GE scan date-time


def test_domain_targets_type_no_tag_number():
    tags = _generated_tags()
    found = []
    for target in DOMAIN:
        for path in sorted((SOURCES / target).rglob("*.swift")):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("//", 1)[0]
                for g, e in LITERAL.findall(code):
                    if int(g + e, 16) in tags:
                        found.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert found == []


def test_no_hand_written_tag_enums_or_aliases():
    pattern = re.compile(r"typealias Tag\b|enum (SUVTag|MTag|TimingTag)\b|static let \w+: UInt32 = 0x[0-9A-F]{4}_")
    offenders = [
        str(p.relative_to(REPO))
        for target in DOMAIN
        for p in sorted((SOURCES / target).rglob("*.swift"))
        if pattern.search(p.read_text())
    ]
    assert offenders == []
