import DicomBytes
import Testing

@testable import PetctPairing

#if canImport(Glibc)
import Glibc
#endif

/// Columns n = +z, c = +y, r = +x.
let axial = [0.0, 0, 1, 0, 1, 0, 1, 0, 0]

/// Runs the resampler, returning values and mask.
func run(
    _ src: [Float], _ sg: Grid, _ dg: Grid, _ method: ResampleMethod = .linear, fill: Float = -1000,
    threads: Int = 0, separable: Bool = true
) throws -> ([Float], [UInt8]) {
    var dst = [Float](repeating: .nan, count: dg.slices * dg.rows * dg.columns)
    var mask = [UInt8](repeating: 7, count: dst.count)
    try src.withUnsafeBufferPointer { s in
        try dst.withUnsafeMutableBufferPointer { d in
            try mask.withUnsafeMutableBufferPointer { m in
                try Resampler.resample(
                    src: s, srcGrid: sg, dst: d, dstGrid: dg, method: method, fill: fill,
                    mask: m, threads: threads, allowSeparable: separable)
            }
        }
    }
    return (dst, mask)
}

/// Fills a grid with f(patient point).
func sample(_ g: Grid, _ f: (Double, Double, Double) -> Double) -> [Float] {
    var out: [Float] = []
    for k in 0..<g.slices {
        for i in 0..<g.rows {
            for j in 0..<g.columns {
                let p = g.point(Double(k), Double(i), Double(j))
                out.append(Float(f(p.0, p.1, p.2)))
            }
        }
    }
    return out
}

/// Columns n, c, r of a rotation about the z axis by `a` then about x by `b`.
func rotated(_ a: Double, _ b: Double) -> [Double] {
    let ca = cos(a), sa = sin(a), cb = cos(b), sb = sin(b)
    // Rz(a) * Rx(b) applied to the axis unit vectors; columns n, c, r taken as z, y, x images.
    func apply(_ v: (Double, Double, Double)) -> (Double, Double, Double) {
        let y1 = cb * v.1 - sb * v.2, z1 = sb * v.1 + cb * v.2
        return (ca * v.0 - sa * y1, sa * v.0 + ca * y1, z1)
    }
    let n = apply((0, 0, 1)), c = apply((0, 1, 0)), r = apply((1, 0, 0))
    return [n.0, c.0, r.0, n.1, c.1, r.1, n.2, c.2, r.2]
}

@Test func identityGridReproducesValues() throws {
    let g = Grid(slices: 3, rows: 4, columns: 5, origin: [1, 2, 3], direction: axial, spacing: [2, 1.5, 0.7])
    let src = (0..<60).map { Float($0 * $0 % 17) }
    for m in [ResampleMethod.linear, .area] {
        let (dst, mask) = try run(src, g, g, m)
        #expect(dst == src)
        #expect(mask.allSatisfy { $0 == 1 })
    }
}

@Test func halfVoxelShiftAverages() throws {
    let sg = Grid(slices: 1, rows: 1, columns: 4, origin: [0, 0, 0], direction: axial, spacing: [1, 1, 1])
    let dg = Grid(slices: 1, rows: 1, columns: 4, origin: [0.5, 0, 0], direction: axial, spacing: [1, 1, 1])
    let (dst, mask) = try run([0, 10, 30, 70], sg, dg)
    // the last point (x = 3.5) is on the edge of the source: ITK clamps to the edge value
    #expect(dst == [5, 20, 50, 70])
    #expect(mask == [1, 1, 1, 1])
    // one voxel beyond the edge voxel centre is outside
    let dg2 = Grid(slices: 1, rows: 1, columns: 3, origin: [-1, 0, 0], direction: axial, spacing: [1, 1, 1])
    let (d2, m2) = try run([0, 10, 30, 70], sg, dg2, fill: -5)
    #expect(d2 == [-5, 0, 10])
    #expect(m2 == [0, 1, 1])
}

