// The codecs behind `CharacterSetDecoder` (CharacterSets.swift): the term and escape-sequence
// mapping, the single- and multi-byte tables, and the UTF-8 output buffer.

/// The codecs pydicom 3.0.2 maps the DICOM terms to. `defaultASCII` is pydicom's default encoding
/// ("iso8859", decoded as ISO 8859-1) and is distinct from `latin1` (ISO_IR 100) only for the
/// escape-sequence rules.
enum TextCodec: UInt8, Sendable, Equatable {
    case defaultASCII, latin1, utf8
    // single-byte tables (order = SingleByteTables.names)
    case latin2, latin3, latin4, cyrillic, arabic, greek, hebrew, latin5, thai, latin9, jisX0201
    // multi-byte sets
    case iso2022JP, iso2022JP2, eucKR, isoIR58, gb2312, gbk, gb18030

    /// Sets pydicom decodes with Python's ISO 2022 codecs on the whole escaped fragment (no
    /// delimiter handling after the escape sequence).
    var keepsEscapeInPython: Bool { self == .iso2022JP || self == .iso2022JP2 || self == .isoIR58 }

    var tableIndex: Int? {
        guard rawValue >= TextCodec.latin2.rawValue && rawValue <= TextCodec.jisX0201.rawValue else { return nil }
        return Int(rawValue - TextCodec.latin2.rawValue) * 128
    }

    static func forTerm(_ term: String) -> TextCodec? {
        switch term {
        case "", "ISO_IR 6", "ISO 2022 IR 6": return .defaultASCII
        case "ISO_IR 13", "ISO 2022 IR 13": return .jisX0201
        case "ISO_IR 100", "ISO 2022 IR 100": return .latin1
        case "ISO_IR 101", "ISO 2022 IR 101": return .latin2
        case "ISO_IR 109", "ISO 2022 IR 109": return .latin3
        case "ISO_IR 110", "ISO 2022 IR 110": return .latin4
        case "ISO_IR 126", "ISO 2022 IR 126": return .greek
        case "ISO_IR 127", "ISO 2022 IR 127": return .arabic
        case "ISO_IR 138", "ISO 2022 IR 138": return .hebrew
        case "ISO_IR 144", "ISO 2022 IR 144": return .cyrillic
        case "ISO_IR 148", "ISO 2022 IR 148": return .latin5
        case "ISO_IR 166", "ISO 2022 IR 166": return .thai
        // ISO 8859-15 (DICOM ISO_IR 203); pydicom 3.0.2 does not know it and falls back to default.
        case "ISO_IR 203", "ISO 2022 IR 203": return .latin9
        case "ISO_IR 192": return .utf8
        case "ISO 2022 IR 87": return .iso2022JP
        case "ISO 2022 IR 159": return .iso2022JP2
        case "ISO 2022 IR 149": return .eucKR
        case "ISO 2022 IR 58": return .isoIR58
        case "GB18030": return .gb18030
        case "ISO 2022 GBK", "GBK": return .gbk
        case "ISO 2022 58": return .gb2312
        default: return nil
        }
    }

