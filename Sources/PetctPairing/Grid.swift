import DicomBytes

/// A voxel grid in patient coordinates; see petct_grid in petct.h for the convention.
public struct Grid: Sendable {
    public var slices: Int, rows: Int, columns: Int
    public var origin: [Double]  // 3
    public var direction: [Double]  // 9, row-major; columns are n, c, r
    public var spacing: [Double]  // slice, row, column
    public var sliceOffsets: [Double]?  // per slice along n, relative to origin
    /// Per slice (x, y, z) in mm: the slice origin's in-plane displacement from origin + offset * n
    /// (a sheared stack, e.g. gantry tilt); nil when the slices stack along n.
    public var sliceShifts: [Double]?
    public init(
        slices: Int, rows: Int, columns: Int, origin: [Double], direction: [Double], spacing: [Double],
        sliceOffsets: [Double]? = nil, sliceShifts: [Double]? = nil
    ) {
        self.slices = slices; self.rows = rows; self.columns = columns; self.origin = origin
        self.direction = direction; self.spacing = spacing; self.sliceOffsets = sliceOffsets
        self.sliceShifts = sliceShifts
    }

    /// Patient position of the continuous index (k, i, j); k is interpolated between slice offsets
    /// when they are given (and extrapolated with the end intervals).
    public func point(_ k: Double, _ i: Double, _ j: Double) -> (Double, Double, Double) {
        let t: Double
        if let o = sliceOffsets, o.count == slices, slices > 1 {
            let a = min(max(Int(k.rounded(.down)), 0), slices - 2)
            t = o[a] + (k - Double(a)) * (o[a + 1] - o[a])
        } else if let o = sliceOffsets, o.count == 1 {
            t = o[0] + k * spacing[0]
        } else {
            t = k * spacing[0]
        }
        let d = direction
        let y = i * spacing[1], x = j * spacing[2]
        var sh = (0.0, 0.0, 0.0)
        if let s = sliceShifts, s.count == 3 * slices { sh = interpolatedShift(s, k, slices) }
        return (
            origin[0] + t * d[0] + y * d[1] + x * d[2] + sh.0,
            origin[1] + t * d[3] + y * d[4] + x * d[5] + sh.1,
            origin[2] + t * d[6] + y * d[7] + x * d[8] + sh.2
        )
    }
}

/// The shift (3 values per slice in `s`) at continuous slice index k: linear between slices,
/// extrapolated with the end intervals (as slice offsets are).
@inline(__always) func interpolatedShift(_ s: [Double], _ k: Double, _ slices: Int) -> (Double, Double, Double) {
    if slices == 1 { return (s[0], s[1], s[2]) }
    let a = min(max(Int(k.rounded(.down)), 0), slices - 2)
    let w = k - Double(a)
    let p = 3 * a, q = p + 3
    return (s[p] + w * (s[q] - s[p]), s[p + 1] + w * (s[q + 1] - s[p + 1]), s[p + 2] + w * (s[q + 2] - s[p + 2]))
}

public enum ResampleMethod: Int32, Sendable {
    case linear = 0
    case area = 1
}

/// A validated grid: the 3x3 matrix M (columns n, c*spacing[1], r*spacing[2]), its inverse and the
/// slice positions along n.
struct GridGeometry {
    let slices: Int, rows: Int, columns: Int
    let count: Int
    let origin: [Double]
    let m: [Double]  // row-major 3x3
    let inv: [Double]  // row-major 3x3
    let sliceSpacing: Double
    /// Slice offsets multiplied by `sign` so they increase; nil for uniform slices.
    let offsets: [Double]?
    let sign: Double
    /// Per-slice shifts (3 values per slice, mm), nil for a stack along n.
    let shifts: [Double]?

