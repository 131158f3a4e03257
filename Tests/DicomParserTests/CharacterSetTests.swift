import Testing

@testable import DicomParser

private let LO: UInt16 = 0x4F4C, PN: UInt16 = 0x4E50, SH: UInt16 = 0x4853, LT: UInt16 = 0x544C
private let CS: UInt16 = 0x5343, UT: UInt16 = 0x5455

private func dec(_ bytes: [UInt8], _ terms: [String], vr: UInt16 = PN) -> String? {
    bytes.withUnsafeBytes { CharacterSetDecoder(specificCharacterSet: terms).decode($0, vr: vr) }
}

private func decReplaced(_ bytes: [UInt8], _ terms: [String], vr: UInt16 = LO) -> (String?, Bool) {
    var replaced = false
    let s = bytes.withUnsafeBytes {
        CharacterSetDecoder(specificCharacterSet: terms).decode($0, vr: vr, replaced: &replaced)
    }
    return (s, replaced)
}

private func scalars(_ s: String?) -> [UInt32] { (s ?? "").unicodeScalars.map(\.value) }

@Test func asciiAndDefaultRepertoire() {
    #expect(dec(Array("Doe^John".utf8), []) == "Doe^John")
    #expect(dec(Array("Doe^John".utf8), ["ISO_IR 6"]) == "Doe^John")
    // pydicom decodes the default repertoire as ISO 8859-1
    #expect(dec([0x4A, 0xE9], []) == "J\u{E9}")
    #expect(dec([0x4A, 0xE9], ["ISO 2022 IR 6"]) == "J\u{E9}")
    #expect(CharacterSetDecoder(specificCharacterSet: []).isSupported)
}

@Test func latin1() {
    // chrFren.dcm / chrGerm.dcm
    #expect(
        dec([0x42, 0x75, 0x63, 0x5E, 0x4A, 0xE9, 0x72, 0xF4, 0x6D, 0x65], ["ISO_IR 100"]) == "Buc^J\u{E9}r\u{F4}me")
    #expect(
        dec([0xC4, 0x6E, 0x65, 0x61, 0x73, 0x5E, 0x52, 0xFC, 0x64, 0x69, 0x67, 0x65, 0x72], ["ISO_IR 100"])
            == "\u{C4}neas^R\u{FC}diger")
    #expect(dec([0xE9], ["ISO 2022 IR 100"]) == "\u{E9}")
}

@Test func utf8() {
    // chrX1.dcm: Wang^XiaoDong=王^小東
    let bytes: [UInt8] = Array("Wang^XiaoDong=".utf8) + [0xE7, 0x8E, 0x8B, 0x5E, 0xE5, 0xB0, 0x8F, 0xE6, 0x9D, 0xB1]
    #expect(dec(bytes, ["ISO_IR 192"]) == "Wang^XiaoDong=\u{738B}^\u{5C0F}\u{6771}")
    // stand-alone: further terms are ignored
    #expect(dec([0xE7, 0x8E, 0x8B], ["ISO_IR 192", "ISO 2022 IR 100"]) == "\u{738B}")
    // ISO_IR 192 as a code extension is dropped
    #expect(dec([0xE9], ["ISO 2022 IR 100", "ISO_IR 192"]) == "\u{E9}")
    #expect(CharacterSetDecoder(specificCharacterSet: ["ISO_IR 192"]).isSupported)
}

@Test func cyrillicGreekArabicHebrew() {
    // chrRuss.dcm: Люкceмбypг (mixed Cyrillic and Latin letters)
    #expect(
        dec([0xBB, 0xEE, 0xDA, 0x63, 0x65, 0xDC, 0xD1, 0x79, 0x70, 0xD3], ["ISO_IR 144"])
            == "\u{41B}\u{44E}\u{43A}ce\u{43C}\u{431}yp\u{433}")
    // chrGreek.dcm: Διονυσιος
    #expect(
        dec([0xC4, 0xE9, 0xEF, 0xED, 0xF5, 0xF3, 0xE9, 0xEF, 0xF2], ["ISO_IR 126"])
            == "\u{394}\u{3B9}\u{3BF}\u{3BD}\u{3C5}\u{3C3}\u{3B9}\u{3BF}\u{3C2}")
    // chrArab.dcm: قباني^لنزار
    #expect(
        dec([0xE2, 0xC8, 0xC7, 0xE6, 0xEA, 0x5E, 0xE4, 0xE6, 0xD2, 0xC7, 0xD1], ["ISO_IR 127"])
            == "\u{642}\u{628}\u{627}\u{646}\u{64A}^\u{644}\u{646}\u{632}\u{627}\u{631}")
    // chrHbrw.dcm: שרון^דבורה
    #expect(
        dec([0xF9, 0xF8, 0xE5, 0xEF, 0x5E, 0xE3, 0xE1, 0xE5, 0xF8, 0xE4], ["ISO_IR 138"])
            == "\u{5E9}\u{5E8}\u{5D5}\u{5DF}^\u{5D3}\u{5D1}\u{5D5}\u{5E8}\u{5D4}")
}