@Test func rampIsReproducedOnAnotherAxialGrid() throws {
    let ramp: (Double, Double, Double) -> Double = { x, y, z in 3 * x - 2 * y + 0.5 * z + 7 }
    let sg = Grid(
        slices: 12, rows: 30, columns: 28, origin: [-10, -12, -20], direction: axial, spacing: [3, 0.9, 1.1])
    let dg = Grid(slices: 9, rows: 17, columns: 19, origin: [-14, -5, -25], direction: axial, spacing: [4, 1.7, 1.3])
    let (dst, mask) = try run(sample(sg, ramp), sg, dg)
    let expected = sample(dg, ramp)
    var inside = 0, outside = 0
    for v in 0..<dst.count {
        let k = v / (17 * 19), i = v / 19 % 17, j = v % 19
        let p = dg.point(Double(k), Double(i), Double(j))
        // strictly inside the extreme voxel centres: exact; beyond half a voxel: outside
        let ci = (p.1 + 12) / 0.9, cj = (p.0 + 10) / 1.1, ck = (p.2 + 20) / 3
        if ci >= 0 && ci <= 29 && cj >= 0 && cj <= 27 && ck >= 0 && ck <= 11 {
            #expect(abs(dst[v] - expected[v]) < 1e-3)
            #expect(mask[v] == 1)
            inside += 1
        } else if ci < -0.5 || ci > 29.5 || cj < -0.5 || cj > 27.5 || ck < -0.5 || ck > 11.5 {
            #expect(mask[v] == 0)
            #expect(dst[v] == -1000)
            outside += 1
        }
    }
    #expect(inside > 100 && outside > 100)
}

