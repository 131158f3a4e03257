import Testing
@testable import PetctPairing

@Test func moduleLoads() {
    #expect(Bool(true))
}
