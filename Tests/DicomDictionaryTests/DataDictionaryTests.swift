import Testing

@testable import DicomDictionary

private func code(_ s: String) -> UInt16 {
    let u = Array(s.utf8)
    return UInt16(u[0]) | (UInt16(u[1]) << 8)
}

@Test func knownEntries() throws {
    let sex = try #require(DataDictionary.entry(for: 0x0010_0040))
    #expect(sex.vr == "CS" && sex.vm == "1" && sex.keyword == "PatientSex" && sex.name == "Patient's Sex")
    #expect(!sex.retired)

    let pixel = try #require(DataDictionary.entry(for: 0x7FE0_0010))
    #expect(pixel.vr == "OB or OW" && pixel.keyword == "PixelData" && pixel.vm == "1")

    let ps = try #require(DataDictionary.entry(for: 0x0028_0030))
    #expect(ps.vr == "DS" && ps.vm == "2" && ps.keyword == "PixelSpacing")

    let ipp = try #require(DataDictionary.entry(for: 0x0020_0032))
    #expect(ipp.vr == "DS" && ipp.vm == "3" && ipp.keyword == "ImagePositionPatient")

    let dose = try #require(DataDictionary.entry(for: 0x0018_1074))
    #expect(dose.vr == "DS" && dose.keyword == "RadionuclideTotalDose")

    let seq = try #require(DataDictionary.entry(for: 0x0054_0016))
    #expect(seq.vr == "SQ" && seq.keyword == "RadiopharmaceuticalInformationSequence")

    let lut = try #require(DataDictionary.entry(for: 0x0028_1101))
    #expect(lut.vr == "US or SS" && lut.vm == "3" && lut.keyword == "RedPaletteColorLookupTableDescriptor")

    let smallest = try #require(DataDictionary.entry(for: 0x0028_0106))
    #expect(smallest.vr == "US or SS" && smallest.keyword == "SmallestImagePixelValue")

    // retired ones
    let base = try #require(DataDictionary.entry(for: 0x0008_1000))  // Network ID
    #expect(base.retired && base.keyword == "NetworkID" && base.vr == "AE")
    let ipl = try #require(DataDictionary.entry(for: 0x0020_0030))  // Image Position (Retired)
    #expect(ipl.retired && ipl.vm == "3" && ipl.keyword == "ImagePosition")

    let meta = try #require(DataDictionary.entry(for: 0x0002_0000))
    #expect(meta.keyword == "FileMetaInformationGroupLength" && meta.vr == "UL")
    let tsuid = try #require(DataDictionary.entry(for: 0x0002_0010))
    #expect(tsuid.keyword == "TransferSyntaxUID" && tsuid.vr == "UI")

    let item = try #require(DataDictionary.entry(for: 0xFFFE_E000))
    #expect(item.vr == "NONE" && item.keyword == "Item")
}

@Test func repeatingGroups() throws {
    for group: UInt32 in [0x6000, 0x6002, 0x601E, 0x60FE] {
        let e = try #require(DataDictionary.entry(for: group << 16 | 0x3000))
        #expect(e.keyword == "OverlayData" && e.vr == "OB or OW" && !e.retired)
        #expect(e.tag == group << 16 | 0x3000)
        #expect(DictionaryVR.lookup(group << 16 | 0x3000) == DictionaryVR.obOrOW)
        #expect(DataDictionary.repeatingMask(for: group << 16 | 0x3000) == "60xx3000")
    }
    let rows = try #require(DataDictionary.entry(for: 0x6004_0010))
    #expect(rows.keyword == "OverlayRows" && rows.vr == "US")
    let origin = try #require(DataDictionary.entry(for: 0x6000_0050))
    #expect(origin.keyword == "OverlayOrigin" && origin.vr == "SS" && origin.vm == "2")
    let curve = try #require(DataDictionary.entry(for: 0x5010_3000))
    #expect(curve.keyword == "CurveData" && curve.retired)
    let vpd = try #require(DataDictionary.entry(for: 0x7F10_0010))
    #expect(vpd.keyword == "VariablePixelData" && vpd.retired)
    let esc = try #require(DataDictionary.entry(for: 0x1000_0120))
    #expect(esc.keyword == "EscapeTriplet" && esc.vm == "3")
    #expect(DataDictionary.entry(for: 0x1000_0121)?.keyword == "RunLengthTriplet")
    #expect(DataDictionary.entry(for: 0x1010_1234)?.keyword == "ZonalMap")
    #expect(DataDictionary.entry(for: 0x0028_0410)?.keyword == "RowsForNthOrderCoefficients")
    #expect(DataDictionary.entry(for: 0x0020_31AB)?.keyword == "SourceImageIDs")
    // odd (private) groups never match a mask
    #expect(DataDictionary.entry(for: 0x6001_3000) == nil)
    #expect(DictionaryVR.lookup(0x6001_3000) == DictionaryVR.unknown)
    // the exact PixelData entry wins; 7FE0 is not 7Fxx-matched for other elements
    #expect(DataDictionary.entry(for: 0x7FE0_0010)?.keyword == "PixelData")
    #expect(DataDictionary.tag(forKeyword: "OverlayData") == 0x6000_3000)
    #expect(DataDictionary.repeatingMask(for: 0x0010_0010) == nil)
}

