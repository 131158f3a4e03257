import DicomBytes

#if canImport(Glibc)
import Glibc
#endif

/// How a text VR's padding is removed (pydicom 3.0.2 values.py).
enum StripMode {
    case rstripWhole  // AS CS DA DT TM UI PN IS: trailing spaces/NULs of the whole value
    case rstripEach  // LO SH UC: trailing spaces/NULs of each value
    case stripEachWS  // AE: leading and trailing whitespace of each value
    case rstripSingle  // LT ST UT: single valued, trailing spaces/NULs
    case rstripSingleWS  // UR: single valued, trailing whitespace
    case dsStrip  // DS: whitespace both ends of the whole, then trailing spaces/NULs
    case pn  // PN: trailing spaces/NULs of the whole, then empty trailing '=' groups of each value
}

@inline(__always) func isPyWhitespace(_ c: UInt8) -> Bool {
    c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)
}
@inline(__always) func isSpaceOrNul(_ c: UInt8) -> Bool { c == 0x20 || c == 0 }

extension Parser {
    /// Appends the record of a non-sequence element with a defined length whose value is in bounds.
    mutating func appendValue(
        tag: UInt32, vr: UInt16, flags inFlags: ElementFlags, start: Int, length: Int,
        fileOffset: Int, be: Bool, decoder: CharacterSetDecoder
    ) {
        var flags = inFlags
        if length == 0 {
            elements.append(
                Element(tag: tag, vr: vr, kind: .empty, flags: flags, valueOffset: start, fileOffset: fileOffset))
            return
        }
        switch vr {
        case VRCode.US: appendInts(tag, vr, flags, start, length, fileOffset, size: 2, signed: false, be: be)
        case VRCode.SS: appendInts(tag, vr, flags, start, length, fileOffset, size: 2, signed: true, be: be)
        case VRCode.UL: appendInts(tag, vr, flags, start, length, fileOffset, size: 4, signed: false, be: be)
        case VRCode.SL: appendInts(tag, vr, flags, start, length, fileOffset, size: 4, signed: true, be: be)
        case VRCode.SV: appendInts(tag, vr, flags, start, length, fileOffset, size: 8, signed: true, be: be)
        case VRCode.UV: appendInts(tag, vr, flags, start, length, fileOffset, size: 8, signed: false, be: be)
        case VRCode.FL: appendFloats(tag, vr, flags, start, length, fileOffset, size: 4, be: be)
        case VRCode.FD: appendFloats(tag, vr, flags, start, length, fileOffset, size: 8, be: be)
        case VRCode.AT:
            let cnt = length / 4
            if cnt == 0 {
                elements.append(
                    Element(
                        tag: tag, vr: vr, kind: .bytes, flags: flags.union(.invalidValue), count: 1,
                        valueOffset: start, valueLength: length, fileOffset: fileOffset))
                return
            }
            let off = heap.count
            heap.append(contentsOf: repeatElement(0, count: cnt * 4))
            let src = p
            heap.withUnsafeMutableBytes { h in
                for i in 0..<cnt {
                    let o = start + i * 4
                    var g = src.loadUnaligned(fromByteOffset: o, as: UInt16.self)
                    var el = src.loadUnaligned(fromByteOffset: o + 2, as: UInt16.self)
                    if be { g = g.byteSwapped; el = el.byteSwapped }
                    let t = (UInt32(g) << 16) | UInt32(el)
                    h.storeBytes(of: t, toByteOffset: off + i * 4, as: UInt32.self)
                }
            }
            elements.append(
                Element(
                    tag: tag, vr: vr, kind: .tags, flags: flags, count: UInt32(cnt),
                    valueOffset: off, valueLength: cnt * 4, fileOffset: fileOffset))
        case VRCode.AE:
            appendText(tag, vr, &flags, start, length, fileOffset, mode: .stripEachWS, charset: false, decoder: decoder)
        case VRCode.AS, VRCode.CS, VRCode.DA, VRCode.DT, VRCode.TM, VRCode.UI:
            appendText(tag, vr, &flags, start, length, fileOffset, mode: .rstripWhole, charset: false, decoder: decoder)
        case VRCode.PN:
            appendText(tag, vr, &flags, start, length, fileOffset, mode: .pn, charset: true, decoder: decoder)
        case VRCode.LO, VRCode.SH, VRCode.UC:
            appendText(tag, vr, &flags, start, length, fileOffset, mode: .rstripEach, charset: true, decoder: decoder)
        case VRCode.LT, VRCode.ST, VRCode.UT:
            appendText(tag, vr, &flags, start, length, fileOffset, mode: .rstripSingle, charset: true, decoder: decoder)
        case VRCode.UR:
            appendText(
                tag, vr, &flags, start, length, fileOffset, mode: .rstripSingleWS, charset: false, decoder: decoder)
        case VRCode.DS:
            if !appendNumbers(tag, vr, flags, start, length, fileOffset, isInt: false) {
                appendText(tag, vr, &flags, start, length, fileOffset, mode: .dsStrip, charset: false, decoder: decoder)
                convertNumericText(isInt: false)
            }
        case VRCode.IS:
            if !appendNumbers(tag, vr, flags, start, length, fileOffset, isInt: true) {
                appendText(
                    tag, vr, &flags, start, length, fileOffset, mode: .rstripWhole, charset: false, decoder: decoder)
                convertNumericText(isInt: true)
            }
        default:
            elements.append(
                Element(
                    tag: tag, vr: vr, kind: .bytes, flags: flags, count: 1,
                    valueOffset: start, valueLength: length, fileOffset: fileOffset))
        }
    }

