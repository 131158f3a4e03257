import DicomBytes

/// A 3-vector in patient coordinates (LPS, mm).
public struct Vec3: Equatable, Sendable {
    public var x: Double, y: Double, z: Double
    public init(_ x: Double, _ y: Double, _ z: Double) { self.x = x; self.y = y; self.z = z }
    public init?(_ a: [Double], from: Int = 0) {
        guard a.count >= from + 3, a[from].isFinite, a[from + 1].isFinite, a[from + 2].isFinite else { return nil }
        self.init(a[from], a[from + 1], a[from + 2])
    }
    public static func + (a: Vec3, b: Vec3) -> Vec3 { Vec3(a.x + b.x, a.y + b.y, a.z + b.z) }
    public static func - (a: Vec3, b: Vec3) -> Vec3 { Vec3(a.x - b.x, a.y - b.y, a.z - b.z) }
    public static func * (s: Double, a: Vec3) -> Vec3 { Vec3(s * a.x, s * a.y, s * a.z) }
    public func dot(_ b: Vec3) -> Double { x * b.x + y * b.y + z * b.z }
    public func cross(_ b: Vec3) -> Vec3 { Vec3(y * b.z - z * b.y, z * b.x - x * b.z, x * b.y - y * b.x) }
    public var norm: Double { dot(self).squareRoot() }
    public var normalized: Vec3 { let n = norm; return n > 0 ? (1 / n) * self : self }
    public var array: [Double] { [x, y, z] }
}

/// What the stacking needs to know about one slice (a file, or one frame of a multi-frame file).
public struct SlicePlacement: Sendable {
    public var position: [Double]?  // ImagePositionPatient
    public var orientation: [Double]?  // ImageOrientationPatient
    public var instanceNumber: Int?
    /// Names the slice in messages (its file, with the frame for multi-frame files).
    public var name: String
    public init(position: [Double]?, orientation: [Double]?, instanceNumber: Int?, name: String) {
        self.position = position; self.orientation = orientation; self.instanceNumber = instanceNumber; self.name = name
    }
}

/// Slices stacked into a volume: their order, spacing and geometry.
public struct StackGeometry: Sendable {
    /// Indices of the kept input slices, in volume order.
    public var order: [Int] = []
    /// Indices of the input slices dropped as duplicate positions.
    public var dropped: [Int] = []
    public var rowDirection = Vec3(1, 0, 0)  // r: increasing column index
    public var columnDirection = Vec3(0, 1, 0)  // c: increasing row index
    public var normal = Vec3(0, 0, 1)  // n = r x c
    public var origin = Vec3(0, 0, 0)
    public var sliceSpacing = 1.0
    /// Position of every kept slice along n, relative to slice 0.
    public var offsets: [Double] = []
    /// Every kept slice's position.
    public var positions: [Vec3] = []
    public var uniform = true
    public var warnings: [String] = []

    /// Row-major 3x3 whose columns are n, c, r.
    public var direction: [Double] {
        let n = normal, c = columnDirection, r = rowDirection
        return [n.x, c.x, r.x, n.y, c.y, r.y, n.z, c.z, r.z]
    }

    /// Row-major 4x4 mapping (k, i, j, 1) to (x, y, z, 1) with the uniform slice spacing.
    public func affine(rowSpacing: Double, columnSpacing: Double) -> [Double] {
        let n = sliceSpacing * normal, c = rowSpacing * columnDirection, r = columnSpacing * rowDirection
        return [
            n.x, c.x, r.x, origin.x,
            n.y, c.y, r.y, origin.y,
            n.z, c.z, r.z, origin.z,
            0, 0, 0, 1,
        ]
    }
}