@Test func unknownAndPrivateTags() {
    #expect(DataDictionary.entry(for: 0x0009_0010) == nil)  // private creator
    #expect(DataDictionary.entry(for: 0x0009_1001) == nil)
    #expect(DictionaryVR.lookup(0x0029_0010) == DictionaryVR.unknown)
    #expect(DataDictionary.entry(for: 0x0010_0011) == nil)  // unassigned
    #expect(DictionaryVR.lookup(0x0010_0011) == DictionaryVR.unknown)
    #expect(DictionaryVR.lookup(0xFFFF_FFFF) == DictionaryVR.unknown)
    #expect(DictionaryVR.lookup(0) == code("UL"))  // CommandGroupLength
    #expect(DataDictionary.tag(forKeyword: "NoSuchKeyword") == nil)
    #expect(DataDictionary.tag(forKeyword: "") == nil)
    // items and delimiters have no VR
    #expect(DictionaryVR.lookup(0xFFFE_E000) == DictionaryVR.none)
    #expect(DictionaryVR.lookup(0xFFFE_E0DD) == DictionaryVR.none)
}

@Test func genericGroupLength() throws {
    for tag: UInt32 in [0x0008_0000, 0x0010_0000, 0x0028_0000, 0x7FE0_0000, 0x0054_0000] {
        let e = try #require(DataDictionary.entry(for: tag))
        #expect(e.vr == "UL" && e.vm == "1" && e.keyword == DataDictionary.genericGroupLengthKeyword)
        #expect(e.tag == tag)
        #expect(DictionaryVR.lookup(tag) == code("UL"))
    }
    // private group lengths are not dictionary elements (pydicom gives UN)
    #expect(DataDictionary.entry(for: 0x0009_0000) == nil)
    #expect(DictionaryVR.lookup(0x0029_0000) == DictionaryVR.unknown)
    // a mask wins over the generic group length, as in pydicom (1010xxxx -> Zonal Map)
    #expect(DataDictionary.entry(for: 0x1010_0000)?.keyword == "ZonalMap")
    #expect(DataDictionary.tag(forKeyword: "GenericGroupLength") == nil)
}

@Test func dictionaryVRCodes() {
    #expect(DictionaryVR.lookup(0x0010_0040) == code("CS"))
    #expect(DictionaryVR.lookup(0x7FE0_0010) == DictionaryVR.obOrOW)
    #expect(DictionaryVR.lookup(0x0028_0106) == DictionaryVR.usOrSS)
    #expect(DictionaryVR.lookup(0x0028_1201) == code("OW"))  // Red Palette LUT Data: OW
    #expect(DictionaryVR.lookup(0x0028_3006) == DictionaryVR.usOrOW)  // LUT Data
    #expect(DictionaryVR.lookup(0x0028_1101) == DictionaryVR.usOrSS)  // descriptor
    #expect(DictionaryVR.lookup(0x0054_0016) == code("SQ"))
    #expect(DictionaryVR.lookup(0x0020_0032) == code("DS"))
    #expect(DictionaryVR.lookup(0x0008_0018) == code("UI"))
    #expect(DictionaryVR.lookup(0x0072_006D) == code("UN"))
    #expect(code("US") == 0x5355)
}

@Test func everyEntryRoundTrips() throws {
    let all = DataDictionary.allEntries
    #expect(DataDictionary.entryCount == all.count)
    #expect(all.count == DictionaryTable.entryCount)
    // the table has one entry per line
    var lines = 0
    DictionaryTable.text.withUTF8Buffer { p in
        lines = p.split(separator: 0x0A).count
    }
    #expect(all.count == lines)
    #expect(all.count > 5000)
    var checked = 0
    for e in all {
        let got = try #require(DataDictionary.entry(for: e.tag), "entry \(e.tag)")
        #expect(got.keyword == e.keyword && got.vr == e.vr && got.vm == e.vm)
        let code = DictionaryVR.lookup(e.tag)
        switch e.vr {
        case "US or SS": #expect(code == DictionaryVR.usOrSS)
        case "OB or OW", "OW or OB": #expect(code == DictionaryVR.obOrOW)
        case "US or OW": #expect(code == DictionaryVR.usOrOW)
        case "US or SS or OW": #expect(code == DictionaryVR.usOrSSOrOW)
        case "NONE": #expect(code == DictionaryVR.none)
        default: #expect(Array(e.vr.utf8) == [UInt8(code & 0xFF), UInt8(code >> 8)], "\(e.keyword)")
        }
        if !e.keyword.isEmpty {
            #expect(DataDictionary.tag(forKeyword: e.keyword) == e.tag, "keyword \(e.keyword)")
            checked += 1
        }
        #expect(!e.vr.isEmpty && !e.vm.isEmpty)
    }
    #expect(checked > 5000)
    #expect(all.filter { $0.retired }.count > 400)
}

@Test func shadowedMaskRepresentative() {
    // 002804x0 (retired Rows For Nth Order Coefficients) is shadowed at x=0 by (0028,0400)
    #expect(DataDictionary.entry(for: 0x0028_0400)?.keyword == "TransformLabel")
    #expect(DataDictionary.tag(forKeyword: "RowsForNthOrderCoefficients") == 0x0028_0410)
    #expect(DataDictionary.tag(forKeyword: "TransformLabel") == 0x0028_0400)
}
