import DicomBytes
import Testing

@testable import DicomParser

#if canImport(Glibc)
import Glibc
#endif

// Issue #14 (core half): paths as bytes, non-regular files, endless input, decode limits.

@Test func pathBytesSurviveTheEscapedForm() {
    // Latin-1 "café-1.dcm" (0xE9 is not UTF-8), an escape-range character and plain UTF-8.
    let cases: [[UInt8]] = [
        Array("/tmp/caf".utf8) + [0xE9] + Array("-1.dcm".utf8),
        Array("/tmp/x".utf8) + Array("\u{10FF41}".utf8) + Array("y".utf8),
        Array("/tmp/ü/ok.dcm".utf8),
        [0x2F, 0xFF, 0xFE, 0xC3],  // truncated sequence at the end
    ]
    for bytes in cases {
        let c = (bytes + [0]).map { CChar(bitPattern: $0) }
        let escaped = c.withUnsafeBufferPointer { FilePath.escaped(cString: $0.baseAddress!) }
        let back = FilePath(escaped)
        #expect(back.cString.map { UInt8(bitPattern: $0) } == bytes + [0])
    }
    let latin1 = (Array("/a/caf".utf8) + [0xE9, 0]).map { CChar(bitPattern: $0) }
    let path = latin1.withUnsafeBufferPointer { FilePath(cString: $0.baseAddress!) }
    #expect(path.description == "/a/caf\\xe9")
    #expect(!path.description.contains("\u{FFFD}"))
}

@Test func fifoIsRefusedWithoutOpeningOrReadAsAnEmptyStream() throws {
    let name = "/tmp/petct-fifo-\(getpid())"
    unlink(name)
    #expect(mkfifo(name, 0o600) == 0)
    defer { unlink(name) }
    do {
        _ = try InputFile(path: FilePath(name), regularOnly: true)
        Issue.record("a FIFO was accepted")
    } catch {
        #expect(error.message.contains("FIFO"))
    }
    // dcmread semantics: opened O_NONBLOCK, so no wait for a writer; without one it is empty.
    let f = try InputFile(path: FilePath(name))
    #expect(!f.isRegular)
    try f.fillAll()
    #expect(f.bytes.isEmpty && f.atEnd)
}

@Test func devZeroFailsAtOnce() {
    do {
        _ = try DicomReader.read(path: "/dev/zero")
        Issue.record("expected an error")
    } catch {
        #expect(error.kind == .invalidDicom)
    }
    do {
        _ = try DicomReader.read(path: "/dev/zero", options: ReadOptions(force: true))
        Issue.record("expected an error")
    } catch {
        #expect(error.kind == .invalidDicom)
    }
}

@Test func ioErrorsKeepErrno() {
    do {
        _ = try DicomReader.read(path: "/tmp")
        Issue.record("expected an error")
    } catch {
        #expect(error.kind == .io && error.osErrno == EISDIR)
    }
    do {
        _ = try DicomReader.read(path: "/nonexistent/x.dcm")
        Issue.record("expected an error")
    } catch {
        #expect(error.kind == .io && error.osErrno == ENOENT)
    }
}

@Test func decodeLimitIsOneRuleAndRaisable() throws {
    let saved = (Limits.maxDecodedBytes, Limits.decodeRatio)
    defer { (Limits.maxDecodedBytes, Limits.decodeRatio) = saved }
    #expect(Limits.decodedAllowance(compressed: 1000) == 64 << 20)
    #expect(Limits.decodedAllowance(compressed: 1 << 20) == 200 << 20)
    #expect(Limits.decodedAllowance(compressed: Int.max) == Int.max)  // no overflow
    do {
        try Limits.checkDecoded(65 << 20, compressed: 1000, what: "x")
        Issue.record("expected the limit")
    } catch {
        #expect(error.kind == .limit && error.message.contains("petct.config.max_decoded_bytes"))
    }
    Limits.maxDecodedBytes = 128 << 20
    try Limits.checkDecoded(65 << 20, compressed: 1000, what: "x")
}

@Test func probedAllocationFailsCleanly() {
    do {
        try Limits.probeAllocation(Int.max / 2, what: "a test")
        Issue.record("expected the probe to fail")
    } catch {
        #expect(error.kind == .outOfMemory)
    }
}

@Test func consecutiveRepeatsOfATagKeepTheLastRecord() throws {
    // Explicit VR LE data set: (0010,0010) "A", then (0011,0010) "X" three times, then (0013,0010).
    func el(_ g: UInt16, _ e: UInt16, _ v: String) -> [UInt8] {
        var b: [UInt8] = [UInt8(g & 0xFF), UInt8(g >> 8), UInt8(e & 0xFF), UInt8(e >> 8), 0x4C, 0x4F]
        var value = Array(v.utf8)
        if value.count % 2 == 1 { value.append(0x20) }
        b += [UInt8(value.count), 0] + value
        return b
    }
    var data = el(0x0010, 0x0010, "A")
    for v in ["X1", "X2", "X3"] { data += el(0x0011, 0x0010, v) }
    data += el(0x0013, 0x0010, "B")
    let ds = try DicomReader.read(bytes: data, options: ReadOptions(force: true))
    let tags = ds.elements.map { $0.tag }
    #expect(tags == [0x0010_0010, 0x0011_0010, 0x0013_0010])
    #expect(ds.string(0x0011_0010) == "X3")
}
