import DicomBytes
import DicomParser
import Glibc
import Testing

@testable import PetctSUV

/// Known answers: the SUV digital reference objects in ../shared/data/suv-dro/ (see its README and
/// DRO_list.csv). Every case encodes SUVbw min/median/max = 0.20/1.00/4.00 inside the mask, whatever
/// the Units (for GML/CM2ML the stored values are SUVlbm/SUVbsa, which must be converted to SUVbw).
@Suite struct DROTests {
    static let cases = [
        "DRO_0_0", "DRO_1_0", "DRO_2_0", "DRO_2_1", "DRO_2_3", "DRO_2_4",
        "DRO_3_0", "DRO_3_1", "DRO_3_3", "DRO_4_0", "DRO_4_2",
    ]

    /// <repo>/../shared/data from this file's path, else ../shared/data from the working directory.
    static var dataRoot: String? {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // DROTests.swift, PetctSUVTests, Tests
        let repo = parts.joined(separator: "/")
        for candidate in [repo + "/../shared/data", "../shared/data"] where exists(candidate + "/suv-dro/DRO_list.csv")
        {
            return candidate
        }
        return nil
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func listDicomFiles(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasSuffix(".dcm") { names.append(name) }
        }
        return names.sorted().map { dir + "/" + $0 }
    }

    @Test(
        .enabled(if: DROTests.dataRoot != nil, "skipped: SUV DRO data not found at <repo>/../shared/data/suv-dro"),
        arguments: cases)
    func medianSUVbwInsideMask(_ id: String) throws {
        let root = try #require(Self.dataRoot)
        let dir = root + "/suv-dro/" + id
        let files = Self.listDicomFiles(dir + "/PT")
        try #require(files.count == 20, "\(id): expected 20 slices")

        // SUV factors from the headers alone, as the library computes them.
        let headers = try files.map { (p) throws(DicomError) in
            try DicomReader.read(path: p, options: ReadOptions(stopBeforePixels: true))
        }
        let (factors, info) = try SUVCalculator.compute(slices: headers, kind: "bw")
        #expect(factors.count == 20)

        let mask = try NiftiMask(path: dir + "/mask/DRO_mask.nii.gz")
        var inside: [Double] = []
        inside.reserveCapacity(mask.count)
        var maxStep = 0.0  // largest quantisation step of the stored values, in SUV
        for (k, path) in files.enumerated() {
            let ds = try DicomReader.read(path: path)
            let slope = ds.double(0x0028_1053) ?? 1, intercept = ds.double(0x0028_1052) ?? 0
            let pixels = try nativeInt16Pixels(ds)
            try #require(pixels.count == mask.columns * mask.rows && k < mask.slices)
            maxStep = max(maxStep, abs(slope * factors[k]))
            for j in 0..<pixels.count where mask.voxels[k * pixels.count + j] != 0 {
                inside.append((Double(pixels[j]) * slope + intercept) * factors[k])
            }
        }
        try #require(inside.count == 203_202, "\(id): mask has \(inside.count) voxels")
        inside.sort()
        let n = inside.count
        let median = n % 2 == 1 ? inside[n / 2] : (inside[n / 2 - 1] + inside[n / 2]) / 2
        let got = [inside[0], median, inside[n - 1]]
        let want = [0.20, 1.00, 4.00]
        // 0.5 % as in DRO_list.csv checks, plus half a quantisation step of the stored values (DRO_2_3
        // stores SUVbsa with RescaleSlope 0.01, i.e. steps of 0.038 SUVbw).
        for s in 0..<3 {
            let tolerance = 0.005 * want[s] + maxStep / 2
            #expect(
                abs(got[s] - want[s]) <= tolerance,
                "\(id) \(["min", "median", "max"][s]): \(got[s]) vs \(want[s]) (factor \(factors[0]); \(info))")
        }
        print("DRO \(id): factor[0] = \(factors[0]), SUVbw min/median/max = \(got[0]) / \(got[1]) / \(got[2])")
    }
}

/// Stored values of an uncompressed 16-bit single-frame slice (the DROs are Explicit VR Little Endian).
func nativeInt16Pixels(_ ds: Dataset) throws -> [Int32] {
    guard let i = ds.index(of: 0x7FE0_0010), let r = ds.bytesRange(at: i), r.upperBound <= ds.source.count else {
        throw DicomError(.noPixels, "no native pixel data")
    }
    guard ds.int(0x0028_0100) == 16, ds.isLittleEndian else {
        throw DicomError(.argument, "test expects 16-bit LE pixels")
    }
    let signed = ds.int(0x0028_0103) == 1
    let count = r.count / 2
    var out = [Int32](repeating: 0, count: count)
    ds.source.withUnsafeBytes { raw in
        out.withUnsafeMutableBufferPointer { dst in
            for j in 0..<count {
                let v = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: r.lowerBound + 2 * j, as: UInt16.self))
                dst[j] = signed ? Int32(Int16(bitPattern: v)) : Int32(v)
            }
        }
    }
    return out
}

/// A gzip-compressed NIfTI-1 mask (int16 or uint8 voxels, x fastest), just enough for the DRO masks.
struct NiftiMask {
    let columns: Int, rows: Int, slices: Int
    let voxels: [UInt8]  // 1 inside, 0 outside
    var count: Int { voxels.reduce(0) { $0 + Int($1) } }