@Test func otherSingleByteSets() {
    #expect(dec([0xA1], ["ISO_IR 101"]) == "\u{104}")  // Ą
    #expect(dec([0xA1], ["ISO_IR 109"]) == "\u{126}")  // Ħ
    #expect(dec([0xA2], ["ISO_IR 110"]) == "\u{138}")  // ĸ
    #expect(dec([0xD0], ["ISO_IR 148"]) == "\u{11E}")  // Ğ
    #expect(dec([0xA1, 0xE0], ["ISO_IR 166"]) == "\u{E01}\u{E40}")  // ก เ
    #expect(dec([0xA4, 0xBD], ["ISO_IR 203"]) == "\u{20AC}\u{153}")  // € œ (ISO 8859-15)
    #expect(dec([0xB0, 0xEF], ["ISO 2022 IR 144"]) == "\u{410}\u{44F}")
    #expect(dec([0x80, 0x9F], ["ISO_IR 101"]) == "\u{80}\u{9F}")  // C1 controls pass through
    for term in [
        "ISO_IR 101", "ISO_IR 109", "ISO_IR 110", "ISO_IR 126", "ISO_IR 127", "ISO_IR 138",
        "ISO_IR 144", "ISO_IR 148", "ISO_IR 166", "ISO_IR 203", "ISO_IR 13", "ISO 2022 IR 126",
    ] {
        #expect(CharacterSetDecoder(specificCharacterSet: [term]).isSupported, "\(term)")
    }
}

@Test func jisX0201Katakana() {
    // chrH32.dcm, first component group: ﾔﾏﾀﾞ^ﾀﾛｳ
    let bytes: [UInt8] = [0xD4, 0xCF, 0xC0, 0xDE, 0x5E, 0xC0, 0xDB, 0xB3]
    let expected = "\u{FF94}\u{FF8F}\u{FF80}\u{FF9E}^\u{FF80}\u{FF9B}\u{FF73}"
    #expect(dec(bytes, ["ISO_IR 13"]) == expected)
    #expect(dec(bytes, ["ISO 2022 IR 13", "ISO 2022 IR 87"]) == expected)  // no escape needed
    #expect(dec([0xA1, 0xDF], ["ISO_IR 13"]) == "\u{FF61}\u{FF9F}")
    #expect(dec([0x5C, 0x7E], ["ISO_IR 13"], vr: LT) == "\\~")  // as Python's shift_jis
}

@Test func codeExtensionsSingleByte() {
    let ext = ["ISO 2022 IR 100", "ISO 2022 IR 144"]
    #expect(dec([0x1B, 0x2D, 0x4C, 0xBB, 0xEE, 0x1B, 0x2D, 0x41, 0xE9], ext) == "\u{41B}\u{44E}\u{E9}")
    #expect(dec([0xE9, 0x1B, 0x2D, 0x4C, 0xBB, 0xEE], ext) == "\u{E9}\u{41B}\u{44E}")
    // CR/LF reset to the first set; '^' does not (pydicom 3.0.2)
    let ext6 = ["ISO 2022 IR 6", "ISO 2022 IR 144"]
    #expect(dec([0x1B, 0x2D, 0x4C, 0xBB, 0x0D, 0x0A, 0xBB], ext6, vr: LT) == "\u{41B}\r\n\u{BB}")
    #expect(dec([0x1B, 0x2D, 0x4C, 0xBB, 0x5E, 0xBB], ext6) == "\u{41B}^\u{41B}")
    // ESC ( B (back to ASCII) is always allowed
    #expect(dec([0x1B, 0x2D, 0x4C, 0xBB, 0x1B, 0x28, 0x42, 0x41], ext6) == "\u{41B}A")
}

