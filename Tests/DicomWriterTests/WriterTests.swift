import DicomBytes
import DicomParser
import Testing

@testable import DicomWriter

#if canImport(Glibc)
import Glibc
#endif

/// Builds the writer's flat element list and heap.
struct Builder {
    var elements: [WriteElement] = []
    var heap: [UInt8] = []

    mutating func put(_ bytes: [UInt8]) -> (Int, Int) {
        let o = heap.count
        heap += bytes
        return (o, bytes.count)
    }
    mutating func text(_ tag: UInt32, _ vr: StaticString, _ s: String) {
        let (o, n) = put(Array(s.utf8))
        elements.append(WriteElement(tag: tag, vr: vrCode(vr), kind: .text, count: 1, valueOffset: o, valueLength: n))
    }
    mutating func ints(_ tag: UInt32, _ vr: StaticString, _ vs: [Int64]) {
        var b: [UInt8] = []
        for v in vs { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        let (o, n) = put(b)
        elements.append(
            WriteElement(tag: tag, vr: vrCode(vr), kind: .int, count: UInt32(vs.count), valueOffset: o, valueLength: n))
    }
    mutating func floats(_ tag: UInt32, _ vr: StaticString, _ vs: [Double]) {
        var b: [UInt8] = []
        for v in vs { withUnsafeBytes(of: v.bitPattern.littleEndian) { b += $0 } }
        let (o, n) = put(b)
        elements.append(
            WriteElement(
                tag: tag, vr: vrCode(vr), kind: .float, count: UInt32(vs.count), valueOffset: o, valueLength: n))
    }
    mutating func bytes(_ tag: UInt32, _ vr: StaticString, _ bs: [UInt8]) {
        let (o, n) = put(bs)
        elements.append(WriteElement(tag: tag, vr: vrCode(vr), kind: .bytes, count: 1, valueOffset: o, valueLength: n))
    }
    mutating func empty(_ tag: UInt32, _ vr: StaticString) {
        elements.append(WriteElement(tag: tag, vr: vrCode(vr), kind: .empty))
    }
    /// A sequence of items, each built by its own Builder.
    mutating func sequence(_ tag: UInt32, _ items: [Builder]) {
        var recs: [WriteElement] = []
        for it in items {
            let base = heap.count
            heap += it.heap
            recs.append(
                WriteElement(
                    tag: Tags.item, vr: 0, kind: .item, count: UInt32(it.elements.count),
                    descendants: UInt32(it.elements.count)))
            for var e in it.elements {
                if e.kind != .sequence && e.kind != .item { e.valueOffset += base }
                recs.append(e)
            }
        }
        elements.append(
            WriteElement(
                tag: tag, vr: vrCode("SQ"), kind: .sequence, count: UInt32(items.count),
                descendants: UInt32(recs.count)))
        elements += recs
    }

    mutating func sop() {
        text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.128")
        text(0x0008_0018, "UI", "1.2.3.4.5")
    }

    func encode() throws -> [UInt8] { try DicomFileWriter.encode(elements: elements, heap: heap) }
    func roundTrip() throws -> Dataset { try DicomReader.read(bytes: encode()) }
}

@Test func fileMetaAndPreamble() throws {
    var b = Builder()
    b.sop()
    b.text(0x0010_0040, "CS", "M")
    let bytes = try b.encode()
    #expect(bytes.count > 132)
    #expect(bytes[0..<128].allSatisfy { $0 == 0 })
    #expect(Array(bytes[128..<132]) == Array("DICM".utf8))
    let ds = try DicomReader.read(bytes: bytes)
    #expect(ds.transferSyntax == "1.2.840.10008.1.2.1")
    #expect(ds.flags.contains(.preamble) && ds.flags.contains(.fileMeta))
    #expect(ds.string(0x0002_0002) == "1.2.840.10008.5.1.4.1.1.128")
    #expect(ds.string(0x0002_0003) == "1.2.3.4.5")
    #expect(ds.string(0x0002_0012) == DicomFileWriter.implementationClassUID)
    #expect(ds.string(0x0002_0013) == DicomFileWriter.implementationVersionName)
    // group length = bytes of the meta elements after it
    let gl = ds.int(0x0002_0000)
    let firstBody = ds.elements.first { $0.group != 0x0002 }!
    #expect(gl == firstBody.fileOffset - (132 + 12))
    #expect(ds.string(0x0010_0040) == "M")
}

@Test func everyVRRoundTrips() throws {
    var b = Builder()
    b.sop()
    b.text(0x0008_0020, "DA", "20260101")
    b.text(0x0008_0030, "TM", "101500.5")
    b.text(0x0008_002A, "DT", "20260101101500")
    b.text(0x0008_0060, "CS", "PT")
    b.text(0x0008_0008, "CS", "ORIGINAL\\PRIMARY\\AXIAL")
    b.text(0x0008_0054, "AE", "SCANNER1")
    b.text(0x0010_1010, "AS", "045Y")
    b.text(0x0010_0010, "PN", "Doe^Jane")
    b.text(0x0010_0020, "LO", "ID-7")
    b.text(0x0008_1030, "LO", "odd")
    b.text(0x0008_0050, "SH", "ACC1")
    b.text(0x0010_4000, "LT", "a long\\text")
    b.text(0x0008_0081, "ST", "street 1")
    b.text(0x0008_0119, "UC", "unlimited")
    b.text(0x0008_0120, "UR", "http://x.org/a")
    b.text(0x0018_9369, "UT", "text")
    b.floats(0x0010_1030, "DS", [72.5])
    b.floats(0x0028_0030, "DS", [0.9765625, 3.3333333333333335])
    b.ints(0x0020_0013, "IS", [-42])
    b.ints(0x0028_0010, "US", [512])
    b.ints(0x0028_0106, "SS", [-32768])
    b.ints(0x0018_1153, "SL", [-100000])  // exposure in uAs (SL? dictionary says IS; VR is what we give)
    b.ints(0x0028_9001, "UL", [4_000_000_000])
    b.ints(0x0018_9219, "SV", [-5_000_000_000])
    b.ints(0x0018_9220, "UV", [9_000_000_000])
    b.floats(0x0018_9089, "FD", [0.1, -2.5, 1e300])
    b.floats(0x0018_9327, "FL", [1.5])
    b.ints(0x0020_9165, "AT", [0x0018_1060, 0x0020_0032])
    b.bytes(0x0009_1001, "OB", [1, 2, 3])
    b.bytes(0x7FE0_0010, "OW", [1, 0, 2, 0])
    b.bytes(0x0009_1002, "UN", [9, 8, 7])
    b.bytes(0x0009_1003, "OF", [0, 0, 0x80, 0x3F])
    b.bytes(0x0009_1004, "OD", [UInt8](repeating: 0, count: 8))
    b.bytes(0x0009_1005, "OL", [1, 0, 0, 0])
    b.bytes(0x0009_1006, "OV", [1, 0, 0, 0, 0, 0, 0, 0])
    b.empty(0x0010_0030, "DA")
    let ds = try b.roundTrip()
    #expect(ds.string(0x0008_0020) == "20260101")
    #expect(ds.string(0x0008_0030) == "101500.5")
    #expect(ds.strings(0x0008_0008) == ["ORIGINAL", "PRIMARY", "AXIAL"])
    #expect(ds.string(0x0010_0010) == "Doe^Jane")
    #expect(ds.string(0x0008_1030) == "odd")  // padding stripped
    #expect(ds.string(0x0010_4000) == "a long\\text")
    #expect(ds.string(0x0008_0120) == "http://x.org/a")
    #expect(ds.double(0x0010_1030) == 72.5)
    let ps = ds.doubles(0x0028_0030)  // 3.3333333333333335 needs 18 characters: cut to DS's 16
    #expect(ps.count == 2 && ps[0] == 0.9765625 && abs(ps[1] - 3.3333333333333335) < 1e-13)
    #expect(ds.int(0x0020_0013) == -42)
    #expect(ds.int(0x0028_0010) == 512)
    #expect(ds.int(0x0028_0106) == -32768)
    #expect(ds.int(0x0018_1153) == -100000)
    #expect(ds.ints(0x0028_9001) == [4_000_000_000])
    #expect(ds.ints(0x0018_9219) == [-5_000_000_000])
    #expect(ds.ints(0x0018_9220) == [9_000_000_000])
    #expect(ds.doubles(0x0018_9089) == [0.1, -2.5, 1e300])
    #expect(ds.doubles(0x0018_9327) == [1.5])
    let at = ds.index(of: 0x0020_9165)!
    #expect(ds.elements[at].kind == .tags && ds.elements[at].vrString == "AT")
    let ob = ds.index(of: 0x0009_1001)!
    #expect(ds.elements[ob].valueLength == 4)  // padded with a zero
    #expect(Array(ds.source[ds.bytesRange(at: ob)!]) == [1, 2, 3, 0])
    let px = ds.index(of: 0x7FE0_0010)!
    #expect(Array(ds.source[ds.bytesRange(at: px)!]) == [1, 0, 2, 0])
    for (tag, vr) in [
        (0x0009_1002, "UN"), (0x0009_1003, "OF"), (0x0009_1004, "OD"), (0x0009_1005, "OL"), (0x0009_1006, "OV"),
    ] {
        #expect(ds.index(of: UInt32(tag)).map { ds.elements[$0].vrString } == vr)
    }
    #expect(ds.index(of: 0x0010_0030).map { ds.elements[$0].kind } == .empty)
}

@Test func textPaddingPerVR() throws {
    var b = Builder()
    b.sop()
    b.text(0x0008_0060, "CS", "CT ")  // already padded: written as given
    b.text(0x0020_000D, "UI", "1.2.3")
    b.text(0x0008_0070, "LO", "abc")
    let bytes = try b.encode()
    let ds = try DicomReader.read(bytes: bytes)
    let ui = ds.elements[ds.index(of: 0x0020_000D)!]
    #expect(Int(bytes[ui.fileOffset + 6]) | Int(bytes[ui.fileOffset + 7]) << 8 == 6)  // length field: padded
    // find the UI value in the file: its pad byte is NUL, the LO pad is a space
    let uiPos = ui.fileOffset + 8
    #expect(Array(bytes[uiPos..<(uiPos + 6)]) == Array("1.2.3".utf8) + [0])
    let lo = ds.elements[ds.index(of: 0x0008_0070)!]
    #expect(Array(bytes[(lo.fileOffset + 8)..<(lo.fileOffset + 12)]) == Array("abc ".utf8))
}

@Test func nestedSequences() throws {
    var code = Builder()
    code.text(0x0008_0100, "SH", "C-111A1")
    code.text(0x0008_0102, "SH", "SRT")
    var item = Builder()
    item.text(0x0018_1072, "TM", "090000")
    item.floats(0x0018_1074, "DS", [370_000_000])
    item.floats(0x0018_1075, "DS", [6586.2])
    item.sequence(0x0054_0300, [code])
    var second = Builder()
    second.text(0x0018_0031, "LO", "FDG")
    var b = Builder()
    b.sop()
    b.sequence(0x0054_0016, [item, second])
    b.sequence(0x0008_1140, [])
    b.text(0x0054_1001, "CS", "BQML")
    let ds = try b.roundTrip()
    let items = ds.items(0x0054_0016)
    #expect(items.count == 2)
    #expect(ds.string(0x0018_1072, in: items[0]) == "090000")
    #expect(ds.double(0x0018_1074, in: items[0]) == 370_000_000)
    #expect(ds.string(0x0018_1074, in: items[0]) != nil)
    #expect(ds.double(0x0018_1075, in: items[0]) == 6586.2)
    let inner = ds.items(0x0054_0300, in: items[0])
    #expect(inner.count == 1)
    #expect(ds.string(0x0008_0100, in: inner[0]) == "C-111A1")
    #expect(ds.string(0x0018_0031, in: items[1]) == "FDG")
    #expect(ds.items(0x0008_1140).isEmpty)
    #expect(ds.index(of: 0x0008_1140) != nil)
    #expect(ds.string(0x0054_1001) == "BQML")
}

@Test func levelsAreSortedByTag() throws {
    var b = Builder()
    b.text(0x0010_0040, "CS", "F")
    b.text(0x0008_0060, "CS", "CT")
    b.sop()
    let ds = try b.roundTrip()
    let tags = Array(ds.children()).map { ds.elements[$0].tag }.filter { $0 >> 16 != 2 }
    #expect(tags == tags.sorted())
    #expect(ds.string(0x0010_0040) == "F")
}

@Test func dsFormatting() {
    func s(_ v: Double) -> String? { formatDS(v).map { String(decoding: $0, as: UTF8.self) } }
    #expect(s(1) == "1")
    #expect(s(-3) == "-3")
    #expect(s(0.5) == "0.5")
    #expect(s(370_000_000) == "370000000")
    #expect(s(1.0 / 3.0)!.count <= 16)
    #expect(abs(Double(s(1.0 / 3.0)!)! - 1.0 / 3.0) < 1e-12)
    #expect(s(1.234567890123e-20)!.count <= 16)
    #expect(abs(Double(s(1.234567890123e-20)!)! / 1.234567890123e-20 - 1) < 1e-9)
    #expect(s(.nan) == nil)
    #expect(s(.infinity) == nil)
}

/// Found by the fuzz round trip: a DS "1234567890123e63" (16 characters) read back from "%.*G"
/// as "1.2345678901E+75" (11 digits). Every value that some DS spelling holds exactly comes back
/// exactly; any other keeps at least 10 significant digits.
@Test func dsFormattingKeepsEveryDigitThatFits() throws {
    for text in [
        "1234567890123e63", "-1.23456789e-100", "0.00012345678901", "12345.6789012345", "9.9999999999e307",
        "-123456789012e-9", "1.0000000000001e5", "4.9406564584e-324", "-0.0000012345678", "12345678901234e3",
    ] {
        let v = try #require(Double(text))
        let written = try #require(formatDS(v))
        #expect(written.count <= 16, "\(text) -> \(String(decoding: written, as: UTF8.self))")
        #expect(Double(String(decoding: written, as: UTF8.self)) == v, "\(text)")
    }
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    for _ in 0..<5000 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let v = Double(bitPattern: state)
        guard v.isFinite, v != 0 else { continue }
        let written = try #require(formatDS(v))
        let back = try #require(Double(String(decoding: written, as: UTF8.self)))
        #expect(written.count <= 16 && abs(back - v) <= abs(v) * 1e-9, "\(v)")
    }
}