/// Compact decimal text of a length for messages: at most 3 decimals.
public func formatMM(_ v: Double) -> String {
    guard v.isFinite else { return "\(v)" }
    let r = (v * 1000).rounded() / 1000
    if r == r.rounded(), abs(r) < 1e15 { return String(Int(r)) }
    return String(r)
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    guard !s.isEmpty else { return 0 }
    let m = s.count / 2
    return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/// Largest component difference between two orientations.
func orientationDifference(_ a: [Double], _ b: [Double]) -> Double {
    var d = 0.0
    for i in 0..<min(6, min(a.count, b.count)) { d = max(d, abs(a[i] - b[i])) }
    return d
}

/// Beyond this many duplicate / spacing warnings of one kind, they are summarised.
let maxListedWarnings = 5

/// Tolerance on ImageOrientationPatient components for "the same orientation".
public let orientationTolerance = 1e-3

public enum Stacking {
    /// Sorts slices along the normal n = r x c of their (common) orientation, drops duplicate positions
    /// (keeping the lowest InstanceNumber), measures the spacing and reports gaps. Without complete
    /// IPP/IOP the slices are ordered by InstanceNumber with `fallbackSpacing` (or 1 mm).
    public static func stack(_ slices: [SlicePlacement], fallbackSpacing: Double?) throws(DicomError) -> StackGeometry {
        var g = StackGeometry()
        guard !slices.isEmpty else { throw DicomError(.geometry, "no slices") }
        let fallback = fallbackSpacing.flatMap { $0.isFinite && $0 > 0 ? $0 : nil }

        let missing = slices.firstIndex { s in
            guard let p = s.position, Vec3(p) != nil, let o = s.orientation, o.count >= 6,
                o.prefix(6).allSatisfy({ $0.isFinite })
            else { return true }
            return Vec3(o)!.norm < 1e-6 || Vec3(o, from: 3)!.norm < 1e-6
        }

        if let m = missing {
            // Fallback: InstanceNumber order, nominal spacing, orientation and origin of the first slice if known.
            g.order = Array(slices.indices).sorted { a, b in
                let ia = slices[a].instanceNumber ?? Int.max, ib = slices[b].instanceNumber ?? Int.max
                return ia != ib ? ia < ib : a < b
            }
            g.sliceSpacing = fallback ?? 1
            let first = slices[g.order[0]]
            if let o = first.orientation, o.count >= 6, let r = Vec3(o), let c = Vec3(o, from: 3), r.norm > 1e-6,
                c.norm > 1e-6
            {
                g.rowDirection = r.normalized; g.columnDirection = c.normalized
                g.normal = g.rowDirection.cross(g.columnDirection).normalized
            }
            if let p = first.position, let v = Vec3(p) { g.origin = v }
            g.offsets = g.order.indices.map { Double($0) * g.sliceSpacing }
            g.positions = g.offsets.map { g.origin + $0 * g.normal }
            g.warnings.append(
                "ImagePositionPatient/ImageOrientationPatient missing or invalid in \(slices[m].name): "
                    + "slices ordered by InstanceNumber with a spacing of \(formatMM(g.sliceSpacing)) mm")
            return g
        }

        // Common orientation.
        let ref = slices[0].orientation!
        for s in slices where orientationDifference(s.orientation!, ref) > orientationTolerance {
            throw DicomError(
                .geometry,
                "\(s.name): ImageOrientationPatient \(s.orientation!.prefix(6).map { formatMM($0) }) "
                    + "differs from \(ref.prefix(6).map { formatMM($0) }) of \(slices[0].name)")
        }
        let r = Vec3(ref)!.normalized, c = Vec3(ref, from: 3)!.normalized
        guard abs(r.dot(c)) < 1e-2 else {
            throw DicomError(
                .geometry, "\(slices[0].name): ImageOrientationPatient row and column directions are not orthogonal")
        }
        let n = r.cross(c).normalized
        g.rowDirection = r; g.columnDirection = c; g.normal = n

        let pos = slices.map { Vec3($0.position!)! }
        let proj = pos.map { n.dot($0) }
        let sorted = Array(slices.indices).sorted { a, b in
            if proj[a] != proj[b] { return proj[a] < proj[b] }
            let ia = slices[a].instanceNumber ?? Int.max, ib = slices[b].instanceNumber ?? Int.max
            return ia != ib ? ia < ib : a < b
        }

        // Duplicates: positions closer than a small fraction of the nominal spacing.
        var steps: [Double] = []
        for t in 1..<max(1, sorted.count) {
            let d = proj[sorted[t]] - proj[sorted[t - 1]]
            if d > 1e-3 { steps.append(d) }
        }
        let nominal = steps.isEmpty ? 0 : median(steps)
        let tol = max(1e-3, 1e-2 * nominal)
        var duplicateWarnings: [String] = []
        var t = 0
        while t < sorted.count {
            var e = t + 1
            while e < sorted.count && proj[sorted[e]] - proj[sorted[t]] <= tol { e += 1 }
            let group = Array(sorted[t..<e])
            let keep = group.min { a, b in
                let ia = slices[a].instanceNumber ?? Int.max, ib = slices[b].instanceNumber ?? Int.max
                return ia != ib ? ia < ib : a < b
            }!
            g.order.append(keep)
            if group.count > 1 {
                let others = group.filter { $0 != keep }
                g.dropped += others
                duplicateWarnings.append(
                    "duplicate slice position \(formatMM(proj[keep])) mm along the normal: kept "
                        + "\(slices[keep].name), dropped " + others.map { slices[$0].name }.joined(separator: ", "))
            }
            t = e
        }

        if duplicateWarnings.count > maxListedWarnings {
            let names = g.dropped.prefix(maxListedWarnings).map { slices[$0].name }.joined(separator: ", ")
            g.warnings.append(
                "\(duplicateWarnings.count) duplicate slice positions (repeated or dynamic acquisition?): "
                    + "kept the lowest InstanceNumber at each, dropped \(g.dropped.count) slices: \(names)"
                    + (g.dropped.count > maxListedWarnings ? ", ..." : ""))
        } else {
            g.warnings += duplicateWarnings
        }
        let p0 = proj[g.order[0]]
        g.origin = pos[g.order[0]]
        g.offsets = g.order.map { proj[$0] - p0 }
        g.positions = g.order.map { pos[$0] }
        if g.order.count >= 2 {
            let diffs = (1..<g.order.count).map { g.offsets[$0] - g.offsets[$0 - 1] }
            let med = median(diffs)
            g.sliceSpacing = med
            var spacingWarnings: [String] = []
            for (a, d) in diffs.enumerated() where abs(d - med) > 0.01 * med && abs(d - med) > 0.01 {
                g.uniform = false
                let what = d > med ? "gap" : "spacing"
                spacingWarnings.append(
                    "\(what) of \(formatMM(d)) mm between slice \(a) and \(a + 1) (expected \(formatMM(med)) mm)")
            }
            if spacingWarnings.count > maxListedWarnings {
                g.warnings += spacingWarnings.prefix(maxListedWarnings)
                g.warnings.append(
                    "non-uniform spacing at \(spacingWarnings.count) places in all; slice_offsets hold the real positions"
                )
            } else {
                g.warnings += spacingWarnings
            }
            // Slices that do not stack along n (e.g. gantry tilt): the affine cannot describe them; the
            // slice positions can (pairing and masks use them through petct_grid's slice_shifts).
            var shear = 0.0
            for k in 1..<g.order.count {
                shear = max(shear, (g.positions[k] - g.origin - g.offsets[k] * n).norm)
            }
            if shear > 0.01 {
                g.warnings.append(
                    "slice positions drift up to \(formatMM(shear)) mm in-plane from the slice normal "
                        + "(gantry tilt?): a sheared stack; pair() and load_masks() use each slice's real "
                        + "position (slice_positions), NIfTI and SimpleITK exports resample it onto the "
                        + "unsheared grid of the affine")
            }
        } else {
            g.sliceSpacing = fallback ?? 1
        }
        return g
    }
}
