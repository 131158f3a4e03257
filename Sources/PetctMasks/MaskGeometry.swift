import DicomBytes
import PetctPairing

// Geometry shared by SEG and RTSTRUCT: 3-vectors, nearest values, the target grid.

typealias Vec3 = (Double, Double, Double)
@inline(__always) func dot(_ a: Vec3, _ b: Vec3) -> Double { a.0 * b.0 + a.1 * b.1 + a.2 * b.2 }
@inline(__always) func sub(_ a: Vec3, _ b: Vec3) -> Vec3 { (a.0 - b.0, a.1 - b.1, a.2 - b.2) }
@inline(__always) func cross(_ a: Vec3, _ b: Vec3) -> Vec3 {
    (a.1 * b.2 - a.2 * b.1, a.2 * b.0 - a.0 * b.2, a.0 * b.1 - a.1 * b.0)
}
func norm(_ a: Vec3) -> Double { dot(a, a).squareRoot() }

/// Index of the value in sorted `a` nearest to `x`.
func nearest(_ a: [Double], _ x: Double) -> Int {
    var lo = 0, hi = a.count
    while lo < hi {
        let m = (lo + hi) / 2
        if a[m] < x { lo = m + 1 } else { hi = m }
    }
    if lo == a.count { return a.count - 1 }
    if lo > 0 && x - a[lo - 1] <= a[lo] - x { return lo - 1 }
    return lo
}

/// Smallest distance between distinct values (closer than 1e-3 counts as the same), nil for < 2.
func smallestStep(_ values: [Double]) -> Double? {
    let s = values.sorted()
    var best: Double? = nil
    for i in 1..<max(1, s.count) {
        let d = s[i] - s[i - 1]
        if d > 1e-3 { best = min(best ?? d, d) }
    }
    return best
}

/// The target grid with its axes as vectors.
public struct TargetGrid: Sendable {
    let slices: Int, rows: Int, columns: Int
    let origin: Vec3, normal: Vec3, colDir: Vec3, rowDir: Vec3
    let sliceSpacing: Double, rowSpacing: Double, colSpacing: Double
    let offsets: [Double]
    /// Per-slice in-plane shifts of a sheared grid (3 values per slice, mm), nil for a stack along n.
    let shifts: [Double]?

    public init(_ g: Grid) throws(DicomError) {
        guard g.slices > 0, g.rows > 0, g.columns > 0, g.origin.count == 3, g.direction.count == 9,
            g.spacing.count == 3, g.spacing.allSatisfy({ $0.isFinite && $0 > 0 }),
            g.origin.allSatisfy({ $0.isFinite }), g.direction.allSatisfy({ $0.isFinite })
        else {
            throw DicomError(.argument, "mask grid: bad size, origin, direction or spacing")
        }
        let (rc, o1) = g.rows.multipliedReportingOverflow(by: g.columns)
        let (_, o2) = rc.multipliedReportingOverflow(by: g.slices)
        guard !o1, !o2 else { throw DicomError(.argument, "mask grid: size too large") }
        slices = g.slices; rows = g.rows; columns = g.columns
        origin = (g.origin[0], g.origin[1], g.origin[2])
        let d = g.direction
        // columns of direction: n (slice normal), c (increasing row index), r (increasing column index)
        normal = (d[0], d[3], d[6]); colDir = (d[1], d[4], d[7]); rowDir = (d[2], d[5], d[8])
        sliceSpacing = g.spacing[0]; rowSpacing = g.spacing[1]; colSpacing = g.spacing[2]
        if let o = g.sliceOffsets {
            guard o.count == g.slices, o.allSatisfy({ $0.isFinite }) else {
                throw DicomError(.argument, "mask grid: slice offsets need one finite value per slice")
            }
            offsets = o
        } else {
            offsets = (0..<g.slices).map { Double($0) * g.spacing[0] }
        }
        if let sh = g.sliceShifts {
            guard sh.count == 3 * g.slices, sh.allSatisfy({ $0.isFinite }) else {
                throw DicomError(.argument, "mask grid: slice shifts need three finite values per slice")
            }
            shifts = sh
        } else {
            shifts = nil
        }
    }

    /// Centre of slice k's first voxel: origin + offset * n, plus the slice's shift when sheared (so a
    /// sheared grid's voxels are where its slices really are).
    func sliceOrigin(_ k: Int) -> Vec3 {
        let t = offsets[k]
        let o = (origin.0 + t * normal.0, origin.1 + t * normal.1, origin.2 + t * normal.2)
        guard let sh = shifts else { return o }
        return (o.0 + sh[3 * k], o.1 + sh[3 * k + 1], o.2 + sh[3 * k + 2])
    }
    @inline(__always) func point(_ o: Vec3, _ i: Double, _ j: Double) -> Vec3 {
        let y = i * rowSpacing, x = j * colSpacing
        return (o.0 + y * colDir.0 + x * rowDir.0, o.1 + y * colDir.1 + x * rowDir.1, o.2 + y * colDir.2 + x * rowDir.2)
    }
    var halfSliceSpacing: Double {
        (smallestStep(offsets) ?? sliceSpacing) / 2
    }
    /// Min / max of the slice planes along the normal (patient coordinates projected on it).
    var normalExtent: (Double, Double) {
        let base = dot(origin, normal)
        let ts = offsets.map { base + $0 }
        return (ts.min()!, ts.max()!)
    }
}
