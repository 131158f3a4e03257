/// Resampling when either grid is sheared (slice shifts, e.g. gantry tilt): never the separable path,
/// whose in-plane taps serve every slice. A sheared destination adds its shift per slice (runGeneric,
/// row intervals included: along a row the source position stays linear); a sheared source needs the
/// shift at each voxel's k, so every voxel is mapped on its own (runSheared).
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

extension Job {
    /// Trilinear value at the source position (t mm along n_s, row y, column x before the source's own
    /// shift): k from t first, then the in-plane indices minus the shift interpolated at k.
    @inline(__always) func shearedSample(_ t: Double, _ y: Double, _ x: Double, _ src: [Double]?) -> Float? {
        let kc = s.continuousK(t)
        guard insideRange(kc, s.slices) else { return nil }
        guard let sh = src else { return trilinear(kc, y, x) }
        var sy = sh[0], sx = sh[1]
        if s.slices > 1 {
            let a = min(max(Int(kc.rounded(.down)), 0), s.slices - 2)
            let w = kc - Double(a)
            sy = sh[2 * a] + w * (sh[2 * a + 2] - sh[2 * a])
            sx = sh[2 * a + 1] + w * (sh[2 * a + 3] - sh[2 * a + 1])
        }
        return trilinear(kc, y - sy, x - sx)
    }

    /// The per-voxel path for a sheared source (linear, or area as supersampled trilinear); a sheared
    /// destination alone goes through runGeneric with `destinationShift`.
    func runSheared(_ range: Range<Int>, _ shifts: ShearedShifts) {
        let plane = d.rows * d.columns
        let (nsI, nsJ) = areaSupersampling()
        let src = shifts.source
        for k in range {
            let off = d.offset(k)
            var t0 = b[0] + l[0] * off, y0 = b[1] + l[3] * off, x0 = b[2] + l[6] * off
            if let ds = destinationShift {
                t0 += ds[3 * k]; y0 += ds[3 * k + 1]; x0 += ds[3 * k + 2]
            }
            let out = dst + k * plane
            let mk = mask.map { $0 + k * plane }
            for i in 0..<d.rows {
                let di = Double(i)
                let ti = t0 + l[1] * di, yi = y0 + l[4] * di, xi = x0 + l[7] * di
                for j in 0..<d.columns {
                    let dj = Double(j)
                    let t = ti + l[2] * dj, y = yi + l[5] * dj, x = xi + l[8] * dj
                    var value = shearedSample(t, y, x, src)
                    if value != nil && (nsI > 1 || nsJ > 1) {
                        var sum = 0.0, n = 0
                        for u in 0..<nsI {
                            let fi = (Double(u) + 0.5) / Double(nsI) - 0.5
                            for v in 0..<nsJ {
                                let fj = (Double(v) + 0.5) / Double(nsJ) - 0.5
                                if let w = shearedSample(
                                    t + l[1] * fi + l[2] * fj, y + l[4] * fi + l[5] * fj, x + l[7] * fi + l[8] * fj,
                                    src)
                                {
                                    sum += Double(w); n += 1
                                }
                            }
                        }
                        if n > 0 { value = Float(sum / Double(n)) }
                    }
                    out[i * d.columns + j] = value ?? fill
                    mk?[i * d.columns + j] = value == nil ? 0 : 1
                }
            }
        }
    }
}
