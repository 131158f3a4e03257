// Test support shared by the Swift test targets: DICOM byte streams and files (this file, TestFile.swift)
// and data sets assembled in memory without a reader (DatasetBuilder.swift).
import DicomBytes

/// Builds DICOM byte streams element by element: explicit or implicit VR, little or big endian,
/// defined or undefined lengths, items and sequences.
public struct DicomStream {
    public var bytes: [UInt8] = []
    public var be = false
    public var implicit = false

    public init(be: Bool = false, implicit: Bool = false) { self.be = be; self.implicit = implicit }

    public mutating func u16(_ v: UInt16) {
        let x = be ? v.byteSwapped : v
        bytes.append(UInt8(x & 0xFF)); bytes.append(UInt8(x >> 8))
    }
    public mutating func u32(_ v: UInt32) {
        let x = be ? v.byteSwapped : v
        for i in 0..<4 { bytes.append(UInt8((x >> (8 * UInt32(i))) & 0xFF)) }
    }
    public mutating func tag(_ t: UInt32) { u16(UInt16(t >> 16)); u16(UInt16(t & 0xFFFF)) }

    /// VRs with a 2-byte reserved field and a 4-byte length in explicit VR.
    public static func long(_ vr: String) -> Bool {
        ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"].contains(vr)
    }

    /// An element header; `length` nil = undefined length.
    public mutating func header(_ t: UInt32, _ vr: String, _ length: UInt32?) {
        tag(t)
        if implicit {
            u32(length ?? 0xFFFF_FFFF)
        } else {
            bytes.append(contentsOf: Array(vr.utf8))
            if DicomStream.long(vr) { u16(0); u32(length ?? 0xFFFF_FFFF) } else { u16(UInt16(length ?? 0)) }
        }
    }

    public mutating func elem(_ t: UInt32, _ vr: String, _ value: [UInt8]) {
        header(t, vr, UInt32(value.count)); bytes.append(contentsOf: value)
    }
    /// Text padded to even length with `pad`.
    public mutating func text(_ t: UInt32, _ vr: String, _ s: String, pad: UInt8 = 0x20) {
        var v = Array(s.utf8); if v.count % 2 == 1 { v.append(pad) }
        elem(t, vr, v)
    }
    public mutating func us(_ t: UInt32, _ vals: [UInt16], vr: String = "US") {
        var tmp = DicomStream(be: be); for v in vals { tmp.u16(v) }
        elem(t, vr, tmp.bytes)
    }
    public mutating func ul(_ t: UInt32, _ vals: [UInt32], vr: String = "UL") {
        var tmp = DicomStream(be: be); for v in vals { tmp.u32(v) }
        elem(t, vr, tmp.bytes)
    }
    public mutating func item(_ content: [UInt8], undefined: Bool = false) {
        tag(Tags.item); u32(undefined ? 0xFFFF_FFFF : UInt32(content.count)); bytes.append(contentsOf: content)
        if undefined { tag(Tags.itemDelimiter); u32(0) }
    }
    public mutating func seqDelim() { tag(Tags.sequenceDelimiter); u32(0) }
    /// A sequence whose items are the given encoded data sets.
    public mutating func seq(
        _ t: UInt32, _ items: [[UInt8]], undefined: Bool = false, undefinedItems: Bool = false,
        vr: String = "SQ"
    ) {
        var body = DicomStream(be: be, implicit: implicit)
        for i in items { body.item(i, undefined: undefinedItems) }
        if undefined {
            header(t, vr, nil); bytes.append(contentsOf: body.bytes); seqDelim()
        } else {
            header(t, vr, UInt32(body.bytes.count)); bytes.append(contentsOf: body.bytes)
        }
    }
}

/// Preamble + DICM + file meta (explicit VR LE) with a correct group length (or `groupLength`), then `body`.
public func part10(
    ts: String, body: [UInt8], preamble: Bool = true, groupLength: UInt32? = nil,
    sopClass: String = "1.2.840.10008.5.1.4.1.1.2", sopInstance: String = "1.2.3.4"
) -> [UInt8] {
    var meta = DicomStream()
    meta.elem(Tags.fileMetaInformationVersion, "OB", [0, 1])
    meta.text(Tags.mediaStorageSOPClassUID, "UI", sopClass, pad: 0)
    meta.text(Tags.mediaStorageSOPInstanceUID, "UI", sopInstance, pad: 0)
    meta.text(Tags.transferSyntaxUID, "UI", ts, pad: 0)
    var out: [UInt8] = []
    if preamble { out = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) }
    var gl = DicomStream()
    gl.ul(Tags.fileMetaInformationGroupLength, [groupLength ?? UInt32(meta.bytes.count)])
    out += gl.bytes + meta.bytes + body
    return out
}

// Little / big endian bytes of values.
public func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
public func le32(_ v: UInt32) -> [UInt8] {
    [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
}
public func le16(_ v: [UInt16]) -> [UInt8] { v.flatMap { le16($0) } }
public func be16(_ v: [UInt16]) -> [UInt8] { v.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }
public func le32(_ v: [UInt32]) -> [UInt8] { v.flatMap { le32($0) } }
public func le64(_ v: [UInt64]) -> [UInt8] { v.flatMap { x in (0..<8).map { UInt8((x >> (8 * UInt64($0))) & 0xFF) } } }
