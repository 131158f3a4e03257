import DicomBytes
import DicomDictionary
import Testing

@testable import DicomParser

#if canImport(Glibc)
import Glibc
#endif

// Data set structure: sequences, preambles, encapsulated pixel data, stopping before pixels,
// character sets, deflate, command group.

let explicitLE = "1.2.840.10008.1.2.1"
let explicitBE = "1.2.840.10008.1.2.2"
let implicitLE = "1.2.840.10008.1.2"

@Test func tagFormatting() {
    #expect(formatTag(0x0010_0040) == "(0010,0040)")
}

@Test func sequencesDefinedAndUndefinedNested() throws {
    for undefinedSeq in [false, true] {
        for undefinedItems in [false, true] {
            var inner = DS(); inner.text(0x0008_0100, "SH", "INNER")
            var item1 = DS()
            item1.text(0x0008_0100, "SH", "A")
            item1.seq(0x0008_2218, [inner.bytes, inner.bytes], undefined: undefinedSeq, undefinedItems: undefinedItems)
            var item2 = DS(); item2.us(0x0028_0010, [7])
            var d = DS()
            d.seq(0x0008_1032, [item1.bytes, item2.bytes, []], undefined: undefinedSeq, undefinedItems: undefinedItems)
            d.text(0x0010_0010, "PN", "After^Seq")
            d.seq(0x0010_1002, [], undefined: undefinedSeq)
            let ds = try DicomReader.read(bytes: part10(ts: explicitLE, body: d.bytes))
            let si = try #require(ds.idx(0x0008_1032))
            #expect(ds.elements[si].kind == .sequence)
            #expect(ds.elements[si].count == 3)
            #expect(ds.elements[si].flags.contains(.undefinedLength) == undefinedSeq)
            let items = ds.items(0x0008_1032)
            #expect(items.count == 3)
            #expect(ds.elements[items[0]].count == 2)
            #expect(ds.elements[items[2]].count == 0)
            #expect(ds.string(0x0008_0100, in: items[0]) == "A")
            let innerItems = ds.items(0x0008_2218, in: items[0])
            #expect(innerItems.count == 2)
            #expect(ds.string(0x0008_0100, in: innerItems[1]) == "INNER")
            #expect(ds.ints(0x0028_0010, in: items[1]) == [7])
            // 3 items + 2 elements of item1 + 2 inner items with one element each + 1 element of item2
            #expect(ds.elements[si].descendants == 3 + 2 + 4 + 1)
            #expect(ds.string(0x0010_0010) == "After^Seq")
            #expect(ds.elements[try #require(ds.idx(0x0010_1002))].count == 0)
        }
    }
}

@Test func unknownVRUndefinedLengthIsParsedAsImplicitSequence() throws {
    var item = DS(implicit: true)
    item.ul(0x0006_0000, [4])  // implicit content inside an explicit file
    item.text(0x0009_0010, "LO", "PRIV")
    var d = DS()
    d.text(0x0008_0060, "CS", "PT")
    d.seq(0x0009_1010, [item.bytes], undefined: true, undefinedItems: true, vr: "UN")
    d.text(0x0010_0010, "PN", "X")
    let ds = try DicomReader.read(bytes: part10(ts: explicitLE, body: d.bytes))
    let si = try #require(ds.idx(0x0009_1010))
    #expect(ds.elements[si].kind == .sequence)
    #expect(ds.elements[si].vrString == "SQ")
    let items = ds.items(0x0009_1010)
    #expect(items.count == 1)
    #expect(ds.ints(0x0006_0000, in: items[0]) == [4])
    #expect(ds.string(0x0009_0010, in: items[0]) == "PRIV")
    #expect(ds.string(0x0010_0010) == "X")
}