    /// A binary number value whose length is not a multiple of its size: kept as raw bytes, flagged.
    mutating func appendInvalidBinary(
        _ tag: UInt32, _ vr: UInt16, _ flags: ElementFlags, _ start: Int, _ length: Int,
        _ fileOffset: Int
    ) {
        elements.append(
            Element(
                tag: tag, vr: vr, kind: .bytes, flags: flags.union(.invalidValue), count: 1,
                valueOffset: start, valueLength: length, fileOffset: fileOffset))
    }

    mutating func appendInts(
        _ tag: UInt32, _ vr: UInt16, _ flags: ElementFlags, _ start: Int, _ length: Int,
        _ fileOffset: Int, size: Int, signed: Bool, be: Bool
    ) {
        guard length % size == 0 else {
            appendInvalidBinary(tag, vr, flags, start, length, fileOffset)
            return
        }
        let cnt = length / size
        let off = heap.count
        heap.append(contentsOf: repeatElement(0, count: cnt * 8))
        let src = p
        heap.withUnsafeMutableBytes { h in
            var o = start
            var w = off
            switch (size, signed) {
            case (2, false):
                for _ in 0..<cnt {
                    var v = src.loadUnaligned(fromByteOffset: o, as: UInt16.self); if be { v = v.byteSwapped }
                    h.storeBytes(of: Int64(v), toByteOffset: w, as: Int64.self); o += 2; w += 8
                }
            case (2, true):
                for _ in 0..<cnt {
                    var v = src.loadUnaligned(fromByteOffset: o, as: UInt16.self); if be { v = v.byteSwapped }
                    h.storeBytes(of: Int64(Int16(bitPattern: v)), toByteOffset: w, as: Int64.self); o += 2; w += 8
                }
            case (4, false):
                for _ in 0..<cnt {
                    var v = src.loadUnaligned(fromByteOffset: o, as: UInt32.self); if be { v = v.byteSwapped }
                    h.storeBytes(of: Int64(v), toByteOffset: w, as: Int64.self); o += 4; w += 8
                }
            case (4, true):
                for _ in 0..<cnt {
                    var v = src.loadUnaligned(fromByteOffset: o, as: UInt32.self); if be { v = v.byteSwapped }
                    h.storeBytes(of: Int64(Int32(bitPattern: v)), toByteOffset: w, as: Int64.self); o += 4; w += 8
                }
            default:
                for _ in 0..<cnt {
                    var v = src.loadUnaligned(fromByteOffset: o, as: UInt64.self); if be { v = v.byteSwapped }
                    h.storeBytes(of: v, toByteOffset: w, as: UInt64.self); o += 8; w += 8
                }
            }
        }
        let kind: ValueKind = (size == 8 && !signed) ? .uint : .int
        elements.append(
            Element(
                tag: tag, vr: vr, kind: kind, flags: flags, count: UInt32(truncatingIfNeeded: cnt),
                valueOffset: off, valueLength: cnt * 8, fileOffset: fileOffset))
    }

