import Testing
@testable import DicomCodecs

@Test func moduleLoads() {
    #expect(Bool(true))
}
