import DicomBytes
@testable import DicomParser

/// Builds DICOM byte streams for tests.
struct DS {
    var bytes: [UInt8] = []
    var be = false
    var implicit = false

    init(be: Bool = false, implicit: Bool = false) { self.be = be; self.implicit = implicit }

    mutating func u16(_ v: UInt16) {
        let x = be ? v.byteSwapped : v
        bytes.append(UInt8(x & 0xFF)); bytes.append(UInt8(x >> 8))
    }
    mutating func u32(_ v: UInt32) {
        let x = be ? v.byteSwapped : v
        for i in 0..<4 { bytes.append(UInt8((x >> (8 * UInt32(i))) & 0xFF)) }
    }
    mutating func tag(_ t: UInt32) { u16(UInt16(t >> 16)); u16(UInt16(t & 0xFFFF)) }

    static func long(_ vr: String) -> Bool {
        ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"].contains(vr)
    }

    /// An element header; `length` nil = undefined length.
    mutating func header(_ t: UInt32, _ vr: String, _ length: UInt32?) {
        tag(t)
        if implicit {
            u32(length ?? 0xFFFF_FFFF)
        } else {
            bytes.append(contentsOf: Array(vr.utf8))
            if DS.long(vr) { u16(0); u32(length ?? 0xFFFF_FFFF) } else { u16(UInt16(length ?? 0)) }
        }
    }

    mutating func elem(_ t: UInt32, _ vr: String, _ value: [UInt8]) {
        header(t, vr, UInt32(value.count)); bytes.append(contentsOf: value)
    }
    mutating func text(_ t: UInt32, _ vr: String, _ s: String, pad: UInt8 = 0x20) {
        var v = Array(s.utf8); if v.count % 2 == 1 { v.append(pad) }
        elem(t, vr, v)
    }
    mutating func us(_ t: UInt32, _ vals: [UInt16], vr: String = "US") {
        var tmp = DS(be: be); for v in vals { tmp.u16(v) }
        elem(t, vr, tmp.bytes)
    }
    mutating func ul(_ t: UInt32, _ vals: [UInt32], vr: String = "UL") {
        var tmp = DS(be: be); for v in vals { tmp.u32(v) }
        elem(t, vr, tmp.bytes)
    }
    mutating func item(_ content: [UInt8], undefined: Bool = false) {
        tag(Tags.item); u32(undefined ? 0xFFFF_FFFF : UInt32(content.count)); bytes.append(contentsOf: content)
        if undefined { tag(Tags.itemDelimiter); u32(0) }
    }
    mutating func seqDelim() { tag(Tags.sequenceDelimiter); u32(0) }
    /// A sequence whose items are the given encoded data sets.
    mutating func seq(_ t: UInt32, _ items: [[UInt8]], undefined: Bool = false, undefinedItems: Bool = false, vr: String = "SQ") {
        var body = DS(be: be, implicit: implicit)
        for i in items { body.item(i, undefined: undefinedItems) }
        if undefined {
            header(t, vr, nil); bytes.append(contentsOf: body.bytes); seqDelim()
        } else {
            header(t, vr, UInt32(body.bytes.count)); bytes.append(contentsOf: body.bytes)
        }
    }
}

/// Preamble + DICM + file meta (explicit VR LE) with a correct group length, then `body`.
func part10(ts: String, body: [UInt8], preamble: Bool = true, groupLength: UInt32? = nil) -> [UInt8] {
    var meta = DS()
    meta.elem(0x0002_0001, "OB", [0, 1])
    meta.text(0x0002_0002, "UI", "1.2.840.10008.5.1.4.1.1.2", pad: 0)
    meta.text(0x0002_0003, "UI", "1.2.3.4", pad: 0)
    meta.text(0x0002_0010, "UI", ts, pad: 0)
    var out: [UInt8] = []
    if preamble { out = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) }
    var gl = DS()
    gl.ul(0x0002_0000, [groupLength ?? UInt32(meta.bytes.count)])
    out += gl.bytes + meta.bytes + body
    return out
}

extension Dataset {
    func idx(_ tag: UInt32, in item: Int? = nil) -> Int? { index(of: tag, in: item) }
    func el(_ tag: UInt32, in item: Int? = nil) -> Element? { index(of: tag, in: item).map { elements[$0] } }
    func vrOf(_ tag: UInt32, in item: Int? = nil) -> String? { el(tag, in: item)?.vrString }
    func bytes(_ tag: UInt32, in item: Int? = nil) -> [UInt8]? {
        guard let i = index(of: tag, in: item), let r = bytesRange(at: i) else { return nil }
        return Array(source[r])
    }
    func tagValues(_ tag: UInt32) -> [UInt32] {
        guard let e = el(tag), e.kind == .tags else { return [] }
        return heap.withUnsafeBytes { h in (0..<Int(e.count)).map { h.loadUnaligned(fromByteOffset: e.valueOffset + 4 * $0, as: UInt32.self) } }
    }
    func uints(_ tag: UInt32) -> [UInt64] {
        guard let e = el(tag), e.kind == .uint else { return [] }
        return heap.withUnsafeBytes { h in (0..<Int(e.count)).map { h.loadUnaligned(fromByteOffset: e.valueOffset + 8 * $0, as: UInt64.self) } }
    }
}

import CZlib

/// Raw deflate (no zlib header) of `input`, as the Deflated transfer syntax stores it.
func rawDeflate(_ input: [UInt8]) throws -> [UInt8] {
    var s = z_stream()
    guard deflateInit2_(&s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                        Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw DicomError(.internalError, "deflateInit2") }
    defer { deflateEnd(&s) }
    var out = [UInt8](repeating: 0, count: input.count + 1024)
    var inp = input
    let produced: Int = inp.withUnsafeMutableBufferPointer { ib in
        out.withUnsafeMutableBufferPointer { ob in
            s.next_in = ib.baseAddress; s.avail_in = UInt32(ib.count)
            s.next_out = ob.baseAddress; s.avail_out = UInt32(ob.count)
            _ = deflate(&s, Z_FINISH)
            return ob.count - Int(s.avail_out)
        }
    }
    return Array(out[0..<produced])
}