    mutating func appendFloats(
        _ tag: UInt32, _ vr: UInt16, _ flags: ElementFlags, _ start: Int, _ length: Int,
        _ fileOffset: Int, size: Int, be: Bool
    ) {
        guard length % size == 0 else {
            appendInvalidBinary(tag, vr, flags, start, length, fileOffset)
            return
        }
        let cnt = length / size
        let off = heap.count
        heap.append(contentsOf: repeatElement(0, count: cnt * 8))
        let src = p
        heap.withUnsafeMutableBytes { h in
            var o = start
            var w = off
            if size == 4 {
                for _ in 0..<cnt {
                    var v = src.loadUnaligned(fromByteOffset: o, as: UInt32.self); if be { v = v.byteSwapped }
                    h.storeBytes(of: Double(Float(bitPattern: v)), toByteOffset: w, as: Double.self); o += 4; w += 8
                }
            } else {
                for _ in 0..<cnt {
                    var v = src.loadUnaligned(fromByteOffset: o, as: UInt64.self); if be { v = v.byteSwapped }
                    h.storeBytes(of: Double(bitPattern: v), toByteOffset: w, as: Double.self); o += 8; w += 8
                }
            }
        }
        elements.append(
            Element(
                tag: tag, vr: vr, kind: .float, flags: flags, count: UInt32(truncatingIfNeeded: cnt),
                valueOffset: off, valueLength: cnt * 8, fileOffset: fileOffset))
    }

    /// Fast path of DS / IS: plain ASCII values that all parse are converted straight from the source.
    /// Returns false (nothing appended) when the general text path must handle the value.
    mutating func appendNumbers(
        _ tag: UInt32, _ vr: UInt16, _ flags: ElementFlags, _ start: Int, _ length: Int,
        _ fileOffset: Int, isInt: Bool
    ) -> Bool {
        let v = UnsafeRawBufferPointer(rebasing: p[start..<(start + length)])
        var a = 0, b = v.count
        if !isInt { while a < b && isPyWhitespace(v[a]) { a += 1 }; while b > a && isPyWhitespace(v[b - 1]) { b -= 1 } }
        while b > a && isSpaceOrNul(v[b - 1]) { b -= 1 }
        if a == b { return false }
        let off = heap.count
        var cnt = 0
        var s = a
        while true {
            var t = s
            while t < b && v[t] != 0x5C { t += 1 }
            let one = UnsafeRawBufferPointer(rebasing: v[s..<t])
            if isInt {
                guard let i = parsePyInt(one) else { heap.removeLast(heap.count - off); return false }
                withUnsafeBytes(of: i) { heap.append(contentsOf: $0) }
            } else {
                guard let d = parsePyFloat(one) else { heap.removeLast(heap.count - off); return false }
                withUnsafeBytes(of: d) { heap.append(contentsOf: $0) }
            }
            cnt += 1
            if t >= b { break }
            s = t + 1
        }
        elements.append(
            Element(
                tag: tag, vr: vr, kind: isInt ? .int : .float, flags: flags,
                count: UInt32(truncatingIfNeeded: cnt), valueOffset: off, valueLength: cnt * 8,
                fileOffset: fileOffset))
        return true
    }