@Test func preambleVariantsAndForce() throws {
    var d = DS(); d.text(0x0008_0060, "CS", "CT"); d.us(0x0028_0010, [4])
    // no DICM, without force -> invalid
    let noPreamble = part10(ts: explicitLE, body: d.bytes, preamble: false)
    #expect(throws: DicomError.self) { try DicomReader.read(bytes: noPreamble) }
    do {
        _ = try DicomReader.read(bytes: noPreamble)
    } catch {
        #expect(error.kind == .invalidDicom)
    }
    // with force: meta read from the start
    let ds1 = try DicomReader.read(bytes: noPreamble, options: ReadOptions(force: true))
    #expect(!ds1.flags.contains(.preamble) && ds1.flags.contains(.fileMeta))
    #expect(ds1.string(0x0008_0060) == "CT")
    // no meta at all, explicit VR LE, force: detected from the first element
    let ds2 = try DicomReader.read(bytes: d.bytes, options: ReadOptions(force: true))
    #expect(!ds2.flags.contains(.fileMeta) && !ds2.flags.contains(.implicitVR))
    #expect(ds2.ints(0x0028_0010) == [4])
    #expect(ds2.transferSyntax == explicitLE)
    // no meta, implicit VR
    var imp = DS(implicit: true); imp.ul(0x0009_0000, [0]); imp.text(0x0009_0010, "LO", "X")
    let ds3 = try DicomReader.read(bytes: imp.bytes, options: ReadOptions(force: true))
    #expect(ds3.flags.contains(.implicitVR))
    #expect(ds3.string(0x0009_0010) == "X")
    // no meta, big endian explicit
    var bed = DS(be: true); bed.text(0x0008_0060, "CS", "MR"); bed.us(0x0028_0010, [258])
    let ds4 = try DicomReader.read(bytes: bed.bytes, options: ReadOptions(force: true))
    #expect(ds4.flags.contains(.bigEndian))
    #expect(ds4.ints(0x0028_0010) == [258])
    // preamble + DICM but no meta
    let ds5 = try DicomReader.read(bytes: [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + d.bytes)
    #expect(ds5.flags.contains(.preamble) && !ds5.flags.contains(.fileMeta))
    #expect(ds5.string(0x0008_0060) == "CT")
    // a wrong group length is ignored: all group 0002 elements are meta
    let wrongGL = part10(ts: explicitLE, body: d.bytes, groupLength: 4)
    let ds6 = try DicomReader.read(bytes: wrongGL)
    #expect(ds6.string(0x0002_0010) == explicitLE)
    #expect(ds6.string(0x0008_0060) == "CT")
    // not DICOM
    #expect(throws: DicomError.self) { try DicomReader.read(bytes: Array("hello world".utf8)) }
    #expect(throws: DicomError.self) { try DicomReader.read(bytes: []) }
}

@Test func explicitFileWithImplicitDataSetIsDetected() throws {
    // Meta says explicit but the data set is implicit: pydicom switches on the first element.
    var imp = DS(implicit: true); imp.ul(0x0009_0000, [0]); imp.text(0x0009_0010, "LO", "Y")
    let ds = try DicomReader.read(bytes: part10(ts: explicitLE, body: imp.bytes))
    #expect(ds.flags.contains(.implicitVR))
    #expect(ds.string(0x0009_0010) == "Y")
}

@Test func encapsulatedPixelDataRange() throws {
    var d = DS()
    d.us(0x0028_0010, [2])
    d.header(0x7FE0_0010, "OB", nil)
    let start = d.bytes.count
    d.item([])  // empty basic offset table
    d.item([1, 2, 3, 4])
    d.item([5, 6])
    let end = d.bytes.count
    d.seqDelim()
    d.elem(0xFFFC_FFFC, "OB", [0, 0])  // trailing padding
    let file = part10(ts: "1.2.840.10008.1.2.4.70", body: d.bytes)
    let metaLen = file.count - d.bytes.count
    let ds = try DicomReader.read(bytes: file)
    let pi = try #require(ds.idx(0x7FE0_0010))
    let e = ds.elements[pi]
    #expect(e.kind == .bytes)
    #expect(e.flags.contains(.undefinedLength) && e.flags.contains(.encapsulated))
    #expect(e.valueOffset == metaLen + start)
    #expect(e.valueLength == end - start)
    #expect(ds.bytes(0xFFFC_FFFC) == [0, 0])
    #expect(ds.transferSyntax == "1.2.840.10008.1.2.4.70")

    // an item running past the data -> malformed, never a crash
    var bad = DS()
    bad.header(0x7FE0_0010, "OB", nil)
    bad.tag(Tags.item); bad.u32(1000); bad.bytes += [1, 2]
    #expect(throws: DicomError.self) {
        try DicomReader.read(bytes: part10(ts: "1.2.840.10008.1.2.4.70", body: bad.bytes))
    }
}