    /// Common misspellings ("ISO IR 100", "ISO-IR 100", "ISO_2022-IR 100"), then a few Python codec
    /// names; anything else is the default set.
    static func forCorrectedTerm(_ term: String) -> TextCodec {
        let u = Array(term.utf8)
        func hasPrefix(_ s: String, at offset: Int = 0) -> Bool {
            let p = Array(s.utf8)
            return u.count >= offset + p.count && Array(u[offset..<(offset + p.count)]) == p
        }
        if u.count >= 6 && hasPrefix("ISO") && u[3] != 0x5F && hasPrefix("IR", at: 4) {
            return forTerm("ISO_IR" + String(decoding: u[6...], as: UTF8.self)) ?? .defaultASCII
        }
        if u.count >= 12 && hasPrefix("ISO") && hasPrefix("2022", at: 4) && hasPrefix("IR", at: 9)
            && !hasPrefix("ISO 2022 IR ")
        {
            return forTerm("ISO 2022 IR " + String(decoding: u[12...], as: UTF8.self)) ?? .defaultASCII
        }
        var name = ""
        for c in term.lowercased() { name.append(c == "-" || c == " " ? "_" : c) }
        switch name {
        case "utf_8", "utf8", "u8", "utf": return .utf8
        case "latin_1", "latin1", "iso8859_1", "iso_8859_1", "l1", "latin", "cp819", "8859": return .latin1
        case "iso8859": return .defaultASCII
        case "iso8859_2", "iso_8859_2", "latin2", "l2": return .latin2
        case "iso8859_3", "iso_8859_3", "latin3", "l3": return .latin3
        case "iso8859_4", "iso_8859_4", "latin4", "l4": return .latin4
        case "iso8859_5", "iso_8859_5", "cyrillic", "iso_ir_144": return .cyrillic
        case "iso8859_6", "iso_8859_6", "arabic", "iso_ir_127": return .arabic
        case "iso8859_7", "iso_8859_7", "greek", "greek8", "iso_ir_126": return .greek
        case "iso8859_8", "iso_8859_8", "hebrew", "iso_ir_138": return .hebrew
        case "iso8859_9", "iso_8859_9", "latin5", "l5", "iso_ir_148": return .latin5
        case "tis_620", "tis620", "iso_ir_166": return .thai
        case "iso8859_15", "iso_8859_15", "latin9", "l9": return .latin9
        case "shift_jis", "shiftjis", "sjis": return .jisX0201
        default: return .defaultASCII
        }
    }

    /// The codec selected by the escape sequence p[start..<end] (ESC included), nil when unknown.
    static func forEscape(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> TextCodec? {
        let n = end - start
        guard n >= 3 else { return nil }
        let a = p[start + 1], b = p[start + 2]
        if n == 3 {
            switch (a, b) {
            case (0x28, 0x42): return .defaultASCII  // ( B
            case (0x2D, 0x41): return .latin1  // - A
            case (0x29, 0x49): return .jisX0201  // ) I
            case (0x28, 0x4A): return .jisX0201  // ( J
            case (0x24, 0x42): return .iso2022JP  // $ B
            case (0x2D, 0x42): return .latin2  // - B
            case (0x2D, 0x43): return .latin3  // - C
            case (0x2D, 0x44): return .latin4  // - D
            case (0x2D, 0x46): return .greek  // - F
            case (0x2D, 0x47): return .arabic  // - G
            case (0x2D, 0x48): return .hebrew  // - H
            case (0x2D, 0x4C): return .cyrillic  // - L
            case (0x2D, 0x4D): return .latin5  // - M
            case (0x2D, 0x54): return .thai  // - T
            case (0x2D, 0x62): return .latin9  // - b (ISO 2022 IR 203)
            default: return nil
            }
        }
        guard n == 4 else { return nil }
        switch (a, b, p[start + 3]) {
        case (0x24, 0x29, 0x43): return .eucKR  // $ ) C
        case (0x24, 0x28, 0x44): return .iso2022JP2  // $ ( D
        case (0x24, 0x29, 0x41): return .isoIR58  // $ ) A
        default: return nil
        }
    }
}

/// The generated upper-half tables, parsed once (a `static let` is initialized lazily and atomically).
final class SingleByteTables: Sendable {
    static let shared = SingleByteTables()
    static let names = [
        "latin2", "latin3", "latin4", "cyrillic", "arabic", "greek", "hebrew", "latin5",
        "thai", "latin9", "jisx0201",
    ]
    /// 128 code points per set, in `names` order; 0xFFFD = undecodable, 0xFFFE = Shift JIS lead byte.
    let table: [UInt16]

