import Testing
import DicomBytes
import DicomDictionary
@testable import DicomParser
#if canImport(Glibc)
import Glibc
#endif

let explicitLE = "1.2.840.10008.1.2.1"
let explicitBE = "1.2.840.10008.1.2.2"
let implicitLE = "1.2.840.10008.1.2"

@Test func tagFormatting() {
    #expect(formatTag(0x0010_0040) == "(0010,0040)")
}

/// One element of every VR, encoded explicit VR in the given endianness.
func everyVRBody(be: Bool) -> [UInt8] {
    var d = DS(be: be)
    d.text(0x0008_0005, "CS", "ISO_IR 100")
    d.text(0x0008_0016, "UI", "1.2.3\0")            // UI padded with NUL
    d.text(0x0008_0020, "DA", "20240102")
    d.text(0x0008_002A, "DT", "20240102101500")
    d.text(0x0008_0030, "TM", "101500.5 ")
    d.text(0x0008_0054, "AE", " STORESCP ")
    d.text(0x0008_0060, "CS", "PT")
    d.text(0x0008_0070, "LO", " Vendor \\B ")
    d.text(0x0008_0090, "PN", "Doe^John")
    d.text(0x0008_0190, "UR", "http://x ")
    d.text(0x0008_1010, "SH", "ST1")
    d.text(0x0010_1010, "AS", "045Y")
    d.text(0x0018_0050, "DS", " 2.5 ")
    d.text(0x0018_1160, "SH", "")
    var fl = DS(be: be); fl.u32(Float(1.5).bitPattern); fl.u32(Float(-2).bitPattern)
    d.elem(0x0018_9089, "FL", fl.bytes)
    var fd = DS(be: be); fd.u32(0); fd.u32(0)
    // FD 0.25 encoded by hand in the stream's endianness
    let bits = (0.25 as Double).bitPattern
    var fdb = DS(be: be); fdb.u16(0)
    fdb.bytes = []
    for i in 0..<8 { fdb.bytes.append(UInt8((be ? bits.byteSwapped : bits) >> (8 * UInt64(i)) & 0xFF)) }
    d.elem(0x0018_9090, "FD", fdb.bytes)
    d.text(0x0020_0013, "IS", "12")
    d.text(0x0020_0037, "DS", "1\\0\\0\\0\\1\\-1e-3")
    d.text(0x0020_4000, "LT", " a\\b ")
    var at = DS(be: be); at.tag(0x0028_0010); at.tag(0x0010_0020)
    d.elem(0x0020_5000, "AT", at.bytes)
    d.text(0x0028_0004, "ST", "st ")
    d.us(0x0028_0010, [512])
    d.us(0x0028_0106, [0xFFFE], vr: "SS")
    d.ul(0x0028_0107, [70000, 1])
    d.ul(0x0028_0108, [0xFFFF_FFFF], vr: "SL")
    d.text(0x0040_A160, "UT", "ut text  ")
    var sv = DS(be: be); sv.u32(be ? 0xFFFF_FFFF : 0xFFFF_FFFE); sv.u32(be ? 0xFFFF_FFFE : 0xFFFF_FFFF)
    d.elem(0x0040_A161, "SV", sv.bytes)   // -2
    var uv = DS(be: be); uv.u32(be ? 0 : 5); uv.u32(be ? 5 : 0)
    d.elem(0x0040_A162, "UV", uv.bytes)   // 5
    d.text(0x0040_A30A, "UC", "uc  ")
    d.elem(0x0042_0011, "OB", [1, 2, 3, 0])
    d.elem(0x0066_0016, "OF", [0, 0, 0x80, 0x3F])
    d.elem(0x0066_0017, "OD", [UInt8](repeating: 7, count: 8))
    d.elem(0x0066_0018, "OL", [1, 2, 3, 4])
    d.elem(0x0066_0019, "OV", [UInt8](repeating: 9, count: 8))
    d.elem(0x0069_0010, "UN", Array("CREATOR ".utf8))  // private creator in UN -> LO
    d.elem(0x0069_1001, "UN", [1, 2, 3, 4])            // private, no dictionary -> stays UN
    d.elem(0x7FE0_0010, "OW", [1, 0, 2, 0])
    return d.bytes
}

