import DicomBytes
import DicomDictionary
import Testing

@testable import DicomParser

#if canImport(Glibc)
import Glibc
#endif

// Value representations: every VR in each transfer syntax, implicit-VR lookup, padding, text and
// decimal parsing, LUT descriptors.

/// One element of every VR, encoded explicit VR in the given endianness.
func everyVRBody(be: Bool) -> [UInt8] {
    var d = DS(be: be)
    d.text(0x0008_0005, "CS", "ISO_IR 100")
    d.text(0x0008_0016, "UI", "1.2.3\0")  // UI padded with NUL
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
    d.elem(0x0040_A161, "SV", sv.bytes)  // -2
    var uv = DS(be: be); uv.u32(be ? 0 : 5); uv.u32(be ? 5 : 0)
    d.elem(0x0040_A162, "UV", uv.bytes)  // 5
    d.text(0x0040_A30A, "UC", "uc  ")
    d.elem(0x0042_0011, "OB", [1, 2, 3, 0])
    d.elem(0x0066_0016, "OF", [0, 0, 0x80, 0x3F])
    d.elem(0x0066_0017, "OD", [UInt8](repeating: 7, count: 8))
    d.elem(0x0066_0018, "OL", [1, 2, 3, 4])
    d.elem(0x0066_0019, "OV", [UInt8](repeating: 9, count: 8))
    d.elem(0x0069_0010, "UN", Array("CREATOR ".utf8))  // private creator in UN -> LO
    d.elem(0x0069_1001, "UN", [1, 2, 3, 4])  // private, no dictionary -> stays UN
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
    d.ul(0x0006_0000, [0])  // unknown public group length -> UL
    d.text(0x0008_0005, "CS", "ISO_IR 192")
    d.ul(0x0009_0000, [10])  // private group length -> UN (as pydicom)
    d.text(0x0009_0010, "LO", "ACME 1.0 ")  // private creator -> LO
    d.elem(0x0009_1001, "UN", [1, 2, 3])  // private data -> UN (odd length)
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
    d.us(0x0028_0106, [0xFFFF])  // US or SS -> SS with PixelRepresentation 1
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
    d.ul(0x0018_6039, [0xFFFF_FFFE])  // SL -2
    var bv = DS(); let bits = (1000.0 as Double).bitPattern
    bv.u32(UInt32(bits & 0xFFFF_FFFF)); bv.u32(UInt32(bits >> 32))
    d.elem(0x0018_9087, "FD", bv.bytes)
    d.us(0x0018_9518, [0xFFFF])  // SS -1
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
    d.elem(0x0008_0008, "CS", Array(" A \\B ".utf8))  // CS: only trailing of the whole
    d.elem(0x0008_0054, "AE", Array(" A \\B ".utf8))  // AE: strip each
    d.elem(0x0008_0070, "LO", Array(" A \\B ".utf8))  // LO: rstrip each
    d.elem(0x0008_0090, "PN", Array(" A \\B== ".utf8))  // PN: rstrip whole, empty '=' groups
    d.elem(0x0008_0190, "UR", Array("x \0".utf8) + [0x20])  // UR: trailing whitespace only
    d.elem(0x0018_0050, "DS", Array("1\\\\2 ".utf8))  // empty value: stays text
    d.elem(0x0020_0011, "IS", Array("2.0 ".utf8))  // IS accepts integral floats
    d.elem(0x0020_0012, "IS", Array("2.5 ".utf8))  // not an integer
    d.elem(0x0020_0013, "IS", Array(" 1e2".utf8))
    d.elem(0x0020_0020, "CS", Array("    ".utf8))  // only padding -> empty
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

@Test func decimalFastPathMatchesStrtod() {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407; return state >> 11
    }
    var samples: [String] = [
        "0.1", "-0.0", "1e22", "1e23", "123456789012345", "1234567890123456", ".5", "5.", "-1.25e-5",
        "0.3", "2.675", "9007199254740993", "1e-22", "4.35", "+7",
    ]
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

@Test func lutDescriptorNegativeFirstValueAsPydicom() throws {
    var d = DS()
    d.us(0x0028_1101, [0x8000, 0, 16], vr: "SS")  // -32768 -> 32768
    d.us(0x0028_1102, [0xFFFF], vr: "SS")  // single value: unchanged
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
