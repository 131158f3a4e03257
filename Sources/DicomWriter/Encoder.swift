import DicomBytes
import DicomDictionary
import DicomParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Encodes element records into Explicit VR Little Endian bytes: headers, values per VR (numbers,
/// DS / IS text, bytes, text), sequences and items with defined lengths, encapsulated pixel data.
struct Encoder {
    let elements: UnsafeBufferPointer<WriteElement>
    let heap: UnsafeRawBufferPointer
    var out: [UInt8] = []

    init(elements: UnsafeBufferPointer<WriteElement>, heap: UnsafeRawBufferPointer) {
        self.elements = elements
        self.heap = heap
    }

    static let maxDepth = 64

    @inline(__always) mutating func le16(_ v: UInt16) {
        out.append(UInt8(truncatingIfNeeded: v)); out.append(UInt8(truncatingIfNeeded: v >> 8))
    }
    @inline(__always) mutating func le32(_ v: UInt32) {
        le16(UInt16(truncatingIfNeeded: v)); le16(UInt16(truncatingIfNeeded: v >> 16))
    }
    @inline(__always) mutating func le64(_ v: UInt64) {
        le32(UInt32(truncatingIfNeeded: v)); le32(UInt32(truncatingIfNeeded: v >> 32))
    }

    /// Writes tag, VR and a length field; returns the offset of the length field (for patching).
    @discardableResult
    mutating func header(_ tag: UInt32, _ vr: UInt16, length: UInt32) -> Int {
        le16(UInt16(truncatingIfNeeded: tag >> 16)); le16(UInt16(truncatingIfNeeded: tag))
        le16(vr)
        if VRCode.hasLongLength(vr) {
            le16(0)
            let at = out.count
            le32(length)
            return at
        }
        let at = out.count
        le16(UInt16(truncatingIfNeeded: length))
        return at
    }

    mutating func patch(at offset: Int, vr: UInt16, length: Int, tag: UInt32) throws(DicomError) {
        if VRCode.hasLongLength(vr) || vr == 0 {
            guard length < 0xFFFF_FFFF else { throw DicomError(.argument, "value longer than 4 GiB", tag: tag) }
            let v = UInt32(length)
            out[offset] = UInt8(truncatingIfNeeded: v); out[offset + 1] = UInt8(truncatingIfNeeded: v >> 8)
            out[offset + 2] = UInt8(truncatingIfNeeded: v >> 16); out[offset + 3] = UInt8(truncatingIfNeeded: v >> 24)
        } else {
            guard length <= 0xFFFF else {
                throw DicomError(
                    .argument, "value of \(length) bytes does not fit VR \(VRCode.string(vr)) (at most 65534 bytes)",
                    tag: tag)
            }
            out[offset] = UInt8(truncatingIfNeeded: length); out[offset + 1] = UInt8(truncatingIfNeeded: length >> 8)
        }
    }

    /// A text element from ready bytes (file meta).
    mutating func textElement(_ tag: UInt32, _ vr: UInt16, _ bytes: [UInt8]) {
        let padded = bytes.count % 2 == 1
        header(tag, vr, length: UInt32(bytes.count + (padded ? 1 : 0)))
        out += bytes
        if padded { out.append(vr == VRCode.UI ? 0 : 0x20) }
    }

    func heapBytes(_ e: WriteElement) throws(DicomError) -> UnsafeRawBufferPointer {
        guard e.valueOffset >= 0, e.valueLength >= 0, e.valueOffset <= heap.count,
            e.valueLength <= heap.count - e.valueOffset
        else {
            throw DicomError(
                .argument, "value range \(e.valueOffset)+\(e.valueLength) outside the heap of \(heap.count) bytes",
                tag: e.tag)
        }
        if e.valueLength == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: heap[e.valueOffset..<(e.valueOffset + e.valueLength)])
    }

    /// Indices of the direct children in [start, end), sorted by tag (stable), duplicates rejected.
    func children(_ start: Int, _ end: Int) throws(DicomError) -> [Int] {
        var out: [Int] = []
        var i = start
        while i < end {
            out.append(i)
            let d = Int(elements[i].descendants)
            guard d <= end - i - 1 else {
                throw DicomError(
                    .argument, "record \(i) claims \(d) descendants past the end of its parent",
                    tag: elements[i].tag)
            }
            i += 1 + d
        }
        var sorted = true
        for k in out.indices.dropFirst() where elements[out[k - 1]].tag >= elements[out[k]].tag {
            sorted = false; break
        }
        if !sorted {
            out = out.enumerated().sorted { a, b in
                let ta = elements[a.element].tag, tb = elements[b.element].tag
                return ta != tb ? ta < tb : a.offset < b.offset
            }.map { $0.element }
            for k in out.indices.dropFirst() where elements[out[k - 1]].tag == elements[out[k]].tag {
                throw DicomError(
                    .argument, "element \(formatTag(elements[out[k]].tag)) appears twice in one data set",
                    tag: elements[out[k]].tag)
            }
        }
        return out
    }

    mutating func element(_ i: Int, depth: Int) throws(DicomError) {
        let e = elements[i]
        guard e.kind != .item else {
            throw DicomError(.argument, "item record outside a sequence (record \(i))", tag: e.tag)
        }
        if e.kind == .sequence || e.vr == VRCode.SQ {
            guard depth < Encoder.maxDepth else { throw DicomError(.argument, "sequences nested too deep", tag: e.tag) }
            let end = i + 1 + Int(e.descendants)
            let lengthAt = header(e.tag, VRCode.SQ, length: 0)
            let start = out.count
            var j = i + 1
            while j < end {
                let item = elements[j]
                guard item.kind == .item else {
                    throw DicomError(.argument, "sequence record \(i) holds a non-item record \(j)", tag: e.tag)
                }
                let itemEnd = j + 1 + Int(item.descendants)
                guard itemEnd <= end else {
                    throw DicomError(.argument, "item record \(j) runs past its sequence", tag: e.tag)
                }
                le32(0xE000_FFFE)  // (FFFE,E000) little endian: group then element
                let itemLengthAt = out.count
                le32(0)
                let itemStart = out.count
                for c in try children(j + 1, itemEnd) { try element(c, depth: depth + 1) }
                try patch(at: itemLengthAt, vr: 0, length: out.count - itemStart, tag: e.tag)
                j = itemEnd
            }
            try patch(at: lengthAt, vr: VRCode.SQ, length: out.count - start, tag: e.tag)
            return
        }
        guard VRCode.isKnown(e.vr) else {
            throw DicomError(.argument, "unknown VR \(VRCode.string(e.vr).debugDescription)", tag: e.tag)
        }
        if e.encapsulated {
            try encapsulatedPixels(e, topLevel: depth == 0)
            return
        }
        let lengthAt = header(e.tag, e.vr, length: 0)
        let start = out.count
        try value(e)
        if (out.count - start) % 2 == 1 {
            let vr = e.vr
            out.append(vr == VRCode.UI || vr == VRCode.OB || vr == VRCode.UN ? 0 : 0x20)
        }
        try patch(at: lengthAt, vr: e.vr, length: out.count - start, tag: e.tag)
    }

    /// (7FE0,0010) OB of undefined length: the item stream as given, after checking that it is one
    /// (items only, each inside the value, the first being the Basic Offset Table), then the delimiter.
    mutating func encapsulatedPixels(_ e: WriteElement, topLevel: Bool) throws(DicomError) {
        guard topLevel, e.tag == Tags.pixelData, e.kind == .bytes else {
            throw DicomError(.argument, "only top-level (7FE0,0010) bytes can be encapsulated", tag: e.tag)
        }
        let raw = try heapBytes(e)
        var pos = 0
        var items = 0
        while pos < raw.count {
            guard raw.count - pos >= 8 else {
                throw DicomError(.argument, "encapsulated pixel data: truncated item header", offset: pos, tag: e.tag)
            }
            let tag =
                UInt32(raw[pos + 2]) | UInt32(raw[pos + 3]) << 8 | UInt32(raw[pos]) << 16 | UInt32(raw[pos + 1]) << 24
            let length = Int(
                UInt32(raw[pos + 4]) | UInt32(raw[pos + 5]) << 8 | UInt32(raw[pos + 6]) << 16
                    | UInt32(raw[pos + 7]) << 24)
            guard tag == Tags.item else {
                throw DicomError(
                    .argument, "encapsulated pixel data: \(formatTag(tag)) where an item was expected",
                    offset: pos, tag: e.tag)
            }
            guard length <= raw.count - pos - 8 else {
                throw DicomError(
                    .argument, "encapsulated pixel data: an item of \(length) bytes runs past the value",
                    offset: pos, tag: e.tag)
            }
            pos += 8 + length
            items += 1
        }
        guard items >= 1 else {
            throw DicomError(
                .argument, "encapsulated pixel data needs at least the Basic Offset Table item", tag: e.tag)
        }
        _ = header(e.tag, VRCode.OB, length: 0xFFFF_FFFF)
        out += raw
        le32(0xE0DD_FFFE)  // (FFFE,E0DD) sequence delimitation item, little endian
        le32(0)
    }

    func numbers<T>(_ e: WriteElement, _: T.Type) throws(DicomError) -> [T] {
        let raw = try heapBytes(e)
        let size = MemoryLayout<T>.size
        guard raw.count % size == 0 else {
            throw DicomError(
                .argument, "value of \(raw.count) bytes is not a whole number of \(size)-byte values", tag: e.tag)
        }
        var r: [T] = []
        r.reserveCapacity(raw.count / size)
        var o = 0
        while o < raw.count { r.append(raw.loadUnaligned(fromByteOffset: o, as: T.self)); o += size }
        return r
    }

    /// Values of a numeric element as Int64 (from .int, .uint, .tags or integral .float).
    func integers(_ e: WriteElement) throws(DicomError) -> [Int64] {
        switch e.kind {
        case .int: return try numbers(e, Int64.self)
        case .uint:
            var r: [Int64] = []
            for v in try numbers(e, UInt64.self) {
                guard v <= UInt64(Int64.max) else { throw DicomError(.argument, "value \(v) out of range", tag: e.tag) }
                r.append(Int64(v))
            }
            return r
        case .tags: return try numbers(e, UInt32.self).map { Int64($0) }
        case .float:
            var r: [Int64] = []
            for v in try numbers(e, Double.self) {
                guard v.isFinite, v == v.rounded(), abs(v) < 9.2e18 else {
                    throw DicomError(.argument, "value \(v) is not an integer", tag: e.tag)
                }
                r.append(Int64(v))
            }
            return r
        case .empty: return []
        default:
            throw DicomError(
                .argument, "VR \(VRCode.string(e.vr)) needs numbers, not value kind \(e.kind.rawValue)", tag: e.tag)
        }
    }

    func doubles(_ e: WriteElement) throws(DicomError) -> [Double] {
        switch e.kind {
        case .float: return try numbers(e, Double.self)
        case .int: return try numbers(e, Int64.self).map { Double($0) }
        case .uint: return try numbers(e, UInt64.self).map { Double($0) }
        case .empty: return []
        default:
            throw DicomError(
                .argument, "VR \(VRCode.string(e.vr)) needs numbers, not value kind \(e.kind.rawValue)", tag: e.tag)
        }
    }

    mutating func ranged(_ e: WriteElement, _ lo: Int64, _ hi: Int64, bytes: Int) throws(DicomError) {
        for v in try integers(e) {
            guard v >= lo && v <= hi else {
                throw DicomError(.argument, "value \(v) out of range for VR \(VRCode.string(e.vr))", tag: e.tag)
            }
            switch bytes {
            case 2: le16(UInt16(truncatingIfNeeded: v))
            case 4: le32(UInt32(truncatingIfNeeded: v))
            default: le64(UInt64(bitPattern: v))
            }
        }
    }

    mutating func value(_ e: WriteElement) throws(DicomError) {
        if e.kind == .empty { return }
        let vr = e.vr
        switch vr {
        case VRCode.US: try ranged(e, 0, 0xFFFF, bytes: 2)
        case VRCode.SS: try ranged(e, -0x8000, 0x7FFF, bytes: 2)
        case VRCode.UL: try ranged(e, 0, 0xFFFF_FFFF, bytes: 4)
        case VRCode.SL: try ranged(e, -0x8000_0000, 0x7FFF_FFFF, bytes: 4)
        case VRCode.SV: try ranged(e, Int64.min, Int64.max, bytes: 8)
        case VRCode.UV:
            if e.kind == .uint {
                for v in try numbers(e, UInt64.self) { le64(v) }
            } else {
                try ranged(e, 0, Int64.max, bytes: 8)
            }
        case VRCode.AT:
            for v in try integers(e) {
                guard v >= 0 && v <= 0xFFFF_FFFF else {
                    throw DicomError(.argument, "tag value \(v) out of range", tag: e.tag)
                }
                le16(UInt16(truncatingIfNeeded: v >> 16)); le16(UInt16(truncatingIfNeeded: v))
            }
        case VRCode.FL:
            for v in try doubles(e) { le32(Float(v).bitPattern) }
        case VRCode.FD:
            for v in try doubles(e) { le64(v.bitPattern) }
        case VRCode.DS, VRCode.IS:
            if e.kind == .text || e.kind == .rawText {
                out += try heapBytes(e)
                return
            }
            var first = true
            if vr == VRCode.IS {
                for v in try integers(e) {
                    guard v >= -0x8000_0000 && v <= 0x7FFF_FFFF else {
                        throw DicomError(.argument, "IS value \(v) out of range", tag: e.tag)
                    }
                    if !first { out.append(0x5C) }
                    first = false
                    out += String(v).utf8
                }
            } else {
                for v in try doubles(e) {
                    if !first { out.append(0x5C) }
                    first = false
                    guard let s = formatDS(v) else {
                        throw DicomError(.argument, "DS cannot hold \(v)", tag: e.tag)
                    }
                    out += s
                }
            }
        case VRCode.OB, VRCode.OW, VRCode.OF, VRCode.OD, VRCode.OL, VRCode.OV, VRCode.UN:
            switch e.kind {
            case .bytes, .text, .rawText:
                let raw = try heapBytes(e)
                let unit =
                    vr == VRCode.OW
                    ? 2 : vr == VRCode.OF || vr == VRCode.OL ? 4 : vr == VRCode.OD || vr == VRCode.OV ? 8 : 1
                guard raw.count % unit == 0 else {
                    throw DicomError(
                        .argument, "\(raw.count) bytes is not a whole number of \(VRCode.string(vr)) words", tag: e.tag)
                }
                out += raw
            case .float where vr == VRCode.OF:
                for v in try doubles(e) { le32(Float(v).bitPattern) }
            case .float where vr == VRCode.OD:
                for v in try doubles(e) { le64(v.bitPattern) }
            default:
                throw DicomError(
                    .argument, "VR \(VRCode.string(vr)) needs bytes, not value kind \(e.kind.rawValue)", tag: e.tag)
            }
        default:
            // text VRs
            guard e.kind == .text || e.kind == .rawText else {
                throw DicomError(
                    .argument, "VR \(VRCode.string(vr)) needs text, not value kind \(e.kind.rawValue)", tag: e.tag)
            }
            out += try heapBytes(e)
        }
    }
}