@Test func unknownEscapesAndInvalidBytes() {
    let ext6 = ["ISO 2022 IR 6", "ISO 2022 IR 144"]
    // unknown escape: the fragment is decoded with the first set, escape bytes included
    var r = decReplaced([0x61, 0x62, 0x1B, 0x2D, 0x5A, 0xE9], ext6)
    #expect(r.0 == "ab\u{1B}-Z\u{E9}" && r.1)
    // known escape for a set that was not declared: same
    r = decReplaced([0x61, 0x62, 0x1B, 0x2D, 0x46, 0xC4], ext6)
    #expect(r.0 == "ab\u{1B}-F\u{C4}" && r.1)
    // undecodable byte inside an escaped fragment: the whole fragment with the first set
    r = decReplaced([0x61, 0x62, 0x1B, 0x2D, 0x47, 0xA1, 0x78], ["ISO 2022 IR 100", "ISO 2022 IR 127"])
    #expect(r.0 == "ab\u{1B}-G\u{A1}x" && r.1)
    // undefined byte in a single-byte set -> U+FFFD
    r = decReplaced([0xA1, 0x78], ["ISO_IR 127"])
    #expect(r.0 == "\u{FFFD}x" && r.1)
    // invalid UTF-8 -> U+FFFD per maximal subpart (as Python)
    r = decReplaced([0x61, 0xC3, 0x28, 0x62], ["ISO_IR 192"])
    #expect(r.0 == "a\u{FFFD}(b" && r.1)
    #expect(scalars(dec([0xED, 0xA0, 0x80, 0x78], ["ISO_IR 192"])) == [0xFFFD, 0xFFFD, 0xFFFD, 0x78])
    #expect(scalars(dec([0xE2, 0x82], ["ISO_IR 192"])) == [0xFFFD])
    // ISO_IR 13: a Shift JIS lead byte without a valid trail byte is not decodable
    #expect(scalars(dec([0x81, 0x20, 0x41], ["ISO_IR 13"])) == [0xFFFD, 0x20, 0x41])
    #expect(scalars(dec([0x41, 0x81], ["ISO_IR 13"])) == [0x41, 0xFFFD])
    // valid input does not report a replacement
    r = decReplaced([0xE9], ["ISO_IR 100"])
    #expect(r.0 == "\u{E9}" && !r.1)
    // truncated escape sequence at the end never traps
    #expect(dec([0x41, 0x1B], ext6) == "A\u{1B}")
    #expect(dec([0x41, 0x1B, 0x24], ext6) == "A\u{1B}$")
    #expect(dec([0x1B], ["ISO_IR 100"]) == "\u{1B}")
}

@Test func termSpellingAndUnknownTerms() {
    #expect(dec([0xE9], ["ISO IR 100"]) == "\u{E9}")
    #expect(dec([0xC4], ["ISO-IR 126"]) == "\u{394}")
    #expect(dec([0xC4], ["ISO_2022-IR 126"]) == "\u{394}")
    #expect(dec([0xC4], ["FOO"]) == "\u{C4}")  // unknown -> default (Latin-1)
    #expect(dec([0xC3, 0xA9], ["utf-8"]) == "\u{E9}")  // Python codec name
    #expect(dec([0xC4], ["ISO_IR 126 "]) == "\u{394}")  // padding
}

@Test func nonCharsetVRsUseDefault() {
    // pydicom decodes CS, DA, UI, ... with its default encoding even under ISO_IR 192
    #expect(dec([0xC3, 0xA9], ["ISO_IR 192"], vr: CS) == "\u{C3}\u{A9}")
    #expect(dec([0xC3, 0xA9], ["ISO_IR 192"], vr: SH) == "\u{E9}")
    #expect(dec([0xC3, 0xA9], ["ISO_IR 192"], vr: UT) == "\u{E9}")
}