    /// Decodes a text value into the heap (UTF-8), strips it and appends its record.
    mutating func appendText(
        _ tag: UInt32, _ vr: UInt16, _ flags: inout ElementFlags, _ start: Int, _ length: Int,
        _ fileOffset: Int, mode: StripMode, charset: Bool, decoder: CharacterSetDecoder
    ) {
        let bytes = UnsafeRawBufferPointer(rebasing: p[start..<(start + length)])
        // Scan: plain ASCII (and no ISO 2022 escape) copies straight through.
        var ascii = true
        var backslashes = 0
        for b in bytes {
            if b >= 0x80 || b == 0x1B { ascii = false; break }
            if b == 0x5C { backslashes += 1 }
        }
        let raw = charset && !decodeCharset
        if ascii
            && (backslashes == 0 || mode == .rstripWhole || mode == .rstripSingle || mode == .rstripSingleWS
                || mode == .dsStrip)
        {
            // Single pass: trim in the source, copy once.
            var a = 0, b = bytes.count
            switch mode {
            case .rstripWhole, .rstripSingle, .rstripEach:
                while b > a && isSpaceOrNul(bytes[b - 1]) { b -= 1 }
            case .rstripSingleWS:
                while b > a && isPyWhitespace(bytes[b - 1]) { b -= 1 }
            case .stripEachWS:
                while a < b && isPyWhitespace(bytes[a]) { a += 1 }
                while b > a && isPyWhitespace(bytes[b - 1]) { b -= 1 }
            case .dsStrip:
                while a < b && isPyWhitespace(bytes[a]) { a += 1 }
                while b > a && isPyWhitespace(bytes[b - 1]) { b -= 1 }
                while b > a && isSpaceOrNul(bytes[b - 1]) { b -= 1 }
            case .pn:
                while b > a && isSpaceOrNul(bytes[b - 1]) { b -= 1 }
                while b > a && bytes[b - 1] == 0x3D { b -= 1 }
            }
            if a == b {
                elements.append(
                    Element(tag: tag, vr: vr, kind: .empty, flags: flags, valueOffset: start, fileOffset: fileOffset))
                return
            }
            var count: UInt32 = 1
            if mode != .rstripSingle && mode != .rstripSingleWS && backslashes > 0 {
                count = 0
                for i in a..<b where bytes[i] == 0x5C { count += 1 }
                count += 1
            }
            let off = heap.count
            heap.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[a..<b]))
            elements.append(
                Element(
                    tag: tag, vr: vr, kind: raw ? .rawText : .text, flags: flags, count: count,
                    valueOffset: off, valueLength: b - a, fileOffset: fileOffset))
            return
        }
        let off = heap.count
        var kind: ValueKind = .text
        if raw {
            heap.append(contentsOf: bytes)
            kind = .rawText
        } else if ascii {
            heap.append(contentsOf: bytes)
        } else if charset {
            if let s = decoder.decode(bytes, vr: vr) {
                heap.append(contentsOf: s.utf8)
            } else {
                heap.append(contentsOf: bytes)
                kind = .rawText
            }
        } else {
            // Non-charset VRs are read as ISO 8859-1 by pydicom.
            for b in bytes {
                if b < 0x80 { heap.append(b) } else { heap.append(0xC0 | (b >> 6)); heap.append(0x80 | (b & 0x3F)) }
            }
        }
        let count = stripInPlace(from: off, mode: mode)
        let len = heap.count - off
        if len == 0 {
            elements.append(
                Element(tag: tag, vr: vr, kind: .empty, flags: flags, valueOffset: start, fileOffset: fileOffset))
            return
        }
        elements.append(
            Element(
                tag: tag, vr: vr, kind: kind, flags: flags, count: count,
                valueOffset: off, valueLength: len, fileOffset: fileOffset))
    }

    /// Strips heap[from...] in place by `mode`; returns the number of values.
    mutating func stripInPlace(from off: Int, mode: StripMode) -> UInt32 {
        var end = heap.count
        let fullEnd = end
        var newEnd = end
        var count: UInt32 = 1
        heap.withUnsafeMutableBufferPointer { h in
            switch mode {
            case .rstripWhole, .rstripSingle, .dsStrip:
                var s = off
                if mode == .dsStrip {
                    while s < newEnd && isPyWhitespace(h[s]) { s += 1 };
                    while newEnd > s && isPyWhitespace(h[newEnd - 1]) { newEnd -= 1 }
                }
                while newEnd > s && isSpaceOrNul(h[newEnd - 1]) { newEnd -= 1 }
                if s > off {
                    var w = off
                    for r in s..<newEnd { h[w] = h[r]; w += 1 }
                    newEnd = w
                }
                if mode != .rstripSingle {
                    for i in off..<newEnd where h[i] == 0x5C { count += 1 }
                }
            case .rstripSingleWS:
                while newEnd > off && isPyWhitespace(h[newEnd - 1]) { newEnd -= 1 }
            case .rstripEach, .stripEachWS, .pn:
                if mode == .pn {
                    while end > off && isSpaceOrNul(h[end - 1]) { end -= 1 }
                }
                var w = off
                var s = off
                while true {
                    var e = s
                    while e < end && h[e] != 0x5C { e += 1 }
                    var a = s, b = e
                    if mode == .stripEachWS {
                        while a < b && isPyWhitespace(h[a]) { a += 1 }
                        while b > a && isPyWhitespace(h[b - 1]) { b -= 1 }
                    } else if mode == .pn {
                        while b > a && h[b - 1] == 0x3D { b -= 1 }
                    } else {
                        while b > a && isSpaceOrNul(h[b - 1]) { b -= 1 }
                    }
                    for r in a..<b { h[w] = h[r]; w += 1 }
                    if e >= end { break }
                    h[w] = 0x5C; w += 1
                    count += 1
                    s = e + 1
                }
                newEnd = w
            }
        }
        if newEnd < fullEnd { heap.removeLast(fullEnd - newEnd) }
        if newEnd == off { return 0 }
        return count
    }

    /// Turns the last appended `.text` record (DS or IS) into `.float` / `.int` when every value
    /// parses as pydicom's DSfloat / IS would; otherwise marks it invalid.
    mutating func convertNumericText(isInt: Bool) {
        let idx = elements.count - 1
        let e = elements[idx]
        guard e.kind == .text else { return }
        scratchD.removeAll(keepingCapacity: true)
        scratchI.removeAll(keepingCapacity: true)
        var ok = true
        heap.withUnsafeBytes { h in
            var s = e.valueOffset
            let end = e.valueOffset + e.valueLength
            while true {
                var t = s
                while t < end && h[t] != 0x5C { t += 1 }
                let v = UnsafeRawBufferPointer(rebasing: h[s..<t])
                if isInt {
                    if let i = parsePyInt(v) { scratchI.append(i) } else { ok = false; return }
                } else {
                    if let d = parsePyFloat(v) { scratchD.append(d) } else { ok = false; return }
                }
                if t >= end { break }
                s = t + 1
            }
        }
        guard ok else {
            elements[idx].flags.insert(.invalidValue)
            return
        }
        heap.removeLast(heap.count - e.valueOffset)
        let cnt = isInt ? scratchI.count : scratchD.count
        if isInt {
            scratchI.withUnsafeBytes { heap.append(contentsOf: $0) }
        } else {
            scratchD.withUnsafeBytes { heap.append(contentsOf: $0) }
        }
        elements[idx].kind = isInt ? .int : .float
        elements[idx].count = UInt32(truncatingIfNeeded: cnt)
        elements[idx].valueLength = cnt * 8
    }
}