/// A DS string of at most 16 characters for `v` (shortest round-trip form when it fits, else the
/// most significant digits that fit, in the shortest of plain, scientific and integer-mantissa
/// notation: "1234567890123e63" keeps the 13 digits a "1.2345678901E+75" would cut), or nil for NaN
/// and infinities.
public func formatDS(_ v: Double) -> [UInt8]? {
    guard v.isFinite else { return nil }
    // -0.0 keeps its sign ("-0"): Int64(-0.0) would print "0", which reads back as +0.0
    if v == 0 && v.sign == .minus { return Array("-0".utf8) }
    if v == v.rounded() && abs(v) < 1e15 {
        return Array(String(Int64(v)).utf8)
    }
    let s = Array(v.description.utf8)
    if s.count <= 16 { return s }
    // Too long: from 17 significant digits (always exact) down, the first precision with a form
    // that fits (the correctly rounded digits of "%.*e").
    var buf = [CChar](repeating: 0, count: 40)
    for precision in stride(from: Int32(16), through: 0, by: -1) {
        let n = buf.withUnsafeMutableBufferPointer { p in
            withVaList([precision, abs(v)]) { vsnprintf(p.baseAddress, 40, "%.*e", $0) }
        }
        guard n > 0 && n < 40, let form = shortestDSForm(buf.prefix(Int(n)).map { UInt8(bitPattern: $0) }),
            form.count + (v < 0 ? 1 : 0) <= 16
        else { continue }
        return v < 0 ? [0x2D] + form : form
    }
    return nil
}

