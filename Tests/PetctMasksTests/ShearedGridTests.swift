import DicomBytes
import PetctPairing
import Testing

@testable import PetctMasks

#if canImport(Glibc)
import Glibc
#endif

/// A gantry-tilted target grid: rows along x, columns tilted 20 degrees out of the axial plane, slices
/// 2 mm apart along z (so each slice drifts in-plane along the column direction).
func tiltedTarget(shifts: Bool) -> Grid {
    let a = 20.0 * Double.pi / 180
    let c = (0.0, cos(a), sin(a)), n = (0.0, -sin(a), cos(a))
    var sh: [Double] = []
    for k in 0..<6 { sh += [0, Double(k) * 2 * sin(a) * c.1, Double(k) * 2 * sin(a) * c.2] }
    return Grid(
        slices: 6, rows: 5, columns: 4, origin: [1, 2, 3], direction: [n.0, c.0, 1, n.1, c.1, 0, n.2, c.2, 0],
        spacing: [2 * cos(a), 1.5, 1.0], sliceShifts: shifts ? sh : nil)
}

@Test func shearedTargetSlicesSitAtTheirRealPositions() throws {
    let g = try TargetGrid(tiltedTarget(shifts: true))
    let flat = try TargetGrid(tiltedTarget(shifts: false))
    for k in 0..<6 {
        // the slice positions move along z only: x and y of the first voxel stay, z grows by 2 mm
        let o = g.sliceOrigin(k)
        #expect(abs(o.0 - 1) < 1e-9 && abs(o.1 - 2) < 1e-9 && abs(o.2 - (3 + 2 * Double(k))) < 1e-9)
        // the same plane along the normal as without the shifts (RTSTRUCT picks planes by it) ...
        #expect(abs(dot(o, g.normal) - dot(flat.sliceOrigin(k), g.normal)) < 1e-9)
        // ... but, without them, off by the drift in-plane
        if k > 0 { #expect(norm(sub(o, flat.sliceOrigin(k))) > 0.5 * Double(k)) }
    }
}

@Test func shearedTargetRejectsBadShifts() {
    var g = tiltedTarget(shifts: true)
    g.sliceShifts = [0, 0, 0]
    #expect(throws: DicomError.self) { try TargetGrid(g) }
}