/// Python `float()` syntax (surrounding whitespace, sign, decimal digits, exponent, inf/nan), parsed
/// with correct rounding by strtod.
func parsePyFloat(_ v: UnsafeRawBufferPointer) -> Double? {
    var a = 0, b = v.count
    while a < b && isPyWhitespace(v[a]) { a += 1 }
    while b > a && isPyWhitespace(v[b - 1]) { b -= 1 }
    guard a < b, b - a <= 512 else { return nil }
    // Validate the grammar first so strtod's extensions (hex, nan(...)) are not accepted.
    var i = a
    if v[i] == 0x2B || v[i] == 0x2D { i += 1 }
    guard i < b else { return nil }
    let c0 = v[i] | 0x20
    if c0 == 0x69 || c0 == 0x6E {  // inf / infinity / nan
        var word: [UInt8] = []
        for k in i..<b { word.append(v[k] | 0x20) }
        let sign: Double = v[a] == 0x2D ? -1 : 1
        if word == Array("inf".utf8) || word == Array("infinity".utf8) { return sign * Double.infinity }
        if word == Array("nan".utf8) { return Double.nan }
        return nil
    }
    var digits = 0
    while i < b && v[i] >= 0x30 && v[i] <= 0x39 { i += 1; digits += 1 }
    if i < b && v[i] == 0x2E {
        i += 1
        while i < b && v[i] >= 0x30 && v[i] <= 0x39 { i += 1; digits += 1 }
    }
    guard digits > 0 else { return nil }
    if i < b && (v[i] | 0x20) == 0x65 {
        i += 1
        if i < b && (v[i] == 0x2B || v[i] == 0x2D) { i += 1 }
        var ed = 0
        while i < b && v[i] >= 0x30 && v[i] <= 0x39 { i += 1; ed += 1 }
        guard ed > 0 else { return nil }
    }
    guard i == b else { return nil }
    if let d = fastDecimal(v, a, b) { return d }
    let n = b - a
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf -> Double? in
        for k in 0..<n { buf[k] = CChar(bitPattern: v[a + k]) }
        buf[n] = 0
        return strtod(buf.baseAddress!, nil)
    }
}