/// The shortest spelling of a positive "d.ddde[+-]xx" number: plain ("0.000123", "12.5"),
/// scientific with a compact exponent ("1.25e-7") or with an integer mantissa ("125e-9").
func shortestDSForm(_ sci: [UInt8]) -> [UInt8]? {
    guard let e = sci.firstIndex(of: 0x65), let exponent = Int(String(decoding: sci[(e + 1)...], as: UTF8.self))
    else { return nil }
    var digits = sci[..<e].filter { $0 != 0x2E }
    while digits.count > 1 && digits.last == 0x30 { digits.removeLast() }
    let n = digits.count
    let rest = Array(digits.dropFirst())
    var forms: [[UInt8]] = [[digits[0]] + (rest.isEmpty ? [] : [0x2E] + rest) + Array("e\(exponent)".utf8)]
    if n > 1 { forms.append(digits + Array("e\(exponent - (n - 1))".utf8)) }
    if exponent < 0 {
        forms.append(Array("0.".utf8) + [UInt8](repeating: 0x30, count: -exponent - 1) + digits)
    } else if exponent >= n - 1 {
        if exponent < 17 { forms.append(digits + [UInt8](repeating: 0x30, count: exponent - (n - 1))) }
    } else {
        forms.append(Array(digits[...exponent]) + [0x2E] + Array(digits[(exponent + 1)...]))
    }
    return forms.min { $0.count < $1.count }
}