@Test func stopBeforePixels() throws {
    var d = DS()
    d.text(0x0008_0060, "CS", "CT")
    d.us(0x0028_0010, [2])
    d.elem(0x7FE0_0010, "OW", [UInt8](repeating: 1, count: 100_000))
    d.text(0xFFFA_FFFA, "CS", "ZZ")
    let bytes = part10(ts: explicitLE, body: d.bytes)
    let ds = try DicomReader.read(bytes: bytes, options: ReadOptions(stopBeforePixels: true))
    #expect(ds.flags.contains(.stoppedBeforePixels))
    #expect(ds.idx(0x7FE0_0010) == nil)
    #expect(ds.ints(0x0028_0010) == [2])
    let full = try DicomReader.read(bytes: bytes)
    #expect(!full.flags.contains(.stoppedBeforePixels))
    #expect(full.bytes(0x7FE0_0010)?.count == 100_000)

    // through a file: only a prefix is read
    let path = "/tmp/petct-h1-test-\(getpid()).dcm"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    #expect(fd >= 0)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    defer { unlink(path) }
    let fromFile = try DicomReader.read(path: path, options: ReadOptions(stopBeforePixels: true))
    #expect(fromFile.flags.contains(.stoppedBeforePixels))
    #expect(fromFile.source.count < 20_000)
    #expect(fromFile.string(0x0008_0060) == "CT")
    let fullFile = try DicomReader.read(path: path)
    #expect(fullFile.source.count == bytes.count)
    #expect(fullFile.string(0xFFFA_FFFA) == "ZZ")

    // a header larger than the first prefix still works
    var big = DS()
    big.elem(0x0008_0060, "UN", [UInt8](repeating: 0x41, count: 40_000))
    big.us(0x0028_0010, [3])
    big.elem(0x7FE0_0010, "OW", [UInt8](repeating: 1, count: 200_000))
    let bigBytes = part10(ts: explicitLE, body: big.bytes)
    let fd2 = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    _ = bigBytes.withUnsafeBytes { write(fd2, $0.baseAddress, $0.count) }
    close(fd2)
    let ds2 = try DicomReader.read(path: path, options: ReadOptions(stopBeforePixels: true))
    #expect(ds2.flags.contains(.stoppedBeforePixels))
    #expect(ds2.ints(0x0028_0010) == [3])
    #expect(ds2.source.count < bigBytes.count)

    // missing file -> io
    do {
        _ = try DicomReader.read(path: "/nonexistent/x.dcm")
        Issue.record("expected an error")
    } catch {
        #expect(error.kind == .io)
        #expect(error.message.contains("/nonexistent/x.dcm"))
    }
}

@Test func characterSetsAndItemOverride() throws {
    var item = DS()
    item.text(0x0008_0005, "CS", "ISO_IR 192")
    item.elem(0x0010_0010, "PN", Array("Müller".utf8))
    var d = DS()
    d.text(0x0008_0005, "CS", "ISO_IR 100")
    d.elem(0x0010_0010, "PN", [0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72])  // "Müller" in Latin-1
    d.seq(0x0040_0275, [item.bytes])
    let bytes = part10(ts: explicitLE, body: d.bytes)
    let ds = try DicomReader.read(bytes: bytes)
    #expect(ds.string(0x0010_0010) == "Müller")
    let items = ds.items(0x0040_0275)
    #expect(ds.string(0x0010_0010, in: items.first) == "Müller")
    let raw = try DicomReader.read(bytes: bytes, options: ReadOptions(decodeCharset: false))
    let e = try #require(raw.el(0x0010_0010))
    #expect(e.kind == .rawText)
    #expect(e.valueLength == 6)
}

