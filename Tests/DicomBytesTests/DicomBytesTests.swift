import Glibc
import Testing

@testable import DicomBytes

@Test func trimmingPaddingRemovesSpacesAndNULsAtBothEnds() {
    #expect("  CT \0".trimmingPadding() == "CT")
    #expect("\0\0".trimmingPadding() == "")
    #expect(" A B ".trimmingPadding() == "A B")  // inner spaces stay
    #expect("\tX\t".trimmingPadding() == "\tX\t")  // only spaces and NULs are padding
    #expect(Substring("  1.2.840 ").trimmingPadding() == "1.2.840")
}

@Test func errnoTextIsTheCLibrarys() {
    #expect(errnoText(ENOENT) == String(cString: strerror(ENOENT)))
    #expect(!errnoText(EACCES).isEmpty)
}

@Test func transferSyntaxTable() {
    #expect(TransferSyntax.native.count == 4)
    for uid in TransferSyntax.native { #expect(TransferSyntax.isNative(uid)) }
    #expect(TransferSyntax.isNative("1.2.840.10008.1.2.1.99"))
    #expect(!TransferSyntax.isNative(TransferSyntax.rleLossless))
    #expect(!TransferSyntax.isNative("1.2.840.10008.1.2.4.70"))  // JPEG Lossless SV1
    #expect(!TransferSyntax.isNative("1.2.840.10008.1.2.1.98"))  // encapsulated uncompressed
    #expect(!TransferSyntax.isNative(""))
}

@Test func vrCodesPackTwoLetters() {
    #expect(VRCode.pack(UInt8(ascii: "U"), UInt8(ascii: "S")) == VRCode.US)
    #expect(VRCode.US == 0x5355)
    #expect(VRCode.singleValuedText == [VRCode.LT, VRCode.ST, VRCode.UT, VRCode.UR])
}

@Test func generatedTagConstants() {
    #expect(Tags.patientName == 0x0010_0010)
    #expect(Tags.sopInstanceUID == 0x0008_0018)
    #expect(Tags.pixelData == 0x7FE0_0010)
    #expect(Tags.transferSyntaxUID == 0x0002_0010)
    #expect(Tags.kvp == 0x0018_0060)
    #expect(Tags.item == 0xFFFE_E000)
    #expect(Tags.itemDelimiter == 0xFFFE_E00D && Tags.itemDelimiter == Tags.itemDelimitationItem)
    #expect(Tags.sequenceDelimiter == 0xFFFE_E0DD)
    #expect(Tags.radiopharmaceuticalInformationSequence == 0x0054_0016)
}

@Test func inputFileReadsAPrefixThenTheRest() throws {
    var template = Array("/tmp/petct-bytes-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    #expect(fd >= 0)
    let path = String(cString: template)
    defer { unlink(path) }
    let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    let f = try InputFile(path: path)
    #expect(f.size == data.count)
    try f.fill(upTo: 1000)
    #expect(f.bytes.count >= 1000 && f.bytes.count < data.count && !f.atEnd)
    #expect(Array(f.bytes.prefix(1000)) == Array(data.prefix(1000)))
    try f.fillAll()
    #expect(f.atEnd && f.bytes == data)
    #expect(try readWholeFile(path) == data)
}

@Test func missingFileIsAnIOErrorNamingIt() {
    do {
        _ = try InputFile(path: "/nonexistent/petct-file")
        Issue.record("no error")
    } catch {
        #expect(error.kind == .io)
        #expect(error.message.contains("/nonexistent/petct-file"))
        #expect(error.message.contains(errnoText(ENOENT)))
    }
}
