import DicomBytes

#if canImport(Glibc)
import Glibc
#endif

/// A small Explicit VR Little Endian Part 10 file as a list of elements, sorted by tag when written.
public struct TestFile {
    public var elements: [(tag: UInt32, vr: String, value: [UInt8])] = []
    public init() {}

    /// Text padded to even length (UI with NUL, others with a space).
    public mutating func text(_ tag: UInt32, _ vr: String, _ s: String) {
        var b = Array(s.utf8)
        if b.count % 2 == 1 { b.append(vr == "UI" ? 0 : 0x20) }
        elements.append((tag, vr, b))
    }
    public mutating func us(_ tag: UInt32, _ v: UInt16) { elements.append((tag, "US", le16(v))) }
    public mutating func ds(_ tag: UInt32, _ vs: [Double]) {
        text(tag, "DS", vs.map { dsText($0) }.joined(separator: "\\"))
    }
    public mutating func seq(_ tag: UInt32, _ items: [TestFile]) {
        var s = DicomStream()
        for it in items { s.item(it.body()) }
        elements.append((tag, "SQ", s.bytes))
    }
    public mutating func pixels(_ values: [UInt16]) { elements.append((Tags.pixelData, "OW", le16(values))) }

    /// The data set's bytes (explicit VR little endian, defined lengths).
    public func body() -> [UInt8] {
        var s = DicomStream()
        for e in elements.sorted(by: { $0.tag < $1.tag }) { s.elem(e.tag, e.vr, e.value) }
        return s.bytes
    }

    public func bytes() -> [UInt8] { part10(ts: TransferSyntax.explicitVRLittleEndian, body: body()) }

    public func write(_ path: String) {
        let b = bytes()
        let f = fopen(path, "wb")!
        _ = b.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }
}

/// A DS value's text: integers without a decimal point, others at most 16 characters.
public func dsText(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e9 { return String(Int(v)) }
    let s = String(v)
    return s.count > 16 ? String(s.prefix(16)) : s
}

/// A fresh temporary directory.
public func tempDir(_ prefix: String = "petct-test") -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }!
    return String(cString: p)
}

/// Removes a directory made by `tempDir` and everything in it.
public func removeDir(_ dir: String) {
    _ = system("rm -rf '\(dir)'")
}
