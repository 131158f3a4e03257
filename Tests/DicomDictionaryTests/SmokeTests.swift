import Testing
@testable import DicomDictionary

@Test func moduleLoads() {
    #expect(Bool(true))
}