@Test func japaneseISO2022() {
    // chrH31.dcm: Yamada^Tarou=山田^太郎=やまだ^たろう
    let h31: [UInt8] =
        Array("Yamada^Tarou=".utf8)
        + [
            0x1B, 0x24, 0x42, 0x3B, 0x33, 0x45, 0x44, 0x1B, 0x28, 0x42, 0x5E, 0x1B, 0x24, 0x42, 0x42, 0x40, 0x4F, 0x3A,
            0x1B, 0x28, 0x42, 0x3D, 0x1B, 0x24, 0x42, 0x24, 0x64, 0x24, 0x5E, 0x24, 0x40, 0x1B, 0x28, 0x42, 0x5E,
            0x1B, 0x24, 0x42, 0x24, 0x3F, 0x24, 0x6D, 0x24, 0x26, 0x1B, 0x28, 0x42,
        ]
    let jp = ["", "ISO 2022 IR 87"]
    #expect(CharacterSetDecoder(specificCharacterSet: jp).isSupported)
    #expect(
        dec(h31, jp)
            == "Yamada^Tarou=\u{5C71}\u{7530}^\u{592A}\u{90CE}=\u{3084}\u{307E}\u{3060}^\u{305F}\u{308D}\u{3046}")
    // chrH32.dcm: ISO 2022 IR 13 katakana, then JIS X 0208 with ESC ( J back to JIS X 0201 Roman
    let h32: [UInt8] = [
        0xD4, 0xCF, 0xC0, 0xDE, 0x5E, 0xC0, 0xDB, 0xB3, 0x3D, 0x1B, 0x24, 0x42, 0x3B, 0x33, 0x45, 0x44,
        0x1B, 0x28, 0x4A, 0x5E, 0x1B, 0x24, 0x42, 0x42, 0x40, 0x4F, 0x3A, 0x1B, 0x28, 0x4A,
    ]
    #expect(
        dec(h32, ["ISO 2022 IR 13", "ISO 2022 IR 87"])
            == "\u{FF94}\u{FF8F}\u{FF80}\u{FF9E}^\u{FF80}\u{FF9B}\u{FF73}=\u{5C71}\u{7530}^\u{592A}\u{90CE}")
    // JIS X 0212 (ISO 2022 IR 159): row 0x30 cell 0x21 is U+4E02
    #expect(dec([0x1B, 0x24, 0x28, 0x44, 0x30, 0x21, 0x22, 0x2F], ["", "ISO 2022 IR 159"]) == "\u{4E02}\u{2D8}")
    // a JIS escape that was not declared falls back to the first set, escape included
    #expect(dec([0x1B, 0x24, 0x42, 0x3B, 0x33], ["", "ISO 2022 IR 159"]) == "\u{1B}$B;3")
    // an odd number of bytes in double-byte mode: the fragment falls back to the first set
    var replaced = false
    let odd: [UInt8] = [0x1B, 0x24, 0x42, 0x3B, 0x33, 0x45]
    let s = odd.withUnsafeBytes {
        CharacterSetDecoder(specificCharacterSet: jp).decode($0, vr: PN, replaced: &replaced)
    }
    #expect(s == "\u{1B}$B;3E" && replaced)
    // ISO_IR 13 read as Shift JIS (as pydicom): double-byte kanji and hiragana
    #expect(dec([0xD4, 0xCF, 0x88, 0x9F, 0x82, 0xA0], ["ISO_IR 13"]) == "\u{FF94}\u{FF8F}\u{4E9C}\u{3042}")
}

@Test func koreanISO2022() {
    // chrI2.dcm: Hong^Gildong=洪^吉洞=홍^길동
    let i2: [UInt8] =
        Array("Hong^Gildong=".utf8)
        + [
            0x1B, 0x24, 0x29, 0x43, 0xFB, 0xF3, 0x5E, 0x1B, 0x24, 0x29, 0x43, 0xD1, 0xCE, 0xD4, 0xD7, 0x3D,
            0x1B, 0x24, 0x29, 0x43, 0xC8, 0xAB, 0x5E, 0x1B, 0x24, 0x29, 0x43, 0xB1, 0xE6, 0xB5, 0xBF,
        ]
    let kr = ["", "ISO 2022 IR 149"]
    #expect(dec(i2, kr) == "Hong^Gildong=\u{6D2A}^\u{5409}\u{6D1E}=\u{D64D}^\u{AE38}\u{B3D9}")
    // chrKoreanMulti.dcm: 김희중
    #expect(dec([0x1B, 0x24, 0x29, 0x43, 0xB1, 0xE8, 0xC8, 0xF1, 0xC1, 0xDF], kr) == "\u{AE40}\u{D76C}\u{C911}")
    // a CR resets to the first set (pydicom splits the escaped fragment at the first delimiter)
    #expect(dec([0x1B, 0x24, 0x29, 0x43, 0xFB, 0xF3, 0x0D, 0xD1, 0xCE], kr, vr: LT) == "\u{6D2A}\r\u{D1}\u{CE}")
    // KS X 1001 Annex 3 make-up sequence (A4D4 + jamo): 가
    #expect(dec([0x1B, 0x24, 0x29, 0x43, 0xA4, 0xD4, 0xA4, 0xA1, 0xA4, 0xBF, 0xA4, 0xD4], kr) == "\u{AC00}")
}

