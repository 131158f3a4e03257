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