/// Found by the fuzz round trip: a DS -0.0 (Image Orientation "-0") was written as "0" and read back +0.0.
@Test func dsNegativeZeroKeepsItsSign() throws {
    #expect(formatDS(-0.0).map { String(decoding: $0, as: UTF8.self) } == "-0")
    #expect(formatDS(0.0).map { String(decoding: $0, as: UTF8.self) } == "0")
    var b = Builder()
    b.floats(0x0020_0037, "DS", [1, -0.0, 0, 0, 1, -0.0])
    b.sop()
    let ds = try b.roundTrip()
    let i = try #require(Array(ds.children()).first { ds.elements[$0].tag == 0x0020_0037 })
    let e = ds.elements[i]
    #expect(e.kind == .float && e.count == 6)
    let values = ds.heap.withUnsafeBytes { h in
        (0..<6).map { h.loadUnaligned(fromByteOffset: e.valueOffset + 8 * $0, as: Double.self) }
    }
    #expect(values.map { $0.sign } == [.plus, .minus, .plus, .plus, .plus, .minus])
}

@Test func errors() throws {
    var noSop = Builder()
    noSop.text(0x0010_0040, "CS", "M")
    #expect(throws: DicomError.self) { try noSop.encode() }

    var range = Builder()
    range.sop()
    range.ints(0x0028_0010, "US", [70000])
    do {
        _ = try range.encode()
        Issue.record("US 70000 accepted")
    } catch let e as DicomError {
        #expect(e.kind == .argument && e.tag == 0x0028_0010)
    }

    var heap = Builder()
    heap.sop()
    heap.elements.append(
        WriteElement(tag: 0x0010_0020, vr: vrCode("LO"), kind: .text, valueOffset: 1 << 40, valueLength: 4))
    #expect(throws: DicomError.self) { try heap.encode() }

    var tree = Builder()
    tree.sop()
    tree.elements.append(WriteElement(tag: 0x0054_0016, vr: vrCode("SQ"), kind: .sequence, count: 1, descendants: 9))
    #expect(throws: DicomError.self) { try tree.encode() }

    var dup = Builder()
    dup.sop()
    dup.text(0x0010_0040, "CS", "M")
    dup.text(0x0010_0040, "CS", "F")
    dup.elements.swapAt(0, 3)
    #expect(throws: DicomError.self) { try dup.encode() }

    var long = Builder()
    long.sop()
    long.text(0x0010_0020, "LO", String(repeating: "x", count: 70000))
    #expect(throws: DicomError.self) { try long.encode() }

    var nanDS = Builder()
    nanDS.sop()
    nanDS.floats(0x0010_1030, "DS", [.nan])
    #expect(throws: DicomError.self) { try nanDS.encode() }

    var badVR = Builder()
    badVR.sop()
    badVR.elements.append(WriteElement(tag: 0x0010_0020, vr: vrCode("ZZ"), kind: .empty))
    #expect(throws: DicomError.self) { try badVR.encode() }
}

