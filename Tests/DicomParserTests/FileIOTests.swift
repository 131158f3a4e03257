import DicomBytes
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Writes `bytes` to a new temporary file and returns its path.
private func tempFile(_ bytes: [UInt8]) -> String {
    var template = Array("/tmp/petct-fileio-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    precondition(fd >= 0)
    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    precondition(n == bytes.count)
    close(fd)
    return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

@Test func wholeFileAndPrefixesReadExactBytes() throws {
    let content = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    let path = tempFile(content)
    defer { unlink(path) }
    #expect(try readWholeFile(path) == content)

    // Prefix first, then the rest: the prefix is kept and the rest appended exactly.
    let f = try InputFile(path: path)
    try f.fill(upTo: 16 * 1024)
    #expect(f.bytes == Array(content[..<(16 * 1024)]))
    #expect(!f.atEnd)
    try f.fill(upTo: 70_000)
    #expect(f.bytes == Array(content[..<70_000]))
    try f.fillAll()
    #expect(f.atEnd)
    #expect(f.bytes == content)
}

@Test func requestFarPastTheEndAllocatesOnlyWhatIsThere() throws {
    let content: [UInt8] = Array(repeating: 0xAB, count: 100)
    let path = tempFile(content)
    defer { unlink(path) }
    let f = try InputFile(path: path)
    // 1 TiB requested: the request is cut to the file's size, so this neither traps nor allocates it.
    try f.fill(upTo: 1 << 40)
    #expect(f.atEnd)
    #expect(f.bytes == content)
    #expect(f.bytes.capacity < 1 << 20)
}

@Test func emptyFileAndDirectory() throws {
    let path = tempFile([])
    defer { unlink(path) }
    #expect(try readWholeFile(path) == [])
    #expect(throws: DicomError.self) { _ = try InputFile(path: "/tmp") }
}
