import DicomBytes
import Testing

@testable import PetctPairing

#if canImport(Glibc)
import Glibc
#endif

// Gantry-tilted (sheared) grids: rows along x, columns tilted by `tilt` out of the axial plane, slice
// positions moving dz along z. The slice normal is n = r x c; slice k sits at offset k*dz*cos(tilt) along
// n and is shifted in-plane by k*dz*sin(tilt) along the column direction.

let tilt = 20.0 * Double.pi / 180

func tiltedGrid(slices: Int, rows: Int, columns: Int, origin: [Double], dz: Double, shifts: Bool = true) -> Grid {
    let c = (0.0, cos(tilt), sin(tilt)), n = (0.0, -sin(tilt), cos(tilt))
    let direction = [n.0, c.0, 1, n.1, c.1, 0, n.2, c.2, 0]
    var sh: [Double] = []
    for k in 0..<slices {
        let s = Double(k) * dz * sin(tilt)
        sh += [s * c.0, s * c.1, s * c.2]
    }
    return Grid(
        slices: slices, rows: rows, columns: columns, origin: origin, direction: direction,
        spacing: [dz * cos(tilt), 1.2, 1.0], sliceShifts: shifts ? sh : nil)
}

func linearF(_ x: Double, _ y: Double, _ z: Double) -> Double { 100 + 2 * x + 4 * y + 3 * z }

func maxError(_ v: [Float], _ g: Grid, _ f: (Double, Double, Double) -> Double) -> Double {
    zip(v, sample(g, f)).map { abs(Double($0) - Double($1)) }.max() ?? 0
}

@Test func shearedGridPointsAreTheSlicePositions() {
    let g = tiltedGrid(slices: 5, rows: 4, columns: 3, origin: [-2, -3, -4], dz: 2)
    for k in 0..<5 {
        let p = g.point(Double(k), 0, 0)
        #expect(abs(p.0 + 2) < 1e-9 && abs(p.1 + 3) < 1e-9 && abs(p.2 - (-4 + 2 * Double(k))) < 1e-9)
    }
    // between slices the shift is interpolated, beyond them extrapolated with the end intervals
    let h = g.point(1.5, 0, 0), e = g.point(5, 0, 0)
    #expect(abs(h.1 + 3) < 1e-9 && abs(h.2 - (-1)) < 1e-9)
    #expect(abs(e.1 + 3) < 1e-9 && abs(e.2 - 6) < 1e-9)
}

@Test(arguments: [ResampleMethod.linear, .area])
func shearedSourceOntoAxialGridIsExactForALinearFunction(method: ResampleMethod) throws {
    let sg = tiltedGrid(slices: 30, rows: 48, columns: 40, origin: [-20, -25, -30], dz: 2)
    let src = sample(sg, linearF)
    // an axial grid well inside the sheared source
    let dg = Grid(
        slices: 6, rows: 7, columns: 8, origin: [-8, -10, -12], direction: axial,
        spacing: method == .area ? [3, 3, 3] : [2.5, 1.7, 1.3])
    let (v, m) = try run(src, sg, dg, method)
    #expect(m.allSatisfy { $0 == 1 })
    #expect(maxError(v, dg, linearF) < 2e-3)
    // ignoring the shifts (the behaviour before slice_shifts) misplaces every slice by its drift
    var unsheared = sg
    unsheared.sliceShifts = nil
    let (old, _) = try run(src, unsheared, dg, method)
    #expect(maxError(old, dg, linearF) > 5)
}

@Test func axialSourceOntoShearedGridIsExactAndNeverSeparable() throws {
    let sg = Grid(slices: 40, rows: 40, columns: 40, origin: [-40, -40, -40], direction: axial, spacing: [2, 2, 2])
    let src = sample(sg, linearF)
    let dg = tiltedGrid(slices: 12, rows: 10, columns: 9, origin: [-10, -12, -15], dz: 2)
    let (v, m) = try run(src, sg, dg)
    #expect(m.allSatisfy { $0 == 1 })
    #expect(maxError(v, dg, linearF) < 2e-3)
    let (generic, gm) = try run(src, sg, dg, separable: false)
    #expect(v == generic && m == gm)
    var unsheared = dg
    unsheared.sliceShifts = nil
    let (old, _) = try run(src, sg, unsheared)
    #expect(maxError(old, dg, linearF) > 5)
}

@Test func shearedOntoItselfCopiesValuesAndMarksTheOutsideByRealPositions() throws {
    let g = tiltedGrid(slices: 6, rows: 5, columns: 4, origin: [0, 0, 0], dz: 3)
    let src = (0..<(6 * 5 * 4)).map { Float($0 % 13) }
    let (v, m) = try run(src, g, g)
    #expect(v == src && m.allSatisfy { $0 == 1 })
    // the same grid one row further along c: the last row of each slice falls outside
    var moved = g
    let c = (0.0, cos(tilt) * 1.2, sin(tilt) * 1.2)
    moved.origin = [c.0, c.1, c.2]
    let (w, wm) = try run(src, g, moved)
    for k in 0..<6 {
        for i in 0..<5 {
            for j in 0..<4 {
                let x = (k * 5 + i) * 4 + j
                if i < 4 {
                    #expect(wm[x] == 1 && abs(w[x] - src[(k * 5 + i + 1) * 4 + j]) < 1e-4)
                } else {
                    #expect(wm[x] == 0 && w[x] == -1000)
                }
            }
        }
    }
}

@Test func badShiftCountsAreArgumentErrors() {
    var g = tiltedGrid(slices: 3, rows: 2, columns: 2, origin: [0, 0, 0], dz: 1)
    g.sliceShifts = [0, 0, 0, 1, 1]
    #expect(throws: DicomError.self) { try run([Float](repeating: 0, count: 12), g, g) }
    g.sliceShifts = [0, 0, 0, 0, .nan, 0, 0, 0, 0]
    #expect(throws: DicomError.self) { try run([Float](repeating: 0, count: 12), g, g) }
}