@Test func deflatedTransferSyntax() throws {
    var d = DS()
    d.text(0x0008_0060, "CS", "PT")
    d.us(0x0028_0010, [9])
    d.elem(0x7FE0_0010, "OB", [UInt8](repeating: 3, count: 1000))
    let deflated = try rawDeflate(d.bytes)
    #expect(deflated.count < d.bytes.count)
    let file = part10(ts: "1.2.840.10008.1.2.1.99", body: deflated)
    let ds = try DicomReader.read(bytes: file)
    #expect(ds.flags.contains(.deflated))
    #expect(ds.string(0x0008_0060) == "PT")
    #expect(ds.ints(0x0028_0010) == [9])
    #expect(ds.bytes(0x7FE0_0010) == [UInt8](repeating: 3, count: 1000))
    #expect(ds.source.count == file.count - deflated.count + d.bytes.count)
    // corrupt / truncated deflate -> malformed
    let cut = Array(file[0..<(file.count - deflated.count / 2)])
    #expect(throws: DicomError.self) { try DicomReader.read(bytes: cut) }
}

@Test func commandGroupElementsAreRead() throws {
    // A stream starting with command group (0000) elements in implicit VR, then an explicit data set.
    var cmd = DS(implicit: true)
    cmd.ul(0x0000_0000, [8])
    cmd.us(0x0000_0100, [1])
    var d = DS(); d.text(0x0008_0060, "CS", "CT")
    let ds = try DicomReader.read(bytes: cmd.bytes + d.bytes, options: ReadOptions(force: true))
    #expect(ds.ints(0x0000_0000) == [8])
    #expect(ds.string(0x0008_0060) == "CT")
}

@Test func encodedValueRangeFindsTheTextOfDecodedValues() throws {
    for (ts, be, implicit) in [(explicitLE, false, false), (explicitBE, true, false), (implicitLE, false, true)] {
        var d = DS(be: be, implicit: implicit)
        d.text(0x0018_0050, "DS", " 5.000000")  // odd length: padded with a space
        d.text(0x0020_0013, "IS", "0007")
        d.text(0x0028_0030, "DS", "0.5\\0.75")
        d.seq(
            0x0040_0275,
            [
                {
                    var i = DS(be: be, implicit: implicit); i.text(0x0018_1242, "IS", "12"); return i.bytes
                }()
            ])
        d.text(0x0040_A160, "UT", "long form")
        let bytes = part10(ts: ts, body: d.bytes)
        let ds = try DicomReader.read(bytes: bytes)
        func text(_ tag: UInt32, in item: Int? = nil) -> String? {
            guard let i = ds.index(of: tag, in: item), let r = ds.encodedValueRange(at: i) else { return nil }
            return String(decoding: ds.source[r], as: UTF8.self)
        }
        #expect(text(0x0018_0050) == " 5.000000 ", "\(ts)")
        #expect(text(0x0020_0013) == "0007", "\(ts)")
        #expect(text(0x0028_0030) == "0.5\\0.75", "\(ts)")  // even length: no padding
        #expect(text(0x0040_A160) == "long form ", "\(ts)")
        #expect(text(0x0002_0010)?.hasPrefix(ts) == true, "\(ts)")  // file meta: explicit LE in every syntax
        let sq = try #require(ds.index(of: 0x0040_0275))
        #expect(ds.encodedValueRange(at: sq) == nil)
        let item = try #require(ds.items(0x0040_0275).first)
        #expect(ds.encodedValueRange(at: item) == nil)
        #expect(text(0x0018_1242, in: item) == "12", "\(ts)")
        #expect(ds.encodedValueRange(at: -1) == nil && ds.encodedValueRange(at: ds.elements.count) == nil)
    }
}