@Test func atomicWrite() throws {
    var b = Builder()
    b.sop()
    b.text(0x0010_0040, "CS", "O")
    let path = "/tmp/petct-writer-test-\(getpid()).dcm"
    try DicomFileWriter.write(path: path, elements: b.elements, heap: b.heap)
    let ds = try DicomReader.read(path: path)
    #expect(ds.string(0x0010_0040) == "O")
    #expect(throws: DicomError.self) {
        try DicomFileWriter.write(path: "/nonexistent-dir-petct/x.dcm", elements: b.elements, heap: b.heap)
    }
    unlink(path)
}

/// An encapsulated item stream: an empty Basic Offset Table, then one fragment per entry.
private func itemStream(_ fragments: [[UInt8]]) -> [UInt8] {
    var out: [UInt8] = [0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]
    for f in fragments {
        let n = UInt32(f.count)
        out += [0xFE, 0xFF, 0x00, 0xE0, UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)]
        out += f
    }
    return out
}

@Test func encapsulatedPixelDataIsPassedThrough() throws {
    let rle = "1.2.840.10008.1.2.5"
    let stream = itemStream([[1, 2, 3, 4], [5, 6]])
    var b = Builder()
    b.sop()
    b.text(0x0002_0010, "UI", rle)
    b.ints(0x0028_0010, "US", [2])
    b.bytes(0x7FE0_0010, "OB", stream)
    b.elements[b.elements.count - 1].encapsulated = true
    let ds = try b.roundTrip()
    #expect(ds.transferSyntax == rle)
    #expect(ds.string(0x0002_0010) == rle)
    let px = try #require(ds.index(of: 0x7FE0_0010))
    #expect(ds.elements[px].flags.contains(.encapsulated) && ds.elements[px].flags.contains(.undefinedLength))
    let e = ds.elements[px]
    #expect(Array(ds.source[e.valueOffset..<(e.valueOffset + e.valueLength)]) == stream)
}

