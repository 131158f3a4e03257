/// Decoding of text values under Specific Character Set (0008,0005), following pydicom 3.0.2's
/// behaviour (term -> codec mapping, spelling fixes, stand-alone sets, ISO 2022 escape sequences,
/// delimiters that reset the code element, replacement characters for undecodable bytes).
///
/// Supported: the default repertoire (decoded as ISO 8859-1, as pydicom does), ISO_IR 100, 101,
/// 109, 110, 126, 127, 138, 144, 148, 166, 203, ISO_IR 13 (JIS X 0201; double-byte Shift JIS as
/// Python's shift_jis), ISO_IR 192 (UTF-8), GB18030, GBK, and the ISO 2022 forms, single-byte and
/// multi-byte (ISO 2022 IR 87 / 159 JIS X 0208 / 0212, IR 149 KS X 1001, IR 58 GB 2312), combined
/// through escape sequences. Known differences from pydicom: ISO_IR 203 is decoded as ISO 8859-15
/// (pydicom 3.0.2 falls back to its default); ISO 2022 IR 58 fragments lose their escape sequence
/// (pydicom keeps it in the text); EUC-KR 8-byte Hangul make-up sequences are not composed.
public struct CharacterSetDecoder: Sendable {
    /// - Parameter specificCharacterSet: the values of (0008,0005) (empty = default repertoire).
    public init(specificCharacterSet: [String]) {
        terms = specificCharacterSet
        codecs = CharacterSetDecoder.codecs(for: specificCharacterSet)
    }
    let terms: [String]
    /// The codecs of the terms after pydicom's corrections; never empty, first = initial set.
    let codecs: [TextCodec]

    /// True when every term is supported, so `decode` never returns nil. All terms are (unknown
    /// terms fall back to the default repertoire, as in pydicom).
    public var isSupported: Bool { true }

    /// Decodes one text value (or a whole multi-valued text) of VR `vr` (two ASCII letters as in
    /// Element.vr). Returns nil when the bytes cannot be decoded with the declared sets (the caller
    /// then keeps the raw bytes); with all sets implemented this no longer happens: bytes invalid
    /// in the declared sets become U+FFFD, as pydicom does (it warns).
    public func decode(_ bytes: UnsafeRawBufferPointer, vr: UInt16) -> String? {
        var replaced = false
        return decode(bytes, vr: vr, replaced: &replaced)
    }

    /// As `decode(_:vr:)`; `replaced` is set to true when pydicom would warn: some bytes could not
    /// be decoded (replaced by U+FFFD) or an unknown/undeclared escape sequence was met.
    public func decode(_ bytes: UnsafeRawBufferPointer, vr: UInt16, replaced: inout Bool) -> String? {
        // Fast path: ASCII without escape sequences is the same in every supported set.
        var plain = true
        for b in bytes where b >= 0x80 || b == 0x1B { plain = false; break }
        if plain { return String(decoding: bytes, as: UTF8.self) }
        var out = TextOutput(capacity: bytes.count)
        guard decodeInto(bytes, vr: vr, &out) else { return nil }
        if out.replaced { replaced = true }
        return out.string()
    }

    /// As `decode(_:vr:replaced:)` but appends the UTF-8 text to `buffer` (no String is built).
    /// Returns false (and leaves `buffer` unchanged) when the bytes cannot be decoded.
    public func decode(
        _ bytes: UnsafeRawBufferPointer, vr: UInt16, appendingTo buffer: inout [UInt8],
        replaced: inout Bool
    ) -> Bool {
        var plain = true
        for b in bytes where b >= 0x80 || b == 0x1B { plain = false; break }
        if plain {
            buffer.append(contentsOf: bytes)
            return true
        }
        let start = buffer.count
        var out = TextOutput(capacity: 0)
        swap(&out.bytes, &buffer)
        let ok = decodeInto(bytes, vr: vr, &out)
        swap(&out.bytes, &buffer)
        if !ok {
            buffer.removeSubrange(start...)
            return false
        }
        if out.replaced { replaced = true }
        return true
    }

    func decodeInto(_ bytes: UnsafeRawBufferPointer, vr: UInt16, _ out: inout TextOutput) -> Bool {
        out.bytes.reserveCapacity(out.bytes.count &+ bytes.count &* 2 &+ 8)
        guard CharacterSetDecoder.customizableVRs.contains(vr) else {
            // pydicom reads all other text VRs with its default encoding (ISO 8859-1).
            for b in bytes { out.append(UInt32(b)) }
            return true
        }
        // pydicom 3.0.2 decodes PN like the other text VRs: the whole value at once, with CR, LF,
        // TAB and FF (not '\\', '^' or '=') resetting an escape sequence to the first set.
        return decodeValue(bytes, 0, bytes.count, delimiters: .text, &out)
    }

