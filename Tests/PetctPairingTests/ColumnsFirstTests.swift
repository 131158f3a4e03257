import Testing

@testable import PetctPairing

/// Upsampling (a coarse PET-like source onto a fine CT-like grid) takes the separable plan's
/// columns-first order; it must agree with the generic per-voxel path, also with swapped in-plane axes
/// (strided source columns), partial overlap (fill + mask) and a source slice hit exactly.

@Test func upsamplingColumnsFirstMatchesGeneric() throws {
    let sg = Grid(slices: 6, rows: 9, columns: 8, origin: [-16, -18, 0], direction: axial, spacing: [3.27, 4, 4])
    let src: [Float] = (0..<(6 * 9 * 8)).map { (v: Int) -> Float in Float((v * 7919) % 613) * 0.37 - 40 }
    // 4x finer in plane, wider than the source (columns and rows outside), slices partly outside
    let dg = Grid(
        slices: 9, rows: 41, columns: 37, origin: [-22, -20, -1], direction: axial, spacing: [2, 0.97, 1.01])
    let (a, ma) = try run(src, sg, dg, fill: -1024, separable: true)
    let (b, mb) = try run(src, sg, dg, fill: -1024, separable: false)
    #expect(ma == mb)
    #expect(ma.contains(0) && ma.contains(1))
    for v in 0..<a.count { #expect(abs(a[v] - b[v]) < 1e-3) }
    for v in 0..<a.count where ma[v] == 0 { #expect(a[v] == -1024) }
}

@Test func upsamplingWithSwappedAxesMatchesGeneric() throws {
    let sg = Grid(slices: 5, rows: 7, columns: 6, origin: [0, 0, 0], direction: axial, spacing: [3, 4, 4])
    let src: [Float] = (0..<(5 * 7 * 6)).map { (v: Int) -> Float in Float((v * 104729) % 997) * 0.11 }
    // destination rows run along x, columns along y (source columns are strided), normal -z
    let dir = [0.0, 1, 0, 0, 0, 1, -1, 0, 0]
    let dg = Grid(slices: 6, rows: 19, columns: 23, origin: [0.3, 0.2, 12], direction: dir, spacing: [2, 1.1, 1.2])
    let (a, ma) = try run(src, sg, dg, separable: true)
    let (b, mb) = try run(src, sg, dg, separable: false)
    #expect(ma == mb)
    #expect(ma.contains(1))
    for v in 0..<a.count { #expect(abs(a[v] - b[v]) < 1e-3) }
}

@Test func upsamplingOnSourceSlicesIsBilinearInPlane() throws {
    // destination slices on the source slices: one source slice each, values of a bilinear ramp exact
    let ramp: (Double, Double, Double) -> Double = { x, y, z in 0.5 * x - 2 * y + 3 * z + 7 }
    let sg = Grid(slices: 4, rows: 6, columns: 5, origin: [0, 0, 0], direction: axial, spacing: [2, 4, 4])
    let src = sample(sg, ramp)
    let dg = Grid(slices: 4, rows: 21, columns: 17, origin: [0, 0, 0], direction: axial, spacing: [2, 1, 1])
    let (a, ma) = try run(src, sg, dg)
    let e = sample(dg, ramp)
    #expect(ma.allSatisfy { $0 == 1 })
    for v in 0..<a.count { #expect(abs(a[v] - e[v]) < 1e-3) }
}
