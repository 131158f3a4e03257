import DicomBytes
import Testing

@testable import DicomCodecs

// The codec libraries are opened at run time; with them installed (as in CI), the registry's JPEG-LS
// and JPEG 2000 decoders go through the availability check and decode.
@Suite struct CodecLibrariesTests {
    @Test func librariesReportNameVersionAndPath() {
        let charls = CodecLibraries.status(.charls)
        #expect(charls.available)
        #expect(charls.description.hasPrefix("CharLS 2."))
        #expect(charls.description.contains("libcharls.so"))
        let openjpeg = CodecLibraries.status(.openjpeg)
        #expect(openjpeg.available)
        #expect(openjpeg.description.hasPrefix("OpenJPEG 2."))
        #expect(openjpeg.description.contains("libopenjp2.so"))
    }

    @Test func versionParsing() {
        #expect(CodecLibraries.parseVersion("2.5.0")! == (2, 5))
        #expect(CodecLibraries.parseVersion("2.4")! == (2, 4))
        #expect(CodecLibraries.parseVersion("2.10.1rc")! == (2, 10))
        #expect(CodecLibraries.parseVersion("2") == nil)
        #expect(CodecLibraries.parseVersion("x.y") == nil)
        let loaded = CodecLibraries.openjpegVersion!
        #expect(loaded.major == 2 && loaded.minor >= 5)  // HTJ2K needs 2.5; CI has Debian's 2.5.0
    }

    @Test func registryDecodersCheckThenDecode() throws {
        let values = (0..<64).map { ($0 * 37) & 0xFFF }
        let expectation = FrameExpectation(
            rows: 8, columns: 8, samples: 1, bitsAllocated: 16, bitsStored: 12,
            pixelRepresentation: 0)
        for (syntax, stream) in [
            ("1.2.840.10008.1.2.4.80", encodeJLS(values, rows: 8, cols: 8, nf: 1, bits: 12)),
            ("1.2.840.10008.1.2.4.90", encodeJ2K(values, rows: 8, cols: 8, nf: 1, bits: 12)),
        ] {
            let decoder = try #require(CodecRegistry.decoder(for: syntax))
            let frame = try stream.withUnsafeBytes { b in try decoder(b, expectation) }
            let got = (0..<64).map { Int(frame.data[2 * $0]) | Int(frame.data[2 * $0 + 1]) << 8 }
            #expect(got == values, "\(syntax)")
        }
    }
}