@Test func nonUniformSlicesInterpolateInPatientSpace() throws {
    let offsets = [0.0, 1, 3, 7, 8]
    let sg = Grid(
        slices: 5, rows: 2, columns: 2, origin: [0, 0, 10], direction: axial, spacing: [2, 1, 1],
        sliceOffsets: offsets)
    let src = sample(sg) { _, _, z in z * z }  // values at the real slice positions
    let dg = Grid(slices: 9, rows: 1, columns: 1, origin: [0, 0, 10], direction: axial, spacing: [1, 1, 1])
    let (dst, _) = try run(src, sg, dg)
    // piecewise linear between the real positions
    func expect(_ z: Double) -> Float {
        let pts = offsets.map { 10 + $0 }
        for a in 0..<4 where z >= pts[a] && z <= pts[a + 1] {
            let w = (z - pts[a]) / (pts[a + 1] - pts[a])
            return Float(pts[a] * pts[a] * (1 - w) + pts[a + 1] * pts[a + 1] * w)
        }
        return .nan
    }
    for k in 0..<9 { #expect(abs(dst[k] - expect(10 + Double(k))) < 1e-3) }
    // descending offsets describe the same volume in reverse order
    var rev: [Float] = []
    for k in (0..<5).reversed() { rev += src[(k * 4)..<(k * 4 + 4)] }
    let sg2b = Grid(
        slices: 5, rows: 2, columns: 2, origin: [0, 0, 10], direction: axial, spacing: [2, 1, 1],
        sliceOffsets: offsets.reversed())
    let (dst2, _) = try run(rev, sg2b, dg)
    for k in 0..<9 { #expect(abs(dst2[k] - dst[k]) < 1e-3) }
}

@Test func areaAveragingOfTwoFoldDownsampleIsBlockMean() throws {
    let sg = Grid(slices: 2, rows: 8, columns: 6, origin: [0, 0, 0], direction: axial, spacing: [2, 1, 1])
    let src = (0..<96).map { Float(($0 * 37) % 23) }
    // dst voxel centres sit between pairs of source centres, 2 mm voxels
    let dg = Grid(slices: 2, rows: 4, columns: 3, origin: [0.5, 0.5, 0], direction: axial, spacing: [2, 2, 2])
    let (dst, mask) = try run(src, sg, dg, .area)
    for k in 0..<2 {
        for i in 0..<4 {
            for j in 0..<3 {
                var m: Float = 0
                for a in 0..<2 { for b in 0..<2 { m += src[k * 48 + (2 * i + a) * 6 + 2 * j + b] } }
                #expect(abs(dst[k * 12 + i * 3 + j] - m / 4) < 1e-4)
            }
        }
    }
    #expect(mask.allSatisfy { $0 == 1 })
    // linear on the same grid only looks at the 2x2 neighbours too, but an area 4x down-sample must
    // average 16 values while linear takes 4
    let dg4 = Grid(slices: 1, rows: 2, columns: 1, origin: [1.5, 1.5, 0], direction: axial, spacing: [2, 4, 4])
    let (d4, _) = try run(src, sg, dg4, .area)
    var m4: Float = 0
    for a in 0..<4 { for b in 0..<4 { m4 += src[a * 6 + b] } }
    #expect(abs(d4[0] - m4 / 16) < 1e-4)
}

@Test func obliqueRotationOfRampIsExact() throws {
    let ramp: (Double, Double, Double) -> Double = { x, y, z in 2 * x + y - 3 * z + 1 }
    let sg = Grid(slices: 20, rows: 24, columns: 22, origin: [-11, -12, -10], direction: axial, spacing: [1, 1, 1])
    let src = sample(sg, ramp)
    let dg = Grid(
        slices: 6, rows: 7, columns: 8, origin: [-3, -2, -4], direction: rotated(0.4, 0.3),
        spacing: [1.3, 1.1, 0.9])
    let (dst, mask) = try run(src, sg, dg)
    let expected = sample(dg, ramp)
    #expect(mask.allSatisfy { $0 == 1 })
    for v in 0..<dst.count { #expect(abs(dst[v] - expected[v]) < 1e-3) }
    // and back: an oblique source onto an axial destination (generic path both ways)
    let src2 = sample(dg, ramp)
    let dg2 = Grid(slices: 3, rows: 3, columns: 3, origin: [-1, 0, -1], direction: axial, spacing: [1, 1, 1])
    let (d2, m2) = try run(src2, dg, dg2)
    let e2 = sample(dg2, ramp)
    for v in 0..<d2.count where m2[v] == 1 { #expect(abs(d2[v] - e2[v]) < 1e-3) }
    #expect(m2.contains(1))
    // area on an oblique grid (supersampled) is exact on a ramp too
    let dg3 = Grid(
        slices: 3, rows: 3, columns: 3, origin: [-2, -1, -3], direction: rotated(0.2, -0.5), spacing: [2, 2.5, 2.5])
    let (d3, m3) = try run(src, sg, dg3, .area)
    let e3 = sample(dg3, ramp)
    #expect(m3.allSatisfy { $0 == 1 })
    for v in 0..<d3.count { #expect(abs(d3[v] - e3[v]) < 1e-3) }
}

@Test func swappedAxesAndFlippedNormalUseTheSameValues() throws {
    let ramp: (Double, Double, Double) -> Double = { x, y, z in x * 0.5 + y * 2 - z + 3 }
    let sg = Grid(slices: 5, rows: 6, columns: 7, origin: [0, 0, 0], direction: axial, spacing: [2, 1, 1])
    let src = sample(sg, ramp)
    // destination rows run along x, columns along y, slices towards -z
    let dir = [0.0, 1, 0, 0, 0, 1, -1, 0, 0]
    let dg = Grid(slices: 4, rows: 5, columns: 4, origin: [0.5, 0.25, 7], direction: dir, spacing: [1.5, 1.2, 1.3])
    let (dst, mask) = try run(src, sg, dg)
    let e = sample(dg, ramp)
    #expect(mask.allSatisfy { $0 == 1 })
    for v in 0..<dst.count { #expect(abs(dst[v] - e[v]) < 1e-3) }
}

@Test func threadCountsAgree() throws {
    let sg = Grid(slices: 7, rows: 9, columns: 11, origin: [0, 0, 0], direction: axial, spacing: [1, 1, 1])
    let src = (0..<(7 * 9 * 11)).map { Float(($0 * 7919) % 101) }
    let dg = Grid(
        slices: 13, rows: 5, columns: 6, origin: [0.3, -0.2, -0.7], direction: rotated(0.1, 0.05),
        spacing: [0.6, 1.7, 1.9])
    let (a, ma) = try run(src, sg, dg, threads: 1)
    let (b, mb) = try run(src, sg, dg, threads: 0)
    let (c, mc) = try run(src, sg, dg, threads: 3)
    #expect(a == b && b == c)
    #expect(ma == mb && mb == mc)
}

@Test func invalidArgumentsThrow() throws {
    let g = Grid(slices: 2, rows: 2, columns: 2, origin: [0, 0, 0], direction: axial, spacing: [1, 1, 1])
    let src = [Float](repeating: 1, count: 8)
    #expect(throws: DicomError.self) { try run([1, 2], g, g) }
    var bad = g; bad.spacing = [1, 0, 1]
    #expect(throws: DicomError.self) { try run(src, g, bad) }
    bad = g; bad.spacing = [1, .nan, 1]
    #expect(throws: DicomError.self) { try run(src, bad, g) }
    bad = g; bad.direction = [1, 1, 0, 0, 0, 0, 0, 0, 1]
    #expect(throws: DicomError.self) { try run(src, g, bad) }
    bad = g; bad.sliceOffsets = [0, 0]
    #expect(throws: DicomError.self) { try run(src, bad, g) }
    bad = g; bad.sliceOffsets = [0]
    #expect(throws: DicomError.self) { try run(src, bad, g) }
    do {
        _ = try run(src, g, bad)
        Issue.record("expected an error")
    } catch let e as DicomError {
        #expect(e.kind == .argument)
    }
}

@Test func separableAndGenericPathsAgree() throws {
    // CT-like source onto a PET-like grid, and back, with non-uniform source slices
    let sg = Grid(
        slices: 9, rows: 40, columns: 36, origin: [-20, -22, -5], direction: axial, spacing: [1.5, 1.1, 1.2],
        sliceOffsets: [0, 1.5, 3, 4.5, 6, 9, 10.5, 12, 13.5])
    let src = (0..<(9 * 40 * 36)).map { Float(($0 * 7919) % 1013) - 500 }
    let dg = Grid(
        slices: 5, rows: 13, columns: 11, origin: [-24, -20, -6], direction: axial, spacing: [3.2, 3.9, 4.1])
    let (a, ma) = try run(src, sg, dg, separable: true)
    let (b, mb) = try run(src, sg, dg, separable: false)
    #expect(ma == mb)
    #expect(ma.contains(0) && ma.contains(1))
    for v in 0..<a.count { #expect(abs(a[v] - b[v]) < 1e-2) }
    let (c, mc) = try run(a, dg, sg, separable: true)
    let (d, md) = try run(a, dg, sg, separable: false)
    #expect(mc == md)
    for v in 0..<c.count { #expect(abs(c[v] - d[v]) < 1e-2) }
}

@Test func rowIntervalPathMatchesPerVoxelChecks() throws {
    // An oblique destination that sticks out of the source on every side: the row-interval path
    // (uniform source) must give the same values and mask as the per-voxel path (explicit offsets).
    let sg = Grid(slices: 6, rows: 9, columns: 8, origin: [0, 0, 0], direction: axial, spacing: [2, 1, 1.5])
    var sgOffsets = sg
    sgOffsets.sliceOffsets = (0..<6).map { Double($0) * 2 }
    let src = (0..<(6 * 9 * 8)).map { Float(($0 * 7919) % 211) }
    let dg = Grid(
        slices: 9, rows: 14, columns: 15, origin: [-3, -2, -4], direction: rotated(0.5, 0.7), spacing: [1.9, 1.1, 1.3])
    let (a, ma) = try run(src, sg, dg)
    let (b, mb) = try run(src, sgOffsets, dg)
    #expect(ma == mb)
    #expect(ma.contains(0) && ma.contains(1))
    for v in 0..<a.count where ma[v] == 1 { #expect(abs(a[v] - b[v]) < 1e-4) }
    for v in 0..<a.count where ma[v] == 0 { #expect(a[v] == -1000 && b[v] == -1000) }
}