@Test func encapsulatedPixelDataErrors() throws {
    func build(ts: String?, stream: [UInt8], encapsulated: Bool) -> Builder {
        var b = Builder()
        b.sop()
        if let ts { b.text(0x0002_0010, "UI", ts) }
        b.bytes(0x7FE0_0010, "OB", stream)
        b.elements[b.elements.count - 1].encapsulated = encapsulated
        return b
    }
    let good = itemStream([[1, 2]])
    let cases: [(Builder, String)] = [
        (build(ts: "1.2.840.10008.1.2.5", stream: [0, 1, 2, 3], encapsulated: false), "needs encapsulated pixel data"),
        (build(ts: nil, stream: good, encapsulated: true), "(0002,0010)"),
        (build(ts: "1.2.840.10008.1.2", stream: good, encapsulated: true), "only encapsulated"),
        (build(ts: "1.2.840.10008.1.2.5", stream: Array(good.dropLast()), encapsulated: true), "runs past"),
        (
            build(ts: "1.2.840.10008.1.2.5", stream: [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0], encapsulated: true),
            "where an item was expected"
        ),
        (build(ts: "1.2.840.10008.1.2.5", stream: [], encapsulated: true), "at least the Basic Offset Table"),
        (build(ts: "1.2.840.10008.1.2.5", stream: Array(good.prefix(5)), encapsulated: true), "truncated item header"),
        (build(ts: "not a uid", stream: good, encapsulated: true), "is not a UID"),
    ]
    for (b, message) in cases {
        do {
            _ = try b.encode()
            Issue.record("expected an error containing \(message)")
        } catch let error as DicomError {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }
}