    // MARK: - internals

    /// VRs decoded with the specific character set (pydicom's CUSTOMIZABLE_CHARSET_VR):
    /// LO LT PN SH ST UC UT.
    static let customizableVRs: [UInt16] = [0x4F4C, 0x544C, 0x4E50, 0x4853, 0x5453, 0x4355, 0x5455]

    enum Delimiters {
        case text  // CR LF TAB FF
        @inline(__always) func contains(_ b: UInt8) -> Bool {
            switch self {
            case .text: return b == 0x0D || b == 0x0A || b == 0x09 || b == 0x0C
            }
        }
    }

    /// Decodes bytes[start..<end] (one value or PN component group). False when a multi-byte set
    /// that is not implemented would be needed.
    func decodeValue(
        _ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, delimiters: Delimiters,
        _ out: inout TextOutput
    ) -> Bool {
        let first = codecs[0]
        var i = start
        // Leading part without an escape sequence: the first set.
        var e = i
        while e < end && p[e] != 0x1B { e += 1 }
        if e > i {
            guard decodeRun(p, i, e, first, strict: false, escaped: false, &out) else { return false }
            i = e
        }
        // Fragments starting with ESC, each up to the next ESC.
        while i < end {
            var fragEnd = i + 1
            while fragEnd < end && p[fragEnd] != 0x1B { fragEnd += 1 }
            guard decodeEscapedFragment(p, i, fragEnd, delimiters: delimiters, &out) else { return false }
            i = fragEnd
        }
        return true
    }

    func decodeEscapedFragment(
        _ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, delimiters: Delimiters,
        _ out: inout TextOutput
    ) -> Bool {
        let first = codecs[0]
        let seqLength =
            (end - start >= 3 && p[start + 1] == 0x24 && (p[start + 2] == 0x28 || p[start + 2] == 0x29)) ? 4 : 3
        if let codec = TextCodec.forEscape(p, start, min(start + seqLength, end)),
            codec == .defaultASCII || codecs.contains(codec)
        {
            let bodyStart = start + seqLength
            let mark = out.mark
            if codec.keepsEscapeInPython {
                // pydicom hands the whole fragment to Python's ISO 2022 codec: no delimiter handling.
                if decodeRun(p, bodyStart, end, codec, strict: true, escaped: true, &out) { return true }
            } else {
                var d = bodyStart
                while d < end && !delimiters.contains(p[d]) { d += 1 }
                if decodeRun(p, bodyStart, d, codec, strict: true, escaped: true, &out),
                    decodeRun(p, d, end, first, strict: true, escaped: false, &out)
                {
                    return true
                }
            }
            // pydicom: the whole fragment (escape sequence included) with the first set, replacing.
            out.reset(to: mark)
            out.replaced = true
        } else {
            // Unknown or undeclared escape sequence: the whole fragment with the first set.
            out.replaced = true
        }
        return decodeRun(p, start, end, first, strict: false, escaped: false, &out)
    }