    init(path: String) throws {
        let gz = try readWholeFile(path)
        // gzip member header (RFC 1952): magic, method 8, flags; skip the optional fields.
        guard gz.count > 18, gz[0] == 0x1F, gz[1] == 0x8B, gz[2] == 8 else {
            throw DicomError(.invalidDicom, "not gzip")
        }
        let flags = gz[3]
        var p = 10
        if flags & 0x04 != 0 { p += 2 + Int(gz[p]) + Int(gz[p + 1]) << 8 }
        if flags & 0x08 != 0 { while p < gz.count && gz[p] != 0 { p += 1 }; p += 1 }
        if flags & 0x10 != 0 { while p < gz.count && gz[p] != 0 { p += 1 }; p += 1 }
        if flags & 0x02 != 0 { p += 2 }
        guard p < gz.count else { throw DicomError(.malformed, "truncated gzip header", offset: p) }
        let start = p
        let nii = try gz.withUnsafeBytes { raw throws(DicomError) in
            try inflateRaw(UnsafeRawBufferPointer(rebasing: raw[start...]), maxRatio: 10_000)
        }
        guard nii.count >= 352 else { throw DicomError(.malformed, "short NIfTI") }
        func i16(_ o: Int) -> Int { Int(Int16(bitPattern: UInt16(nii[o]) | UInt16(nii[o + 1]) << 8)) }
        func i32(_ o: Int) -> Int {
            Int(
                Int32(
                    bitPattern: UInt32(nii[o]) | UInt32(nii[o + 1]) << 8 | UInt32(nii[o + 2]) << 16 | UInt32(nii[o + 3])
                        << 24))
        }
        guard i32(0) == 348, i16(40) >= 3 else { throw DicomError(.malformed, "not a little-endian NIfTI-1 volume") }
        columns = i16(42); rows = i16(44); slices = i16(46)
        let datatype = i16(70)
        let voxOffset = Int(
            Float(
                bitPattern: UInt32(nii[108]) | UInt32(nii[109]) << 8 | UInt32(nii[110]) << 16 | UInt32(nii[111]) << 24))
        let n = columns * rows * slices
        let bytesPer = datatype == 4 || datatype == 512 ? 2 : datatype == 2 ? 1 : 0
        guard bytesPer > 0, n > 0, voxOffset >= 348, voxOffset + n * bytesPer <= nii.count else {
            throw DicomError(.malformed, "unsupported NIfTI datatype \(datatype) or size")
        }
        var v = [UInt8](repeating: 0, count: n)
        nii.withUnsafeBufferPointer { src in
            v.withUnsafeMutableBufferPointer { dst in
                for j in 0..<n {
                    let o = voxOffset + j * bytesPer
                    dst[j] = (bytesPer == 1 ? src[o] : src[o] | src[o + 1]) != 0 ? 1 : 0
                }
            }
        }
        voxels = v
    }
}

/// Real PET slices (TCIA ACRIN-FLT-Breast, see ../shared/data/README.md), checked against the QIBA
/// arithmetic done by hand from their headers (values printed by pydicom).
@Suite struct RealSampleTests {
    static var samples: String? { DROTests.dataRoot.map { $0 + "/real-samples" } }

    func header(_ name: String) throws -> Dataset {
        try DicomReader.read(
            path: try #require(Self.samples) + "/" + name, options: ReadOptions(stopBeforePixels: true))
    }

    @Test(.enabled(if: RealSampleTests.samples != nil, "skipped: ../shared/data/real-samples not found"))
    func flt1() throws {
        // Weight 69.7344 kg, dose 178340011.59668 Bq of F-18 (6586.2 s) at 14:17:00, SeriesTime
        // 15:23:16.921 (= AcquisitionTime): 3976.921 s of decay.
        let ds = try header("pet-acrin-flt-breast-1.dcm")
        let r = try SUVCalculator.compute(slices: [ds], kind: "bw")
        let elapsed: Double = hms(15, 23, 16.921) - hms(14, 17)
        #expect(close(r.factors[0], 69_734.4 / (178_340_011.59668 * pow(2, -elapsed / 6586.2)), 1e-12))
        #expect(r.info.scanStart.map(DicomDateTime.format) == "1960-06-14T15:23:16.921000")
        #expect(r.info.sex == "F")
        // No PatientSize in this file: the height-based kinds name it.
        do {
            _ = try SUVCalculator.compute(slices: [ds], kind: "lbm")
            Issue.record("no error")
        } catch {
            #expect(error.tag == Tags.patientSize)
        }
    }

    @Test(.enabled(if: RealSampleTests.samples != nil, "skipped: ../shared/data/real-samples not found"))
    func flt2() throws {
        // A dynamic study: injection 11:19:59.000, SeriesTime 11:19:59.109 (before the frame's
        // AcquisitionTime 11:35:59.109), so the scan start is the series time: 0.109 s of decay.
        let ds = try header("pet-acrin-flt-breast-2.dcm")
        let r = try SUVCalculator.compute(slices: [ds], kind: "bw")
        #expect(close(r.factors[0], 82_174 / (173_529_998.7793 * pow(2, -0.109 / 6586.2)), 1e-9))
        #expect(r.info.scanStartSource?.contains("SeriesDate/SeriesTime") == true)
    }
}
