/// Resampling when either grid is sheared (slice shifts, e.g. gantry tilt): never the separable path,
/// whose in-plane taps serve every slice. Both go through runGeneric: a sheared destination adds its shift
/// per slice (row intervals included: along a row the source position stays linear); a sheared source
/// needs the shift at each voxel's k (`ShearedSource`), so every voxel is mapped on its own.
struct ShearedShifts {
    /// Per destination slice: its shift in source index units (t mm along n_s, rows, columns).
    let destination: [Double]?
    /// Per source slice: its shift in source row / column index units (2 values per slice).
    let source: [Double]?

    init(_ s: GridGeometry, _ d: GridGeometry) {
        if d.shifts != nil {
            var v = [Double](repeating: 0, count: 3 * d.slices)
            for k in 0..<d.slices {
                let x = d.shift(k, times: s.inv)
                v[3 * k] = x.0; v[3 * k + 1] = x.1; v[3 * k + 2] = x.2
            }
            destination = v
        } else {
            destination = nil
        }
        if s.shifts != nil {
            var v = [Double](repeating: 0, count: 2 * s.slices)
            for k in 0..<s.slices {
                let x = s.shift(k, times: s.inv)
                v[2 * k] = x.1; v[2 * k + 1] = x.2
            }
            source = v
        } else {
            source = nil
        }
    }
}

/// How runGeneric samples the source at (t mm along n_s, row y, column x).
protocol SourceSampling {
    /// Along a destination row the source indices are linear in the column (runRow's intervals apply).
    static var linearAlongRows: Bool { get }
    func sample(_ job: Job, _ t: Double, _ y: Double, _ x: Double) -> Float?
}

/// An ordinary source: trilinear at (k of t, y, x).
struct PlainSource: SourceSampling {
    static var linearAlongRows: Bool { true }
    @inline(__always) func sample(_ job: Job, _ t: Double, _ y: Double, _ x: Double) -> Float? {
        job.trilinear(job.s.continuousK(t), y, x)
    }
}

/// A sheared source: the in-plane indices lose the source's shift interpolated at the k of t (so the
/// position is no longer linear along a row).
struct ShearedSource: SourceSampling {
    /// Per source slice: its in-plane shift in row / column index units (2 values per slice).
    let shift: [Double]
    static var linearAlongRows: Bool { false }
    @inline(__always) func sample(_ job: Job, _ t: Double, _ y: Double, _ x: Double) -> Float? {
        let s = job.s
        let kc = s.continuousK(t)
        guard insideRange(kc, s.slices) else { return nil }
        var sy = shift[0], sx = shift[1]
        if s.slices > 1 {
            let a = min(max(Int(kc.rounded(.down)), 0), s.slices - 2)
            let w = kc - Double(a)
            sy = shift[2 * a] + w * (shift[2 * a + 2] - shift[2 * a])
            sx = shift[2 * a + 1] + w * (shift[2 * a + 3] - shift[2 * a + 1])
        }
        return job.trilinear(kc, y - sy, x - sx)
    }
}
