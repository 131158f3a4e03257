import Testing
@testable import DicomParser
import DicomBytes

@Test func tagFormatting() {
    #expect(formatTag(0x0010_0040) == "(0010,0040)")
}
