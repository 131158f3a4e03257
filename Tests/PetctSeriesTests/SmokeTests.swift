import Testing
@testable import PetctSeries

@Test func moduleLoads() {
    #expect(Bool(true))
}