/// pydicom's IS: an integer, or a float with an integral value.
func parsePyInt(_ v: UnsafeRawBufferPointer) -> Int64? {
    var a = 0, b = v.count
    while a < b && isPyWhitespace(v[a]) { a += 1 }
    while b > a && isPyWhitespace(v[b - 1]) { b -= 1 }
    guard a < b else { return nil }
    var i = a
    var neg = false
    if v[i] == 0x2B || v[i] == 0x2D { neg = v[i] == 0x2D; i += 1 }
    if i < b {
        var acc: Int64 = 0
        var okInt = true
        var k = i
        while k < b {
            let c = v[k]
            guard c >= 0x30 && c <= 0x39 else { okInt = false; break }
            let (m, o1) = acc.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(c - 0x30))
            if o1 || o2 { okInt = false; break }
            acc = s
            k += 1
        }
        if okInt { return neg ? -acc : acc }
    }
    guard let d = parsePyFloat(v), d.isFinite, d == d.rounded(), abs(d) < 9.2e18 else { return nil }
    return Int64(d)
}

private let exactPowersOf10: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
    1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]

/// Exactly rounded conversion of a validated decimal with at most 15 significant digits and a small
/// exponent: the mantissa and the power of ten are exact doubles, so one multiplication or division
/// rounds correctly. Returns nil when the input needs the general algorithm.
@inline(__always) func fastDecimal(_ v: UnsafeRawBufferPointer, _ a: Int, _ b: Int) -> Double? {
    var i = a
    var neg = false
    if v[i] == 0x2B || v[i] == 0x2D { neg = v[i] == 0x2D; i += 1 }
    var m: UInt64 = 0
    var digits = 0
    var scale = 0
    var seenDot = false
    while i < b {
        let c = v[i]
        if c >= 0x30 && c <= 0x39 {
            if digits > 0 || c != 0x30 { digits += 1 }
            if digits > 15 { return nil }
            m = m &* 10 &+ UInt64(c - 0x30)
            if seenDot { scale -= 1 }
        } else if c == 0x2E {
            seenDot = true
        } else {
            break
        }
        i += 1
    }
    if i < b {
        // exponent: validated already as [eE][+-]?digits
        i += 1
        var eneg = false
        if v[i] == 0x2B || v[i] == 0x2D { eneg = v[i] == 0x2D; i += 1 }
        var e = 0
        while i < b {
            e = e * 10 + Int(v[i] - 0x30)
            if e > 400 { return nil }
            i += 1
        }
        scale += eneg ? -e : e
    }
    var d = Double(m)
    if m == 0 { return neg ? -0.0 : 0.0 }
    if scale < 0 {
        guard scale >= -22 else { return nil }
        d /= exactPowersOf10[-scale]
    } else if scale > 0 {
        guard scale <= 22 else { return nil }
        d *= exactPowersOf10[scale]
    }
    return neg ? -d : d
}