func checkEveryVR(_ ds: Dataset, be: Bool) {
    #expect(ds.characterSet == "ISO_IR 100")
    #expect(ds.string(0x0008_0016) == "1.2.3")
    #expect(ds.string(0x0008_0020) == "20240102")
    #expect(ds.string(0x0008_0030) == "101500.5")
    #expect(ds.string(0x0008_002A) == "20240102101500")
    #expect(ds.string(0x0008_0054) == "STORESCP")
    #expect(ds.string(0x0008_0070) == " Vendor\\B")
    #expect(ds.el(0x0008_0070)?.count == 2)
    #expect(ds.string(0x0008_0090) == "Doe^John")
    #expect(ds.string(0x0008_0190) == "http://x")
    #expect(ds.string(0x0010_1010) == "045Y")
    #expect(ds.el(0x0018_0050)?.kind == .float)
    #expect(ds.double(0x0018_0050) == 2.5)
    #expect(ds.el(0x0018_1160)?.kind == .empty)
    #expect(ds.el(0x0020_0013)?.kind == .int)
    #expect(ds.int(0x0020_0013) == 12)
    #expect(ds.doubles(0x0020_0037) == [1, 0, 0, 0, 1, -0.001])
    #expect(ds.el(0x0020_0037)?.count == 6)
    #expect(ds.string(0x0020_4000) == " a\\b")
    #expect(ds.el(0x0020_4000)?.count == 1)
    #expect(ds.string(0x0028_0004) == "st")
    #expect(ds.ints(0x0028_0010) == [512])
    #expect(ds.ints(0x0028_0106) == [-2])
    #expect(ds.ints(0x0028_0107) == [70000, 1])
    #expect(ds.ints(0x0028_0108) == [-1])
    #expect(ds.doubles(0x0018_9089) == [1.5, -2])
    #expect(ds.doubles(0x0018_9090) == [0.25])
    #expect(ds.tagValues(0x0020_5000) == [0x0028_0010, 0x0010_0020])
    #expect(ds.ints(0x0040_A161) == [-2])
    #expect(ds.uints(0x0040_A162) == [5])
    #expect(ds.string(0x0040_A30A) == "uc")
    #expect(ds.string(0x0040_A160) == "ut text")
    #expect(ds.bytes(0x0042_0011) == [1, 2, 3, 0])
    #expect(ds.bytes(0x0066_0016) == [0, 0, 0x80, 0x3F])
    #expect(ds.bytes(0x0066_0017)?.count == 8)
    #expect(ds.bytes(0x0066_0018) == [1, 2, 3, 4])
    #expect(ds.bytes(0x0066_0019)?.count == 8)
    #expect(ds.vrOf(0x0069_0010) == "LO")
    #expect(ds.string(0x0069_0010) == "CREATOR")
    #expect(ds.vrOf(0x0069_1001) == "UN")
    #expect(ds.bytes(0x0069_1001) == [1, 2, 3, 4])
    #expect(ds.bytes(0x7FE0_0010) == [1, 0, 2, 0])
    #expect(ds.vrOf(0x7FE0_0010) == "OW")
}

@Test func everyVRExplicitLittleEndian() throws {
    let ds = try DicomReader.read(bytes: part10(ts: explicitLE, body: everyVRBody(be: false)))
    #expect(ds.flags.contains(.preamble) && ds.flags.contains(.fileMeta))
    #expect(!ds.flags.contains(.implicitVR) && !ds.flags.contains(.bigEndian))
    #expect(ds.transferSyntax == explicitLE)
    #expect(ds.elements.first?.tag == 0x0002_0000)
    #expect(ds.string(0x0002_0010) == explicitLE)
    checkEveryVR(ds, be: false)
}

@Test func everyVRExplicitBigEndian() throws {
    let ds = try DicomReader.read(bytes: part10(ts: explicitBE, body: everyVRBody(be: true)))
    #expect(ds.flags.contains(.bigEndian))
    #expect(ds.transferSyntax == explicitBE)
    checkEveryVR(ds, be: true)
    // bulk values stay raw, as in the file
    #expect(ds.bytes(0x7FE0_0010) == [1, 0, 2, 0])
}

