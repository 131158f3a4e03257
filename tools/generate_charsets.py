#!/usr/bin/env python3
"""Generate CharacterSetTables.swift: the upper halves (bytes 0x80-0xFF) of the single-byte
character sets used by DICOM Specific Character Set (0008,0005), taken from Python's codecs.

    python3 tools/generate_charsets.py            # write Sources/DicomParser/CharacterSetTables.swift
    python3 tools/generate_charsets.py --check    # exit 1 when the committed file differs

Table format: one line per set, `name:` followed by 128 code points as 4 upper-case hex digits
(byte 0x80 first). FFFD marks a byte the codec cannot decode; FFFE marks a Shift JIS lead byte
(first byte of a double-byte character, not decoded by the Swift side).
The lower halves (0x00-0x7F) are ASCII in all of these codecs (checked below).

Multi-byte tables (each its own string literal, FFFD = undefined):
  - jisx0208, jisx0212, ksx1001, gb2312: 94x94 cells (row-major, rows/cells 0x21-0x7E), 4 hex
    digits each, from iso2022_jp, iso2022_jp_2, euc_kr and gb2312.
  - gb18030: the two-byte area, lead 0x81-0xFE x trail 0x40-0x7E,0x80-0xFE (190 per lead).
  - gbkDiff: cells where gbk differs from gb18030: 4 hex digits cell index + 4 hex digits code point.
  - gb18030Ranges: the four-byte BMP area as runs: 4 hex digits linear index + 4 hex digits first
    code point; a run continues with consecutive code points up to the next run's index.
"""

import sys

from _generated import run

# Swift-side name -> Python codec (as pydicom 3.0.2 maps the DICOM terms; latin_1 is identity and
# needs no table; iso8859_15 is DICOM's ISO_IR 203, which pydicom 3.0.2 does not map).
SETS = [
    ("latin2", "iso8859_2"),  # ISO_IR 101
    ("latin3", "iso8859_3"),  # ISO_IR 109
    ("latin4", "iso8859_4"),  # ISO_IR 110
    ("cyrillic", "iso_ir_144"),  # ISO_IR 144 (iso8859_5)
    ("arabic", "iso_ir_127"),  # ISO_IR 127 (iso8859_6)
    ("greek", "iso_ir_126"),  # ISO_IR 126 (iso8859_7)
    ("hebrew", "iso_ir_138"),  # ISO_IR 138 (iso8859_8)
    ("latin5", "iso_ir_148"),  # ISO_IR 148 (iso8859_9)
    ("thai", "iso_ir_166"),  # ISO_IR 166 (tis_620)
    ("latin9", "iso8859_15"),  # ISO_IR 203
    ("jisx0201", "shift_jis"),  # ISO_IR 13 (single-byte part of shift_jis)
]

UNDEFINED = 0xFFFD
LEAD_BYTE = 0xFFFE


def _decodes(data, codec):
    try:
        return len(data.decode(codec)) == 1
    except UnicodeDecodeError:
        return False


def high_half(codec):
    out = []
    for b in range(0x80, 0x100):
        try:
            s = bytes([b]).decode(codec)
            if len(s) != 1 or ord(s) > 0xFFFF or ord(s) in (UNDEFINED, LEAD_BYTE):
                sys.exit(f"{codec}: unexpected decoding of {b:#x}: {s!r}")
            out.append(ord(s))
        except UnicodeDecodeError:
            if codec == "shift_jis":
                if any(_decodes(bytes([b, t]), codec) for t in range(0x40, 0x100)):
                    out.append(LEAD_BYTE)
                    continue
            out.append(UNDEFINED)
    return out


def cells94(codec, prefix, gr):
    out = []
    for r in range(0x21, 0x7F):
        for c in range(0x21, 0x7F):
            data = prefix + (bytes([r | 0x80, c | 0x80]) if gr else bytes([r, c]))
            try:
                ch = data.decode(codec)
            except UnicodeDecodeError:
                out.append(UNDEFINED)
                continue
            if len(ch) != 1 or ord(ch) > 0xFFFF or ord(ch) == UNDEFINED:
                sys.exit(f"{codec}: unexpected {data!r} -> {ch!r}")
            out.append(ord(ch))
    return out


GB_TRAILS = list(range(0x40, 0x7F)) + list(range(0x80, 0xFF))


def gb_two_byte(codec):
    out = []
    for lead in range(0x81, 0xFF):
        for trail in GB_TRAILS:
            try:
                ch = bytes([lead, trail]).decode(codec)
            except UnicodeDecodeError:
                out.append(UNDEFINED)
                continue
            if len(ch) != 1 or ord(ch) > 0xFFFF or ord(ch) == UNDEFINED:
                sys.exit(f"{codec}: unexpected {lead:#x} {trail:#x} -> {ch!r}")
            out.append(ord(ch))
    return out