@Test func chinese() {
    // chrX2.dcm: Wang^XiaoDong=王^小东 in GB18030
    let x2: [UInt8] = Array("Wang^XiaoDong=".utf8) + [0xCD, 0xF5, 0x5E, 0xD0, 0xA1, 0xB6, 0xAB]
    #expect(dec(x2, ["GB18030"]) == "Wang^XiaoDong=\u{738B}^\u{5C0F}\u{4E1C}")
    #expect(dec(x2, ["GBK"]) == "Wang^XiaoDong=\u{738B}^\u{5C0F}\u{4E1C}")
    // GB18030 four-byte sequences: BMP runs and the linear supplementary area
    #expect(
        scalars(dec([0x81, 0x30, 0x81, 0x30, 0x84, 0x31, 0xA4, 0x39, 0x95, 0x32, 0x82, 0x36], ["GB18030"]))
            == [0x80, 0xFFFF, 0x20000])
    #expect(scalars(dec([0x90, 0x30, 0x81, 0x30, 0xE3, 0x32, 0x9A, 0x35], ["GB18030"])) == [0x10000, 0x10FFFF])
    // GBK has no four-byte sequences; GB18030 maps a user-defined cell GBK lacks
    #expect(scalars(dec([0x81, 0x30, 0x81, 0x30], ["GBK"])) == [0xFFFD, 0x30, 0xFFFD, 0x30])
    #expect(scalars(dec([0xAA, 0xA1], ["GB18030"])) == [0xE000])
    #expect(scalars(dec([0xAA, 0xA1], ["GBK"])) == [0xFFFD, 0xFFFD])
    // an incomplete four-byte sequence at the end is one replacement
    #expect(scalars(dec([0x41, 0x97, 0x37, 0x7B], ["GB18030"])) == [0x41, 0xFFFD])
    // ISO 2022 IR 58 (GB 2312 in G1): the escape sequence is dropped (pydicom keeps it)
    #expect(
        dec([0x1B, 0x24, 0x29, 0x41, 0xCD, 0xF5, 0x5E, 0xD0, 0xA1], ["", "ISO 2022 IR 58"]) == "\u{738B}^\u{5C0F}")
}

@Test func appendingToBuffer() {
    let d = CharacterSetDecoder(specificCharacterSet: ["ISO_IR 144"])
    var buffer: [UInt8] = Array("x=".utf8)
    var replaced = false
    let ok1 = [UInt8]([0xBB, 0xEE, 0x41]).withUnsafeBytes {
        d.decode($0, vr: LO, appendingTo: &buffer, replaced: &replaced)
    }
    let ok2 = [UInt8]([0x5C, 0x42]).withUnsafeBytes { d.decode($0, vr: LO, appendingTo: &buffer, replaced: &replaced) }
    #expect(ok1 && ok2 && !replaced)
    #expect(String(decoding: buffer, as: UTF8.self) == "x=\u{41B}\u{44E}A\\B")
    // undecodable bytes (ISO 8859-5 has every high byte defined; ISO 8859-6 does not)
    let arabic = CharacterSetDecoder(specificCharacterSet: ["ISO_IR 127"])
    let ok3 = [UInt8]([0xA1]).withUnsafeBytes { arabic.decode($0, vr: SH, appendingTo: &buffer, replaced: &replaced) }
    #expect(ok3 && replaced)
    #expect(String(decoding: buffer, as: UTF8.self) == "x=\u{41B}\u{44E}A\\B\u{FFFD}")
}