    private init() {
        var table = [UInt16](repeating: 0xFFFD, count: SingleByteTables.names.count * 128)
        CharacterSetTables.text.withUTF8Buffer { p in
            var i = 0
            while i < p.count {
                var lineEnd = i
                while lineEnd < p.count && p[lineEnd] != 0x0A { lineEnd += 1 }
                var colon = i
                while colon < lineEnd && p[colon] != 0x3A { colon += 1 }
                let name = String(decoding: UnsafeBufferPointer(rebasing: p[i..<colon]), as: UTF8.self)
                if let set = SingleByteTables.names.firstIndex(of: name), lineEnd - colon - 1 == 128 * 4 {
                    for k in 0..<128 {
                        var v: UInt16 = 0
                        for j in 0..<4 {
                            let c = p[colon + 1 + 4 * k + j]
                            let d: UInt8 = c <= 0x39 ? c &- 0x30 : (c | 0x20) &- 0x61 &+ 10
                            v = (v << 4) | UInt16(d & 0xF)
                        }
                        table[set * 128 + k] = v
                    }
                }
                i = lineEnd + 1
            }
        }
        self.table = table
    }
}

/// UTF-8 output buffer.
struct TextOutput {
    var bytes: [UInt8] = []
    var replaced = false

    init(capacity: Int) { if capacity > 0 { bytes.reserveCapacity(capacity &* 2 &+ 8) } }

    var mark: Int { bytes.count }
    mutating func reset(to mark: Int) { bytes.removeSubrange(mark...) }

    @inline(__always)
    mutating func append(_ cp: UInt32) {
        if cp < 0x80 {
            bytes.append(UInt8(cp))
        } else if cp < 0x800 {
            bytes.append(UInt8(0xC0 | (cp >> 6)))
            bytes.append(UInt8(0x80 | (cp & 0x3F)))
        } else if cp < 0x10000 {
            bytes.append(UInt8(0xE0 | (cp >> 12)))
            bytes.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (cp & 0x3F)))
        } else {
            bytes.append(UInt8(0xF0 | ((cp >> 18) & 0x07)))
            bytes.append(UInt8(0x80 | ((cp >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (cp & 0x3F)))
        }
    }

    mutating func append(utf8Of s: String) { bytes.append(contentsOf: s.utf8) }

    func string() -> String { String(decoding: bytes, as: UTF8.self) }
}

/// The generated multi-byte tables, each parsed on first use.
enum MultiByteTables {
    static let jisx0208 = parseHex(CharacterSetTables.jisx0208)
    static let jisx0212 = parseHex(CharacterSetTables.jisx0212)
    static let ksx1001 = parseHex(CharacterSetTables.ksx1001)
    static let gb2312 = parseHex(CharacterSetTables.gb2312)
    static let gb18030 = parseHex(CharacterSetTables.gb18030)
    static let gbk: [UInt16] = {
        var t = gb18030
        let diff = parseHex(CharacterSetTables.gbkDiff)
        var k = 0
        while k + 1 < diff.count {
            let index = Int(diff[k])
            if index < t.count { t[index] = diff[k + 1] }
            k += 2
        }
        return t
    }()
    /// Pairs (linear index, first code point) of the GB18030 four-byte BMP runs.
    static let gb18030Ranges = parseHex(CharacterSetTables.gb18030Ranges)

    static func parseHex(_ s: StaticString) -> [UInt16] {
        s.withUTF8Buffer { p in
            var out = [UInt16]()
            out.reserveCapacity(p.count / 4)
            var k = 0
            while k + 4 <= p.count {
                var v: UInt16 = 0
                for j in 0..<4 {
                    let c = p[k + j]
                    let d: UInt8 = c <= 0x39 ? c &- 0x30 : (c | 0x20) &- 0x61 &+ 10
                    v = (v << 4) | UInt16(d & 0xF)
                }
                out.append(v)
                k += 4
            }
            return out
        }
    }

    /// Cell (row, col) of a 94x94 set, row and col in 0x21...0x7E; nil when undefined.
    @inline(__always)
    static func cell94(_ table: [UInt16], _ row: UInt8, _ col: UInt8) -> UInt32? {
        guard row >= 0x21 && row <= 0x7E && col >= 0x21 && col <= 0x7E else { return nil }
        let v = table[Int(row - 0x21) * 94 + Int(col - 0x21)]
        return v == 0xFFFD ? nil : UInt32(v)
    }