    init(_ g: Grid, _ name: String) throws(DicomError) {
        func bad(_ s: String) -> DicomError { DicomError(.argument, "\(name) grid: \(s)") }
        guard g.slices > 0, g.rows > 0, g.columns > 0 else {
            throw bad("empty size \(g.slices)x\(g.rows)x\(g.columns)")
        }
        let (rc, o1) = g.rows.multipliedReportingOverflow(by: g.columns)
        let (n, o2) = rc.multipliedReportingOverflow(by: g.slices)
        guard !o1, !o2, n < Int(Int32.max) * 64 else { throw bad("size too large") }
        guard g.origin.count == 3, g.direction.count == 9, g.spacing.count == 3 else {
            throw bad("origin, direction and spacing need 3, 9 and 3 values")
        }
        guard g.origin.allSatisfy({ $0.isFinite }), g.direction.allSatisfy({ $0.isFinite }) else {
            throw bad("non-finite origin or direction")
        }
        guard g.spacing.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw bad("spacing must be finite and > 0: \(g.spacing)")
        }
        let d = g.direction
        func col(_ c: Int) -> (Double, Double, Double) { (d[c], d[3 + c], d[6 + c]) }
        func dot(_ a: (Double, Double, Double), _ b: (Double, Double, Double)) -> Double {
            a.0 * b.0 + a.1 * b.1 + a.2 * b.2
        }
        for c in 0..<3 {
            let v = col(c)
            guard abs(dot(v, v).squareRoot() - 1) < 1e-2 else {
                throw DicomError(.geometry, "\(name) grid: direction column \(c) is not a unit vector")
            }
        }
        guard abs(dot(col(0), col(1))) < 1e-2, abs(dot(col(0), col(2))) < 1e-2, abs(dot(col(1), col(2))) < 1e-2 else {
            throw DicomError(.geometry, "\(name) grid: direction columns are not orthogonal")
        }
        slices = g.slices; rows = g.rows; columns = g.columns; count = n
        origin = g.origin
        let s1 = g.spacing[1], s2 = g.spacing[2]
        let mm = [
            d[0], d[1] * s1, d[2] * s2,
            d[3], d[4] * s1, d[5] * s2,
            d[6], d[7] * s1, d[8] * s2,
        ]
        m = mm
        guard let iv = invert3(mm) else { throw DicomError(.geometry, "\(name) grid: singular direction matrix") }
        inv = iv
        sliceSpacing = g.spacing[0]
        if let o = g.sliceOffsets {
            guard o.count == g.slices else { throw bad("slice_offsets has \(o.count) values for \(g.slices) slices") }
            guard o.allSatisfy({ $0.isFinite }) else { throw bad("non-finite slice offset") }
            var sgn = 1.0
            if o.count > 1 && o[1] < o[0] { sgn = -1 }
            let so = o.map { $0 * sgn }
            for k in 1..<max(1, so.count) where !(so[k] > so[k - 1]) {
                throw DicomError(.geometry, "\(name) grid: slice offsets are not strictly monotonic at slice \(k)")
            }
            offsets = so; sign = sgn
        } else {
            offsets = nil; sign = 1
        }
        if let sh = g.sliceShifts {
            guard sh.count == 3 * g.slices else {
                throw bad("slice_shifts has \(sh.count) values for \(g.slices) slices (3 per slice)")
            }
            guard sh.allSatisfy({ $0.isFinite }) else { throw bad("non-finite slice shift") }
            shifts = sh
        } else {
            shifts = nil
        }
    }

    /// The shift of slice k multiplied by the matrix `a` (row-major 3x3).
    func shift(_ k: Int, times a: [Double]) -> (Double, Double, Double) {
        guard let sh = shifts else { return (0, 0, 0) }
        let x = sh[3 * k], y = sh[3 * k + 1], z = sh[3 * k + 2]
        return (a[0] * x + a[1] * y + a[2] * z, a[3] * x + a[4] * y + a[5] * z, a[6] * x + a[7] * y + a[8] * z)
    }

    /// Offset along n of slice k (relative to the origin).
    @inline(__always) func offset(_ k: Int) -> Double {
        if let o = offsets { return o[k] * sign }
        return Double(k) * sliceSpacing
    }

    /// Continuous slice index of the offset `t` along n.
    @inline(__always) func continuousK(_ t: Double) -> Double {
        guard let o = offsets else { return t / sliceSpacing }
        let x = t * sign
        let n = o.count
        if n == 1 { return (x - o[0]) / sliceSpacing }
        if x <= o[0] { return (x - o[0]) / (o[1] - o[0]) }
        if x >= o[n - 1] { return Double(n - 1) + (x - o[n - 1]) / (o[n - 1] - o[n - 2]) }
        var lo = 0, hi = n - 1  // o[lo] <= x < o[hi]
        while hi - lo > 1 {
            let mid = (lo + hi) >> 1
            if o[mid] <= x { lo = mid } else { hi = mid }
        }
        return Double(lo) + (x - o[lo]) / (o[lo + 1] - o[lo])
    }
}

func invert3(_ a: [Double]) -> [Double]? {
    let c00 = a[4] * a[8] - a[5] * a[7]
    let c01 = a[5] * a[6] - a[3] * a[8]
    let c02 = a[3] * a[7] - a[4] * a[6]
    let det = a[0] * c00 + a[1] * c01 + a[2] * c02
    guard det.isFinite, abs(det) > 1e-12 else { return nil }
    let r = 1 / det
    return [
        c00 * r, (a[2] * a[7] - a[1] * a[8]) * r, (a[1] * a[5] - a[2] * a[4]) * r,
        c01 * r, (a[0] * a[8] - a[2] * a[6]) * r, (a[2] * a[3] - a[0] * a[5]) * r,
        c02 * r, (a[1] * a[6] - a[0] * a[7]) * r, (a[0] * a[4] - a[1] * a[3]) * r,
    ]
}