def gb18030_ranges():
    runs = []
    prev = None
    for i in range(39420):
        b4, r = i % 10, i // 10
        b3, r = r % 126, r // 126
        b2, b1 = r % 10, r // 10
        cp = ord(bytes([b1 + 0x81, b2 + 0x30, b3 + 0x81, b4 + 0x30]).decode("gb18030"))
        if cp > 0xFFFF:
            sys.exit("gb18030: four-byte BMP area maps outside the BMP")
        if prev is None or cp != prev + 1:
            runs.append((i, cp))
        prev = cp
    # the supplementary area is linear: 90 30 81 30 -> U+10000 ... E3 32 9A 35 -> U+10FFFF
    if bytes([0x90, 0x30, 0x81, 0x30]).decode("gb18030") != "\U00010000":
        sys.exit("gb18030: unexpected supplementary mapping")
    if bytes([0xE3, 0x32, 0x9A, 0x35]).decode("gb18030") != "\U0010ffff":
        sys.exit("gb18030: unexpected supplementary mapping")
    return runs


def euckr_jamo():
    """Choseong and jongseong indices of the jamo 0xA4A1-0xA4BE in EUC-KR 8-byte make-up
    sequences (A4D4 + initial + medial + final), FF when not allowed in that position."""
    cho, jong = [], []
    for c in range(0xA1, 0xBF):
        for out, seq, pick in (
            (cho, [0xA4, 0xD4, 0xA4, c, 0xA4, 0xBF, 0xA4, 0xD4], lambda i: i // 588),
            (jong, [0xA4, 0xD4, 0xA4, 0xA1, 0xA4, 0xBF, 0xA4, c], lambda i: i % 28),
        ):
            try:
                ch = bytes(seq).decode("euc_kr")
                out.append(pick(ord(ch) - 0xAC00) if len(ch) == 1 and 0xAC00 <= ord(ch) <= 0xD7A3 else 0xFF)
            except UnicodeDecodeError:
                out.append(0xFF)
    # medial vowels 0xA4BF-0xA4D3 are consecutive jungseong 0-20 (checked)
    for k, c in enumerate(range(0xBF, 0xD4)):
        ch = bytes([0xA4, 0xD4, 0xA4, 0xA1, 0xA4, c, 0xA4, 0xD4]).decode("euc_kr")
        if ord(ch) != 0xAC00 + k * 28:
            sys.exit("euc_kr: unexpected jungseong order")
    return "".join(f"{v:02X}" for v in cho + jong)


def hexes(values):
    return "".join(f"{v:04X}" for v in values)


def build():
    lines = []
    for name, codec in SETS:
        for b in range(0x80):
            if bytes([b]).decode(codec) != chr(b):
                sys.exit(f"{codec}: byte {b:#x} is not ASCII")
        lines.append(name + ":" + "".join(f"{cp:04X}" for cp in high_half(codec)))
    multi = []

    def literal(name, text, doc):
        multi.append(f"    /// {doc}")
        multi.append(f'    static let {name}: StaticString = "{text}"')

    literal("jisx0208", hexes(cells94("iso2022_jp", b"\x1b$B", False)), "JIS X 0208 (ISO 2022 IR 87), 94x94.")
    literal("jisx0212", hexes(cells94("iso2022_jp_2", b"\x1b$(D", False)), "JIS X 0212 (ISO 2022 IR 159), 94x94.")
    literal("ksx1001", hexes(cells94("euc_kr", b"", True)), "KS X 1001 (ISO 2022 IR 149), 94x94.")
    literal(
        "ksx1001Jamo",
        euckr_jamo(),
        "EUC-KR make-up jamo 0xA4A1-0xA4BE: 30 choseong then 30 jongseong indices, FF = none.",
    )
    literal("gb2312", hexes(cells94("gb2312", b"", True)), "GB 2312 (ISO 2022 IR 58), 94x94.")
    gb18030 = gb_two_byte("gb18030")
    gbk = gb_two_byte("gbk")
    literal("gb18030", hexes(gb18030), "GB18030 two-byte area, 126 leads x 190 trails.")
    diff = [(i, g) for i, (a, g) in enumerate(zip(gb18030, gbk)) if a != g]
    literal(
        "gbkDiff", "".join(f"{i:04X}{g:04X}" for i, g in diff), "GBK cells differing from GB18030: index, code point."
    )
    literal(
        "gb18030Ranges",
        "".join(f"{i:04X}{cp:04X}" for i, cp in gb18030_ranges()),
        "GB18030 four-byte BMP runs: linear index, first code point.",
    )
    out = [
        "// GENERATED FILE - DO NOT EDIT.",
        "// Generated by tools/generate_charsets.py from Python's codecs.",
        "// One line per single-byte character set: `name:` + 128 code points (4 hex digits each) for",
        "// bytes 0x80-0xFF. FFFD = not decodable, FFFE = Shift JIS lead byte (double-byte, not decoded).",
        "",
        "enum CharacterSetTables {",
        f"    static let setCount = {len(lines)}",
        '    static let text: StaticString = """',
        *lines,
        '"""',
        "",
        "    // Multi-byte sets (see tools/generate_charsets.py for the layouts).",
        *multi,
        "}",
        "",
    ]
    return {"Sources/DicomParser/CharacterSetTables.swift": "\n".join(out)}


if __name__ == "__main__":
    sys.exit(run("Generate the Swift character set tables from Python's codecs.", build))