    /// Choseong (0..<30) and jongseong (30..<60) indices of the jamo 0xA4A1-0xA4BE, 0xFF = none.
    static let jamo: [UInt8] = CharacterSetTables.ksx1001Jamo.withUTF8Buffer { p in
        var out = [UInt8]()
        var k = 0
        while k + 2 <= p.count {
            var v: UInt8 = 0
            for j in 0..<2 {
                let c = p[k + j]
                v = (v << 4) | ((c <= 0x39 ? c &- 0x30 : (c | 0x20) &- 0x61 &+ 10) & 0xF)
            }
            out.append(v)
            k += 2
        }
        return out
    }

    /// The Hangul syllable of an EUC-KR make-up sequence A4D4 A4xx A4yy A4zz (the bytes after A4D4).
    static func hangulMakeUp(_ a1: UInt8, _ c1: UInt8, _ a2: UInt8, _ c2: UInt8, _ a3: UInt8, _ c3: UInt8) -> UInt32? {
        guard a1 == 0xA4, a2 == 0xA4, a3 == 0xA4, jamo.count == 60 else { return nil }
        guard c1 >= 0xA1 && c1 <= 0xBE, c2 >= 0xBF && c2 <= 0xD3 else { return nil }
        let cho = jamo[Int(c1 - 0xA1)]
        let jung = UInt32(c2 - 0xBF)
        var jong: UInt8 = 0
        if c3 != 0xD4 {
            guard c3 >= 0xA1 && c3 <= 0xBE else { return nil }
            jong = jamo[30 + Int(c3 - 0xA1)]
        }
        guard cho != 0xFF, jong != 0xFF else { return nil }
        return 0xAC00 + UInt32(cho) * 588 + jung * 28 + UInt32(jong)
    }

    /// A Shift JIS double-byte character through JIS X 0208; nil when invalid or undefined.
    static func shiftJIS(_ s1: UInt8, _ s2: UInt8) -> UInt32? {
        var row: Int
        switch s1 {
        case 0x81...0x9F: row = Int(s1 - 0x81) * 2
        case 0xE0...0xFC: row = Int(s1 - 0xC1) * 2
        default: return nil
        }
        let col: Int
        switch s2 {
        case 0x40...0x7E: col = Int(s2 - 0x40)
        case 0x80...0x9E: col = Int(s2 - 0x41)
        case 0x9F...0xFC: col = Int(s2 - 0x9F); row += 1
        default: return nil
        }
        guard row < 94 else { return nil }
        let v = jisx0208[row * 94 + col]
        return v == 0xFFFD ? nil : UInt32(v)
    }

    /// A GB18030 four-byte sequence (b1 0x81-0xFE, b2 0x30-0x39 checked by the caller).
    static func gb18030FourByte(_ b1: UInt8, _ b2: UInt8, _ b3: UInt8, _ b4: UInt8) -> UInt32? {
        guard b3 >= 0x81 && b3 <= 0xFE && b4 >= 0x30 && b4 <= 0x39 else { return nil }
        let tail = (Int(b2 - 0x30) * 126 + Int(b3 - 0x81)) * 10 + Int(b4 - 0x30)
        if b1 >= 0x90 {
            let cp = 0x10000 + Int(b1 - 0x90) * 12600 + tail
            return cp <= 0x10FFFF ? UInt32(cp) : nil
        }
        let index = Int(b1 - 0x81) * 12600 + tail
        guard index < 39420 else { return nil }
        // binary search for the last run starting at or before `index`
        let runs = gb18030Ranges
        var lo = 0, hi = runs.count / 2 - 1
        guard hi >= 0 else { return nil }
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if Int(runs[2 * mid]) <= index { lo = mid } else { hi = mid - 1 }
        }
        return UInt32(Int(runs[2 * lo + 1]) + index - Int(runs[2 * lo]))
    }
}