@Test func implicitVRWithoutDictionaryNeeds() throws {
    // Tags whose VR the reader knows without a dictionary entry.
    var d = DS(implicit: true)
    d.ul(0x0006_0000, [0])                           // unknown public group length -> UL
    d.text(0x0008_0005, "CS", "ISO_IR 192")
    d.ul(0x0009_0000, [10])                          // private group length -> UN (as pydicom)
    d.text(0x0009_0010, "LO", "ACME 1.0 ")           // private creator -> LO
    d.elem(0x0009_1001, "UN", [1, 2, 3])            // private data -> UN (odd length)
    d.us(0x0028_0103, [1])
    d.elem(0x7FE0_0010, "OW", [1, 2, 3, 4])
    let ds = try DicomReader.read(bytes: part10(ts: implicitLE, body: d.bytes))
    #expect(ds.flags.contains(.implicitVR))
    #expect(ds.characterSet == "ISO_IR 192")
    #expect(ds.vrOf(0x0006_0000) == "UL")
    #expect(ds.ints(0x0006_0000) == [0])
    #expect(ds.vrOf(0x0009_0000) == "UN")
    #expect(ds.bytes(0x0009_0000) == [10, 0, 0, 0])
    #expect(ds.vrOf(0x0009_0010) == "LO")
    #expect(ds.string(0x0009_0010) == "ACME 1.0")
    #expect(ds.vrOf(0x0009_1001) == "UN")
    #expect(ds.bytes(0x0009_1001) == [1, 2, 3])
    #expect(ds.el(0x0009_1001)?.flags.contains(.vrFromDictionary) == true)
    #expect(ds.ints(0x0028_0103) == [1])
    #expect(ds.vrOf(0x7FE0_0010) == "OW")
    #expect(ds.bytes(0x7FE0_0010) == [1, 2, 3, 4])
}

