import Testing
@testable import PetctSUV

@Test func moduleLoads() {
    #expect(Bool(true))
}
