import DicomBytes
import DicomParser
import Testing

@testable import PetctSeries

#if canImport(Glibc)
import Glibc
#endif

func entry(
    _ path: String, series: String, study: String = "S", modality: String = "CT", number: Int? = 1,
    instance: Int? = nil, z: Double? = nil, iop: [Double]? = [1, 0, 0, 0, 1, 0], rows: Int = 4,
    imageType: [String] = ["ORIGINAL", "PRIMARY", "AXIAL"]
) -> ScanEntry {
    var e = ScanEntry(path: path)
    e.series = series; e.study = study; e.modality = modality; e.seriesNumber = number; e.instance = instance
    e.position = z.map { [0, 0, $0] }; e.orientation = iop; e.rows = rows; e.columns = 4; e.imageType = imageType
    return e
}

@Test func groupsSplitsAndSortsSeries() {
    let coronal = [1.0, 0, 0, 0, 0, -1]
    var es: [ScanEntry] = []
    // CT: 5 axial slices (shuffled) + 1 coronal slice in the same series
    for (i, z) in [3.0, 1, 4, 0, 2].enumerated() { es.append(entry("ct\(i)", series: "ct", instance: 10 - i, z: z)) }
    es.append(entry("ctcor", series: "ct", instance: 99, z: 0, iop: coronal))
    // PET: 3 slices, series number 2
    for z in [2.0, 0, 1] { es.append(entry("pt\(Int(z))", series: "pt", modality: "PT", number: 2, z: z)) }
    // scout: 2 coronal slices in their own series
    es.append(entry("scout0", series: "sc", number: 0, z: 0, iop: coronal))
    es.append(entry("scout1", series: "sc", number: 0, z: 1, iop: coronal))
    // flagged localizer, axial
    es.append(entry("loc", series: "loc", number: 5, z: 0, imageType: ["ORIGINAL", "PRIMARY", "LOCALIZER"]))
    // different image size in the PET series
    es.append(entry("ptbig", series: "pt", modality: "PT", number: 2, z: 5, rows: 8))
    // no geometry: by instance
    es.append(entry("n2", series: "nogeo", number: 7, instance: 2, iop: nil))
    es.append(entry("n1", series: "nogeo", number: 7, instance: 1, iop: nil))

    let out = SeriesScanner.group(es)
    let names = out.map { "\($0.first.series)/\($0.part)" }
    #expect(names == ["sc/0", "ct/0", "ct/1", "loc/0", "nogeo/0", "pt/0", "pt/1"])
    let ct = out[1]
    #expect(ct.entries.map { $0.path } == ["ct3", "ct1", "ct4", "ct0", "ct2"])
    #expect(!ct.ignore && !ct.localizer && ct.reason == nil)
    let cor = out[2]
    #expect(cor.ignore && cor.part == 1 && cor.entries.map { $0.path } == ["ctcor"])
    #expect(cor.reason?.contains("orientation") == true)
    // a 1-slice piece oriented unlike the main series is a localizer as well
    #expect(cor.localizer)
    #expect(out[0].localizer && out[0].ignore)
    #expect(out[3].localizer && out[3].reason?.contains("LOCALIZER") == true)
    #expect(out[4].entries.map { $0.path } == ["n1", "n2"])
    #expect(out[5].entries.map { $0.path } == ["pt0", "pt1", "pt2"] && !out[5].ignore)
    #expect(out[6].ignore && out[6].reason?.contains("image size") == true && !out[6].localizer)
}

@Test func scansFilesOnDiskAndListsSkippedOnes() throws {
    let dir = tempDir()
    defer { removeDir(dir) }
    var paths: [String] = []
    for k in 0..<3 {
        let p = "\(dir)/ct\(k).dcm"
        slice(series: "1.5", number: 3, instance: k + 1, ipp: [0, 0, Double(2 - k)], description: "CT \"body\"").write(
            p)
        paths.append(p)
    }
    var pt = slice(series: "1.6", modality: "PT", number: 4, instance: 1, ipp: [0, 0, 0])
    pt.text(0x0054_1001, "CS", "BQML")
    pt.text(0x0028_0051, "CS", "DECY\\ATTN")
    pt.write("\(dir)/pt.dcm")
    paths.append("\(dir)/pt.dcm")
    let junk = "\(dir)/notes.txt"
    let f = fopen(junk, "w")!; fputs("hello, not dicom", f); fclose(f)
    paths.append(junk)
    paths.append("\(dir)/gone.dcm")
    let r = SeriesScanner.scan(paths: paths, threads: 2)
    let ct = r.series[0], c = ct.first
    #expect(c.study == "1.2.3" && c.series == "1.5")
    #expect(ct.entries.map(\.path) == ["\(dir)/ct2.dcm", "\(dir)/ct1.dcm", "\(dir)/ct0.dcm"])
    #expect(c.description == "CT \"body\"")
    #expect(c.seriesNumber == 3 && c.imageType == ["ORIGINAL", "PRIMARY", "AXIAL"] && c.rows == 2 && c.columns == 3)
    #expect(c.orientation == [1, 0, 0, 0, 1, 0] && ct.sliceCount == 3)
    #expect(!ct.localizer && !ct.ignore && ct.reason == nil && ct.part == 0)
    let petSeries = r.series.first { $0.first.series == "1.6" }!.first
    #expect(petSeries.correctedImage == ["DECY", "ATTN"] && petSeries.units == "BQML" && petSeries.frames == 1)
    #expect(c.patientID == "P1" && c.patientName == "Doe^Jane")
    #expect(r.skipped.map(\.path) == [junk, "\(dir)/gone.dcm"])
    #expect(r.skipped.allSatisfy { !$0.reason.isEmpty })
    // CT before PT
    let uids = r.series.map(\.first.series)
    #expect(uids.firstIndex(of: "1.5")! < uids.firstIndex(of: "1.6")!)
    // same result on one thread
    #expect(SeriesScanner.scan(paths: paths, threads: 1) == r)
}