@Test(.enabled(if: DataDictionary.entry(for: 0x0028_0010) != nil, "needs the data dictionary"))
func implicitVRFromDictionary() throws {
    var d = DS(implicit: true)
    d.text(0x0008_0060, "CS", "CT")
    var item = DS(implicit: true); item.text(0x0008_0100, "SH", "CODE")
    d.seq(0x0008_1032, [item.bytes], undefined: true, undefinedItems: true)
    d.text(0x0010_0010, "PN", "Doe^Jane ")
    d.text(0x0018_0050, "DS", "3.0")
    d.us(0x0028_0010, [256])
    d.us(0x0028_0103, [1])
    d.us(0x0028_0106, [0xFFFF])                      // US or SS -> SS with PixelRepresentation 1
    d.elem(0x7FE0_0010, "OW", [0, 0])
    let ds = try DicomReader.read(bytes: part10(ts: implicitLE, body: d.bytes))
    #expect(ds.vrOf(0x0008_0060) == "CS")
    #expect(ds.string(0x0010_0010) == "Doe^Jane")
    #expect(ds.double(0x0018_0050) == 3.0)
    #expect(ds.ints(0x0028_0010) == [256])
    #expect(ds.vrOf(0x0028_0106) == "SS")
    #expect(ds.ints(0x0028_0106) == [-1])
    let items = ds.items(0x0008_1032)
    #expect(items.count == 1)
    #expect(ds.string(0x0008_0100, in: items.first) == "CODE")
    #expect(ds.vrOf(0x7FE0_0010) == "OW")
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
    item.ul(0x0006_0000, [4])            // implicit content inside an explicit file
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

@Test func oddLengthsAndPadding() throws {
    var d = DS()
    d.elem(0x0008_0060, "CS", Array("PT".utf8) + [0x20, 0x20, 0x00])  // odd length, padded
    d.elem(0x0009_1001, "OB", [1, 2, 3])
    d.elem(0x0010_0010, "PN", Array("A^B".utf8))
    let ds = try DicomReader.read(bytes: part10(ts: explicitLE, body: d.bytes))
    #expect(ds.string(0x0008_0060) == "PT")
    #expect(ds.bytes(0x0009_1001) == [1, 2, 3])
    #expect(ds.string(0x0010_0010) == "A^B")
}

@Test func textStrippingFollowsPydicom() throws {
    var d = DS()
    d.elem(0x0008_0008, "CS", Array(" A \\B ".utf8))          // CS: only trailing of the whole
    d.elem(0x0008_0054, "AE", Array(" A \\B ".utf8))          // AE: strip each
    d.elem(0x0008_0070, "LO", Array(" A \\B ".utf8))          // LO: rstrip each
    d.elem(0x0008_0090, "PN", Array(" A \\B== ".utf8))        // PN: rstrip whole, empty '=' groups
    d.elem(0x0008_0190, "UR", Array("x \0".utf8) + [0x20])    // UR: trailing whitespace only
    d.elem(0x0018_0050, "DS", Array("1\\\\2 ".utf8))          // empty value: stays text
    d.elem(0x0020_0011, "IS", Array("2.0 ".utf8))             // IS accepts integral floats
    d.elem(0x0020_0012, "IS", Array("2.5 ".utf8))             // not an integer
    d.elem(0x0020_0013, "IS", Array(" 1e2".utf8))
    d.elem(0x0020_0020, "CS", Array("    ".utf8))             // only padding -> empty
    let ds = try DicomReader.read(bytes: part10(ts: explicitLE, body: d.bytes))
    #expect(ds.string(0x0008_0008) == " A \\B")
    #expect(ds.string(0x0008_0054) == "A\\B")
    #expect(ds.string(0x0008_0070) == " A\\B")
    #expect(ds.string(0x0008_0090) == " A \\B")
    #expect(ds.string(0x0008_0190) == "x \0")
    let dsEl = try #require(ds.el(0x0018_0050))
    #expect(dsEl.kind == .text && dsEl.flags.contains(.invalidValue) && dsEl.count == 3)
    #expect(ds.ints(0x0020_0011) == [2])
    #expect(ds.el(0x0020_0012)?.kind == .text)
    #expect(ds.el(0x0020_0012)?.flags.contains(.invalidValue) == true)
    #expect(ds.ints(0x0020_0013) == [100])
    #expect(ds.el(0x0020_0020)?.kind == .empty)
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
    d.item([])                                 // empty basic offset table
    d.item([1, 2, 3, 4])
    d.item([5, 6])
    let end = d.bytes.count
    d.seqDelim()
    d.elem(0xFFFC_FFFC, "OB", [0, 0])          // trailing padding
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
    #expect(throws: DicomError.self) { try DicomReader.read(bytes: part10(ts: "1.2.840.10008.1.2.4.70", body: bad.bytes)) }
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
    d.elem(0x0010_0010, "PN", [0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72])   // "Müller" in Latin-1
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

@Test func deepNestingIsAnErrorNotACrash() throws {
    var content: [UInt8] = []
    for _ in 0..<3000 {
        var d = DS()
        d.seq(0x0040_A730, [content], undefined: true, undefinedItems: true)
        content = d.bytes
    }
    do {
        _ = try DicomReader.read(bytes: part10(ts: explicitLE, body: content))
        Issue.record("expected an error")
    } catch {
        #expect(error.kind == .malformed)
        #expect(error.tag == 0x0040_A730)
    }
}

@Test func truncationAtEveryOffsetNeverCrashes() throws {
    var item = DS(); item.text(0x0008_0100, "SH", "X"); item.us(0x0028_0010, [1])
    var d = DS()
    d.text(0x0008_0005, "CS", "ISO_IR 100")
    d.text(0x0008_0060, "CS", "CT")
    d.seq(0x0008_1032, [item.bytes], undefined: true, undefinedItems: true)
    d.seq(0x0008_1140, [item.bytes])
    d.text(0x0018_0050, "DS", "1.5")
    d.header(0x7FE0_0010, "OB", nil)
    d.item([]); d.item([1, 2, 3, 4]); d.seqDelim()
    for ts in [explicitLE, implicitLE, explicitBE] {
        let file = part10(ts: ts, body: d.bytes)
        var ok = 0, failed = 0
        for cut in 0...file.count {
            let prefix = Array(file[0..<cut])
            for force in [false, true] {
                do {
                    _ = try DicomReader.read(bytes: prefix, options: ReadOptions(force: force))
                    ok += 1
                } catch {
                    failed += 1
                    #expect(error.kind == .malformed || error.kind == .invalidDicom)
                }
            }
        }
        #expect(ok > 0 && failed > 0)
    }
    // the complete file parses
    let full = try DicomReader.read(bytes: part10(ts: explicitLE, body: d.bytes))
    #expect(full.double(0x0018_0050) == 1.5)
}

@Test func truncatedValuesAreCutAsPydicomDoes() throws {
    // A defined-length value running past the end of the data is read short and ends the data set.
    var d = DS()
    d.text(0x0008_0060, "CS", "CT")
    d.header(0x0010_0010, "PN", 200)
    d.bytes += Array("short".utf8) + [0x20]
    let ds = try DicomReader.read(bytes: part10(ts: explicitLE, body: d.bytes))
    #expect(ds.string(0x0010_0010) == "short")
    // a defined-length item running past its sequence is cut at the sequence end
    var item = DS(); item.text(0x0008_0100, "SH", "AB")
    var s = DS()
    s.header(0x0008_1032, "SQ", 8 + 10)
    s.tag(Tags.item); s.u32(100); s.bytes += item.bytes
    s.text(0x0010_0010, "PN", "Next")
    let ds2 = try DicomReader.read(bytes: part10(ts: explicitLE, body: s.bytes))
    #expect(ds2.string(0x0008_0100, in: ds2.items(0x0008_1032).first) == "AB")
    #expect(ds2.string(0x0010_0010) == "Next")
}

@Test func malformedErrorsCarryOffsetAndTag() throws {
    // an undefined-length sequence without its delimiter
    var item = DS(); item.text(0x0008_0100, "SH", "X")
    var d = DS()
    d.text(0x0008_0060, "CS", "CT")
    d.header(0x0008_1032, "SQ", nil)
    d.item(item.bytes)
    let file = part10(ts: explicitLE, body: d.bytes)
    do {
        _ = try DicomReader.read(bytes: file)
        Issue.record("expected an error")
    } catch {
        #expect(error.kind == .malformed)
        #expect(error.tag == 0x0008_1032)
        #expect(error.offset == file.count)
    }
}

@Test func trailingBytesShorterThanAHeaderAreIgnored() throws {
    var d = DS(); d.text(0x0008_0060, "CS", "CT")
    let ds = try DicomReader.read(bytes: part10(ts: explicitLE, body: d.bytes + [0, 0, 0]))
    #expect(ds.string(0x0008_0060) == "CT")
}

@Test func decimalFastPathMatchesStrtod() {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 11 }
    var samples: [String] = ["0.1", "-0.0", "1e22", "1e23", "123456789012345", "1234567890123456", ".5", "5.", "-1.25e-5",
                             "0.3", "2.675", "9007199254740993", "1e-22", "4.35", "+7"]
    for _ in 0..<5000 {
        let mant = next() % 1_000_000_000_000
        let dot = Int(next() % 13)
        var s = String(mant)
        if dot < s.count { s.insert(".", at: s.index(s.startIndex, offsetBy: dot)) }
        if next() % 3 == 0 { s += "e\(Int(next() % 40) - 20)" }
        if next() % 2 == 0 { s = "-" + s }
        samples.append(s)
    }
    for s in samples {
        let bytes = Array(s.utf8)
        let got = bytes.withUnsafeBytes { parsePyFloat($0) }
        let want = strtod(s, nil)
        #expect(got?.bitPattern == want.bitPattern, "\(s)")
    }
    #expect(Array("0x10".utf8).withUnsafeBytes { parsePyFloat($0) } == nil)
    #expect(Array("abc".utf8).withUnsafeBytes { parsePyFloat($0) } == nil)
    #expect(Array(" Inf ".utf8).withUnsafeBytes { parsePyFloat($0) } == .infinity)
}

@Test(.enabled(if: DataDictionary.entry(for: 0x0028_0010) != nil, "needs the data dictionary"))
func everyVRImplicitLittleEndian() throws {
    var d = DS(implicit: true)
    d.text(0x0008_0012, "DA", "20240102")
    d.text(0x0008_0013, "TM", "1015 ")
    d.text(0x0008_0015, "DT", "20240102101500")
    d.text(0x0008_0016, "UI", "1.2.3\0")
    d.text(0x0008_0050, "SH", "ACC ")
    d.text(0x0008_0054, "AE", " AE1 ")
    d.text(0x0008_0060, "CS", "PT")
    d.text(0x0008_0070, "LO", "Vendor")
    d.text(0x0008_0081, "ST", "Street 1")
    d.text(0x0008_0090, "PN", "Doe^John")
    d.text(0x0008_0119, "UC", "long")
    d.text(0x0008_030E, "UT", "text")
    d.text(0x0008_0401, "LT", "lt")
    var uv = DS(); uv.u32(7); uv.u32(0)
    d.elem(0x0008_040C, "UV", uv.bytes)
    var refItem = DS(implicit: true); refItem.text(0x0008_1155, "UI", "9.8.7\0")
    d.seq(0x0008_1140, [refItem.bytes])
    d.text(0x0008_1160, "IS", "1\\2\\3")
    d.text(0x0008_1190, "UR", "http://u")
    d.text(0x0008_2130, "DS", "0.5\\-2")
    var fl = DS(); fl.u32(Float(25).bitPattern)
    d.elem(0x0008_9459, "FL", fl.bytes)
    d.text(0x0010_1010, "AS", "045Y")
    d.elem(0x0018_1638, "OF", [0, 0, 0x80, 0x3F])
    d.ul(0x0018_6016, [123_456])
    d.ul(0x0018_6039, [0xFFFF_FFFE])                  // SL -2
    var bv = DS(); let bits = (1000.0 as Double).bitPattern
    bv.u32(UInt32(bits & 0xFFFF_FFFF)); bv.u32(UInt32(bits >> 32))
    d.elem(0x0018_9087, "FD", bv.bytes)
    d.us(0x0018_9518, [0xFFFF])                       // SS -1
    var at = DS(); at.tag(0x0054_0080)
    d.elem(0x0028_0009, "AT", at.bytes)
    d.us(0x0028_0010, [128])
    d.elem(0x0028_1201, "OW", [1, 2, 3, 4])
    d.elem(0x003A_032E, "OD", [UInt8](repeating: 0, count: 8))
    d.elem(0x0072_006D, "UN", [9, 9])
    d.elem(0x0072_0075, "OL", [1, 0, 0, 0])
    d.elem(0x0072_0081, "OV", [UInt8](repeating: 2, count: 8))
    var sv = DS(); sv.u32(0xFFFF_FFFD); sv.u32(0xFFFF_FFFF)
    d.elem(0x0072_0082, "SV", sv.bytes)
    let ds = try DicomReader.read(bytes: part10(ts: implicitLE, body: d.bytes))
    #expect(ds.flags.contains(.implicitVR))
    let expectedVRs: [(UInt32, String)] = [
        (0x0008_0012, "DA"), (0x0008_0013, "TM"), (0x0008_0015, "DT"), (0x0008_0016, "UI"), (0x0008_0050, "SH"),
        (0x0008_0054, "AE"), (0x0008_0060, "CS"), (0x0008_0070, "LO"), (0x0008_0081, "ST"), (0x0008_0090, "PN"),
        (0x0008_0119, "UC"), (0x0008_030E, "UT"), (0x0008_040C, "UV"), (0x0008_0401, "LT"), (0x0008_1140, "SQ"),
        (0x0008_1160, "IS"), (0x0008_1190, "UR"), (0x0008_2130, "DS"), (0x0008_9459, "FL"), (0x0010_1010, "AS"),
        (0x0018_1638, "OF"), (0x0018_6016, "UL"), (0x0018_6039, "SL"), (0x0018_9087, "FD"), (0x0018_9518, "SS"),
        (0x0028_0009, "AT"), (0x0028_0010, "US"), (0x0028_1201, "OW"), (0x003A_032E, "OD"), (0x0072_006D, "UN"),
        (0x0072_0075, "OL"), (0x0072_0081, "OV"), (0x0072_0082, "SV"),
    ]
    for (tag, vr) in expectedVRs {
        #expect(ds.vrOf(tag) == vr, "\(formatTag(tag))")
        #expect(ds.el(tag)?.flags.contains(.vrFromDictionary) == true, "\(formatTag(tag))")
    }
    #expect(ds.string(0x0008_0013) == "1015")
    #expect(ds.string(0x0008_0016) == "1.2.3")
    #expect(ds.string(0x0008_0054) == "AE1")
    #expect(ds.uints(0x0008_040C) == [7])
    #expect(ds.string(0x0008_1155, in: ds.items(0x0008_1140).first) == "9.8.7")
    #expect(ds.ints(0x0008_1160) == [1, 2, 3])
    #expect(ds.doubles(0x0008_2130) == [0.5, -2])
    #expect(ds.doubles(0x0008_9459) == [25])
    #expect(ds.ints(0x0018_6016) == [123_456])
    #expect(ds.ints(0x0018_6039) == [-2])
    #expect(ds.doubles(0x0018_9087) == [1000])
    #expect(ds.ints(0x0018_9518) == [-1])
    #expect(ds.tagValues(0x0028_0009) == [0x0054_0080])
    #expect(ds.bytes(0x0028_1201) == [1, 2, 3, 4])
    #expect(ds.bytes(0x0072_006D) == [9, 9])
    #expect(ds.ints(0x0072_0082) == [-3])
}

@Test func inflateIsCapped() throws {
    let zeros = [UInt8](repeating: 0, count: 1 << 20)
    let packed = try rawDeflate(zeros)
    let full = try packed.withUnsafeBytes { try inflateRaw($0) }
    #expect(full == zeros)
    do {
        _ = try packed.withUnsafeBytes { try inflateRaw($0, maxOutput: 100_000) }
        Issue.record("expected the cap to raise")
    } catch {
        #expect((error as? DicomError)?.kind == .limit)
    }
    // garbage is not a deflate stream
    #expect(throws: DicomError.self) { try [UInt8](repeating: 0xFF, count: 64).withUnsafeBytes { try inflateRaw($0) } }
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

@Test func lutDescriptorNegativeFirstValueAsPydicom() throws {
    var d = DS()
    d.us(0x0028_1101, [0x8000, 0, 16], vr: "SS")     // -32768 -> 32768
    d.us(0x0028_1102, [0xFFFF], vr: "SS")            // single value: unchanged
    let ds = try DicomReader.read(bytes: part10(ts: explicitLE, body: d.bytes))
    #expect(ds.ints(0x0028_1101) == [32768, 0, 16])
    #expect(ds.ints(0x0028_1102) == [-1])
}

@Test(.enabled(if: DataDictionary.entry(for: 0x0028_3006) != nil, "needs the data dictionary"))
func lutDataVRFromDescriptorInImplicitVR() throws {
    var one = DS(implicit: true)
    one.us(0x0028_3002, [1, 0, 16])
    one.us(0x0028_3006, [7])
    var many = DS(implicit: true)
    many.us(0x0028_3002, [2, 0, 16])
    many.us(0x0028_3006, [7, 8])
    var d = DS(implicit: true)
    d.seq(0x0028_3010, [one.bytes, many.bytes])
    let ds = try DicomReader.read(bytes: part10(ts: implicitLE, body: d.bytes))
    let items = ds.items(0x0028_3010)
    #expect(items.count == 2)
    #expect(ds.vrOf(0x0028_3006, in: items[0]) == "US")
    #expect(ds.ints(0x0028_3006, in: items[0]) == [7])
    #expect(ds.vrOf(0x0028_3006, in: items[1]) == "OW")
}

@Test func encodedValueRangeFindsTheTextOfDecodedValues() throws {
    for (ts, be, implicit) in [(explicitLE, false, false), (explicitBE, true, false), (implicitLE, false, true)] {
        var d = DS(be: be, implicit: implicit)
        d.text(0x0018_0050, "DS", " 5.000000")             // odd length: padded with a space
        d.text(0x0020_0013, "IS", "0007")
        d.text(0x0028_0030, "DS", "0.5\\0.75")
        d.seq(0x0040_0275, [{ var i = DS(be: be, implicit: implicit); i.text(0x0018_1242, "IS", "12"); return i.bytes }()])
        d.text(0x0040_A160, "UT", "long form")
        let bytes = part10(ts: ts, body: d.bytes)
        let ds = try DicomReader.read(bytes: bytes)
        func text(_ tag: UInt32, in item: Int? = nil) -> String? {
            guard let i = ds.index(of: tag, in: item), let r = ds.encodedValueRange(at: i) else { return nil }
            return String(decoding: ds.source[r], as: UTF8.self)
        }
        #expect(text(0x0018_0050) == " 5.000000 ", "\(ts)")
        #expect(text(0x0020_0013) == "0007", "\(ts)")
        #expect(text(0x0028_0030) == "0.5\\0.75", "\(ts)")      // even length: no padding
        #expect(text(0x0040_A160) == "long form ", "\(ts)")
        #expect(text(0x0002_0010)?.hasPrefix(ts) == true, "\(ts)")   // file meta: explicit LE in every syntax
        let sq = try #require(ds.index(of: 0x0040_0275))
        #expect(ds.encodedValueRange(at: sq) == nil)
        let item = try #require(ds.items(0x0040_0275).first)
        #expect(ds.encodedValueRange(at: item) == nil)
        #expect(text(0x0018_1242, in: item) == "12", "\(ts)")
        #expect(ds.encodedValueRange(at: -1) == nil && ds.encodedValueRange(at: ds.elements.count) == nil)
    }
}
