#if canImport(Glibc)
import Glibc
#endif

/// Writes small explicit-VR little-endian DICOM files for the tests.
struct TestFile {
    var elements: [(tag: UInt32, vr: String, value: [UInt8])] = []

    mutating func text(_ tag: UInt32, _ vr: String, _ s: String) {
        var b = Array(s.utf8)
        if b.count % 2 == 1 { b.append(vr == "UI" ? 0 : 0x20) }
        elements.append((tag, vr, b))
    }
    mutating func us(_ tag: UInt32, _ v: UInt16) { elements.append((tag, "US", [UInt8(v & 0xFF), UInt8(v >> 8)])) }
    mutating func ds(_ tag: UInt32, _ vs: [Double]) { text(tag, "DS", vs.map { fmt($0) }.joined(separator: "\\")) }
    mutating func seq(_ tag: UInt32, _ items: [TestFile]) {
        var b: [UInt8] = []
        for it in items {
            let body = it.body()
            b += le16(0xFFFE) + le16(0xE000) + le32(UInt32(body.count)) + body
        }
        elements.append((tag, "SQ", b))
    }
    mutating func pixels(_ values: [UInt16]) {
        var b: [UInt8] = []
        for v in values { b += [UInt8(v & 0xFF), UInt8(v >> 8)] }
        elements.append((0x7FE0_0010, "OW", b))
    }

    func body() -> [UInt8] {
        var out: [UInt8] = []
        for e in elements.sorted(by: { $0.tag < $1.tag }) {
            out += le16(UInt16(e.tag >> 16)) + le16(UInt16(e.tag & 0xFFFF)) + Array(e.vr.utf8)
            if ["OB", "OW", "SQ", "UN", "UT", "OF"].contains(e.vr) {
                out += [0, 0] + le32(UInt32(e.value.count))
            } else {
                out += le16(UInt16(e.value.count))
            }
            out += e.value
        }
        return out
    }

    func bytes() -> [UInt8] {
        var meta = TestFile()
        meta.elements.append((0x0002_0001, "OB", [0, 1]))
        meta.text(0x0002_0002, "UI", "1.2.840.10008.5.1.4.1.1.2")
        meta.text(0x0002_0003, "UI", "1.2.3.4")
        meta.text(0x0002_0010, "UI", "1.2.840.10008.1.2.1")
        let mb = meta.body()
        var group = TestFile()
        group.elements.append((0x0002_0000, "UL", le32(UInt32(mb.count))))
        return [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + group.body() + mb + body()
    }

    func write(_ path: String) {
        let b = bytes()
        let f = fopen(path, "wb")!
        _ = b.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }
}

func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }

func fmt(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e9 { return String(Int(v)) }
    let s = String(v)
    return s.count > 16 ? String(s.prefix(16)) : s
}

/// A fresh temporary directory.
func tempDir() -> String {
    var template = Array("/tmp/petct-series-test-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }!
    return String(cString: p)
}

func removeDir(_ dir: String) {
    _ = system("rm -rf '\(dir)'")
}

/// One image slice with the usual CT/PET geometry tags.
func slice(series: String, study: String = "1.2.3", modality: String = "CT", number: Int = 1, instance: Int?,
           ipp: [Double]?, iop: [Double]? = [1, 0, 0, 0, 1, 0], rows: Int = 2, columns: Int = 3,
           spacing: [Double] = [0.8, 0.9], slope: Double = 1, intercept: Double = 0, values: [UInt16]? = nil,
           imageType: String = "ORIGINAL\\PRIMARY\\AXIAL", description: String = "series") -> TestFile {
    var f = TestFile()
    f.text(0x0008_0008, "CS", imageType)
    f.text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.2")
    f.text(0x0008_0018, "UI", "1.2.3.4.\(instance ?? 0)")
    f.text(0x0008_0060, "CS", modality)
    f.text(0x0008_103E, "LO", description)
    f.text(0x0010_0010, "PN", "Doe^Jane")
    f.text(0x0010_0020, "LO", "P1")
    f.text(0x0020_000D, "UI", study)
    f.text(0x0020_000E, "UI", series)
    f.text(0x0020_0011, "IS", String(number))
    if let instance { f.text(0x0020_0013, "IS", String(instance)) }
    if let ipp { f.ds(0x0020_0032, ipp) }
    if let iop { f.ds(0x0020_0037, iop) }
    f.text(0x0020_0052, "UI", "1.2.3.9")
    f.us(0x0028_0002, 1)
    f.text(0x0028_0004, "CS", "MONOCHROME2")
    f.us(0x0028_0010, UInt16(rows))
    f.us(0x0028_0011, UInt16(columns))
    f.ds(0x0028_0030, spacing)
    f.us(0x0028_0100, 16)
    f.us(0x0028_0101, 16)
    f.us(0x0028_0102, 15)
    f.us(0x0028_0103, 0)
    f.ds(0x0028_1052, [intercept])
    f.ds(0x0028_1053, [slope])
    f.pixels(values ?? [UInt16](repeating: UInt16(instance ?? 0), count: rows * columns))
    return f
}