@Test func emptyScanIsEmpty() {
    let r = SeriesScanner.scan(paths: [], threads: 0)
    #expect(r.series.isEmpty && r.skipped.isEmpty)
}

@Test func scanReadsEnhancedGeometryAndFlagsNonImages() throws {
    let dir = tempDir()
    defer { removeDir(dir) }
    var f = slice(series: "mf", instance: 1, ipp: nil, iop: nil, values: [UInt16](repeating: 0, count: 12))
    f.text(0x0028_0008, "IS", "2")
    var shared = TestFile()
    var ori = TestFile(); ori.ds(0x0020_0037, [0, 1, 0, 0, 0, -1])
    shared.seq(0x0020_9116, [ori])
    f.seq(0x5200_9229, [shared])
    f.seq(
        0x5200_9230,
        [0.0, 5].map { x in
            var item = TestFile(); var pos = TestFile(); pos.ds(0x0020_0032, [x, 0, 0]); item.seq(0x0020_9113, [pos]);
            return item
        })
    f.write("\(dir)/mf.dcm")
    // a structured report: no Rows/Columns
    var sr = TestFile()
    sr.text(0x0008_0060, "CS", "SR")
    sr.text(0x0020_000D, "UI", "1.2.3")
    sr.text(0x0020_000E, "UI", "sr.1")
    sr.write("\(dir)/sr.dcm")
    let r = SeriesScanner.scan(paths: ["\(dir)/mf.dcm", "\(dir)/sr.dcm"], threads: 1)
    let mf = r.series.first { $0.first.series == "mf" }!
    #expect(mf.first.orientation == [0, 1, 0, 0, 0, -1] && mf.sliceCount == 2)
    #expect(mf.first.frames == 2)
    let report = r.series.first { $0.first.series == "sr.1" }!
    #expect(
        report.first.rows == 0 && report.first.columns == 0 && report.first.orientation == nil && report.sliceCount == 1
    )
    #expect(report.entries.map { $0.path } == ["\(dir)/sr.dcm"] && !report.localizer && report.ignore)
    #expect(report.reason == "not an image (no Rows/Columns)")
}

@Test func scanFieldSlotsIndexTheLookupTableOnce() {
    let all = ScanEntry.Field.allCases
    #expect(ScanEntry.Field.count == all.count)
    #expect(all.map(\.slot) == Array(0..<all.count))
    #expect(all.map(\.tag) == all.map(\.tag).sorted() && all.last!.tag == ScanEntry.Field.last)
    #expect(Set(all.map(\.tag)).count == all.count)
    #expect(all.allSatisfy { ScanEntry.Field(tag: $0.tag) == $0 })
    #expect(ScanEntry.Field(tag: 0x0008_0016) == nil && ScanEntry.Field(tag: 0x0054_1002) == nil)
    #expect(ScanEntry.Field.sop.tag == 0x0008_0018 && ScanEntry.Field.units.tag == 0x0054_1001)
}

@Test func scanEntryPicksFieldsOutOfOrder() throws {
    // Elements in file order, not ascending (a malformed file): every wanted field is still found, as in
    // ascending order; unwanted tags between fields are skipped.
    func entry(_ order: [Int]) throws -> ScanEntry {
        let fields: [(UInt32, String, String)] = [
            (0x0008_0060, "CS", "PT"), (0x0008_0016, "UI", "1.2.3"), (0x0020_000E, "UI", "1.2.9"),
            (0x0020_0013, "IS", "7"), (0x0010_0020, "LO", "P1"), (0x0054_1001, "CS", "BQML"),
        ]
        var body = DicomStream()
        for k in order { body.text(fields[k].0, fields[k].1, fields[k].2) }
        let bytes = part10(ts: TransferSyntax.explicitVRLittleEndian, body: body.bytes)
        return ScanEntry(path: "x", ds: try DicomReader.read(bytes: bytes))
    }
    for order in [[0, 1, 2, 3, 4, 5], [5, 2, 0, 3, 1, 4], [2, 0, 5, 4, 3, 1]] {
        let e = try entry(order)
        #expect(e.modality == "PT" && e.series == "1.2.9" && e.instance == 7, "order \(order)")
        #expect(e.patientID == "P1" && e.units == "BQML", "order \(order)")
    }
}