    /// Decodes bytes[start..<end] with one codec (`escaped`: right after this codec's escape
    /// sequence, which puts the ISO 2022 JIS codecs into double-byte mode). With `strict`, returns
    /// false on an undecodable byte (output then partially written; the caller resets). Without,
    /// each undecodable byte becomes U+FFFD (as Python's errors="replace").
    func decodeRun(
        _ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ codec: TextCodec, strict: Bool,
        escaped: Bool, _ out: inout TextOutput
    ) -> Bool {
        guard start < end else { return true }
        switch codec {
        case .defaultASCII, .latin1:
            for i in start..<end { out.append(UInt32(p[i])) }
            return true
        case .utf8:
            let slice = UnsafeRawBufferPointer(rebasing: p[start..<end])
            if let s = String(validating: slice, as: UTF8.self) {
                out.append(utf8Of: s)
                return true
            }
            if strict { return false }
            out.append(utf8Of: String(decoding: slice, as: UTF8.self))
            out.replaced = true
            return true
        default:
            break
        }
        let singleByte = codec.tableIndex.map { _ in SingleByteTables.shared.table } ?? []
        var i = start
        while i < end {
            let b = p[i]
            // (code point, bytes consumed); cp == nil: invalid, consume 1 (or `consumed` at the end)
            var cp: UInt32? = nil
            var consumed = 1
            switch codec {
            case .iso2022JP, .iso2022JP2:
                if !escaped {
                    if b < 0x80 { cp = UInt32(b) }
                } else if b < 0x20 {
                    cp = UInt32(b)
                } else if b >= 0x21 && b <= 0x7E && i + 1 < end && p[i + 1] >= 0x21 && p[i + 1] <= 0x7E {
                    let table = codec == .iso2022JP ? MultiByteTables.jisx0208 : MultiByteTables.jisx0212
                    cp = MultiByteTables.cell94(table, b, p[i + 1])
                    consumed = 2
                }
            case .eucKR, .isoIR58, .gb2312:
                if b < 0x80 {
                    cp = UInt32(b)
                } else if codec == .eucKR && b == 0xA4 && i + 1 < end && p[i + 1] == 0xD4 {
                    // KS X 1001 Annex 3 make-up sequence: A4D4 + initial + medial + final jamo
                    guard i + 8 <= end else {
                        // incomplete at the end: one replacement for the rest (as Python)
                        if strict { return false }
                        out.append(0xFFFD)
                        out.replaced = true
                        return true
                    }
                    cp = MultiByteTables.hangulMakeUp(p[i + 2], p[i + 3], p[i + 4], p[i + 5], p[i + 6], p[i + 7])
                    consumed = 8
                } else if b >= 0xA1 && b <= 0xFE && i + 1 < end && p[i + 1] >= 0xA1 && p[i + 1] <= 0xFE {
                    let table = codec == .eucKR ? MultiByteTables.ksx1001 : MultiByteTables.gb2312
                    cp = MultiByteTables.cell94(table, b & 0x7F, p[i + 1] & 0x7F)
                    consumed = 2
                }
            case .gbk, .gb18030:
                if b < 0x80 {
                    cp = UInt32(b)
                } else if b >= 0x81 && b <= 0xFE && i + 1 < end {
                    let t = p[i + 1]
                    if (t >= 0x40 && t <= 0x7E) || (t >= 0x80 && t <= 0xFE) {
                        let index = Int(b - 0x81) * 190 + Int(t >= 0x80 ? t - 0x41 : t - 0x40)
                        let v = (codec == .gbk ? MultiByteTables.gbk : MultiByteTables.gb18030)[index]
                        if v != 0xFFFD { cp = UInt32(v) }
                        consumed = 2
                    } else if codec == .gb18030 && t >= 0x30 && t <= 0x39 {
                        if i + 3 < end {
                            cp = MultiByteTables.gb18030FourByte(b, t, p[i + 2], p[i + 3])
                            consumed = 4
                        } else {
                            // incomplete four-byte sequence at the end: one replacement for the rest
                            if strict { return false }
                            out.append(0xFFFD)
                            out.replaced = true
                            return true
                        }
                    }
                }
            default:
                guard let base = codec.tableIndex else { return false }
                if b < 0x80 {
                    cp = UInt32(b)
                } else {
                    let v = singleByte[base &+ Int(b &- 0x80)]
                    if v < 0xFFFD {
                        cp = UInt32(v)
                    } else if v == 0xFFFE && i + 1 < end {
                        // Shift JIS double-byte character (ISO_IR 13 read as Python's shift_jis)
                        cp = MultiByteTables.shiftJIS(b, p[i + 1])
                        consumed = 2
                    }
                }
            }
            if let cp {
                out.append(cp)
                i += consumed
            } else {
                if strict { return false }
                out.append(0xFFFD)
                out.replaced = true
                i += 1
            }
        }
        return true
    }

    /// pydicom's convert_encodings: term -> codec, with spelling fixes, unknown -> default, and
    /// stand-alone sets (ISO_IR 192, GBK, GB18030) dropping or dropped from code extensions.
    static func codecs(for specificCharacterSet: [String]) -> [TextCodec] {
        var terms = specificCharacterSet.map { trimSpaces($0) }
        if terms.isEmpty { terms = ["ISO_IR 6"] }
        if terms[0].isEmpty { terms[0] = "ISO_IR 6" }
        var result = terms.map { TextCodec.forTerm($0) ?? TextCodec.forCorrectedTerm($0) }
        if terms.count > 1 {
            let standAlone = ["ISO_IR 192", "GBK", "GB18030"]
            if standAlone.contains(terms[0]) {
                result = [result[0]]
            } else {
                var kept = [result[0]]
                for i in 1..<terms.count where !standAlone.contains(terms[i]) { kept.append(result[i]) }
                result = kept
            }
        }
        return result
    }

    static func trimSpaces(_ s: String) -> String { String(s.trimmingPadding()) }
}

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
