import DicomBytes
import PetctConcurrency

public enum Resampler {
    /// Resamples `src` (on `srcGrid`) onto `dstGrid`; see petct_resample in petct.h.
    public static func resample(
        src: UnsafeBufferPointer<Float>, srcGrid: Grid,
        dst: UnsafeMutableBufferPointer<Float>, dstGrid: Grid,
        method: ResampleMethod, fill: Float,
        mask: UnsafeMutableBufferPointer<UInt8>?, threads: Int
    ) throws(DicomError) {
        try resample(
            src: src, srcGrid: srcGrid, dst: dst, dstGrid: dstGrid, method: method, fill: fill, mask: mask,
            threads: threads, allowSeparable: true)
    }

    /// `allowSeparable: false` forces the generic per-voxel path (tests compare the two).
    static func resample(
        src: UnsafeBufferPointer<Float>, srcGrid: Grid,
        dst: UnsafeMutableBufferPointer<Float>, dstGrid: Grid,
        method: ResampleMethod, fill: Float,
        mask: UnsafeMutableBufferPointer<UInt8>?, threads: Int, allowSeparable: Bool
    ) throws(DicomError) {
        let s = try GridGeometry(srcGrid, "source")
        let d = try GridGeometry(dstGrid, "destination")
        guard src.count == s.count else {
            throw DicomError(.argument, "source buffer holds \(src.count) values, its grid needs \(s.count)")
        }
        guard dst.count == d.count else {
            throw DicomError(.argument, "destination buffer holds \(dst.count) values, its grid needs \(d.count)")
        }
        if let mask, mask.count != d.count {
            throw DicomError(.argument, "mask holds \(mask.count) bytes, the destination grid needs \(d.count)")
        }
        guard let srcBase = src.baseAddress, let dstBase = dst.baseAddress else { return }

        // Affine map of destination (offset along n_d, i, j) to source (t along n_s in mm, i', j').
        var l = [Double](repeating: 0, count: 9)
        for r in 0..<3 {
            for c in 0..<3 {
                l[r * 3 + c] = s.inv[r * 3] * d.m[c] + s.inv[r * 3 + 1] * d.m[3 + c] + s.inv[r * 3 + 2] * d.m[6 + c]
            }
        }
        let delta = [d.origin[0] - s.origin[0], d.origin[1] - s.origin[1], d.origin[2] - s.origin[2]]
        let b = (0..<3).map { r in s.inv[r * 3] * delta[0] + s.inv[r * 3 + 1] * delta[1] + s.inv[r * 3 + 2] * delta[2] }

        let job = Job(
            s: s, d: d, l: l, b: b, src: srcBase, dst: dstBase, mask: mask?.baseAddress,
            method: method, fill: fill)
        if s.shifts != nil || d.shifts != nil {
            // Sheared grids never take the separable path (its in-plane taps are shared by all slices).
            let shifts = ShearedShifts(s, d)
            var withShift = job
            withShift.destinationShift = shifts.destination
            let sheared = withShift
            Parallel.chunks(count: d.slices, threads: threads) { _, range in
                if let source = shifts.source {
                    sheared.runGeneric(range, ShearedSource(shift: source))
                } else {
                    sheared.runGeneric(range, PlainSource())
                }
            }
        } else if allowSeparable, let fast = job.separable() {
            Parallel.chunks(count: d.slices, threads: threads) { _, range in
                fast.run(range)
            }
        } else {
            Parallel.chunks(count: d.slices, threads: threads) { _, range in
                job.runGeneric(range, PlainSource())
            }
        }
    }
}

/// One resampling call: geometry, buffers and the affine map between the grids.
struct Job: @unchecked Sendable {
    let s: GridGeometry, d: GridGeometry
    let l: [Double], b: [Double]
    let src: UnsafePointer<Float>
    let dst: UnsafeMutablePointer<Float>
    let mask: UnsafeMutablePointer<UInt8>?
    let method: ResampleMethod
    let fill: Float
    /// A sheared destination: each slice's shift in source index units (3 per slice), else nil.
    var destinationShift: [Double]? = nil

    /// The separable plan when the grids share the slice normal (up to sign) and their in-plane axes
    /// are aligned (possibly swapped).
    func separable() -> Separable? {
        let eps = 1e-4
        let rd = Double(d.rows - 1), cd = Double(d.columns - 1)
        var maxOff = 0.0
        for k in [0, d.slices - 1] { maxOff = max(maxOff, abs(d.offset(k))) }
        // t along n_s must not depend on (i, j) ...
        guard (abs(l[1]) * rd + abs(l[2]) * cd) / s.sliceSpacing < eps else { return nil }
        // ... and the in-plane source position must not depend on the destination slice.
        guard abs(l[3]) * maxOff < eps, abs(l[6]) * maxOff < eps else { return nil }
        let swapped: Bool
        if abs(l[5]) * cd < eps && abs(l[7]) * rd < eps {
            swapped = false
        } else if abs(l[4]) * rd < eps && abs(l[8]) * cd < eps {
            swapped = true
        } else {
            return nil
        }
        let area = method == .area
        var ta = Taps(), tb = Taps()
        ta.inside.reserveCapacity(d.rows); tb.inside.reserveCapacity(d.columns)
        // Axis A is driven by the destination row i, axis B by the destination column j.
        let (rowA, rowB) = swapped ? (2, 1) : (1, 2)  // source coordinate rows of l/b
        let sizeA = swapped ? s.columns : s.rows
        let sizeB = swapped ? s.rows : s.columns
        let wA = abs(l[rowA * 3 + 1]), wB = abs(l[rowB * 3 + 2])
        for i in 0..<d.rows { ta.add(b[rowA] + l[rowA * 3 + 1] * Double(i), size: sizeA, width: wA, area: area) }
        for j in 0..<d.columns { tb.add(b[rowB] + l[rowB * 3 + 2] * Double(j), size: sizeB, width: wB, area: area) }
        let strideA = swapped ? 1 : s.columns
        let strideB = swapped ? s.columns : 1
        return Separable(job: self, a: ta, b: tb, strideA: strideA, strideB: strideB)
    }

    @inline(__always) func sliceTaps(_ k: Int) -> (Int, Int, Float)? {
        let t = b[0] + l[0] * d.offset(k)
        let kc = s.continuousK(t)
        guard insideRange(kc, s.slices) else { return nil }
        let (z0, z1, w) = linearTaps(kc, s.slices)
        return (z0, z1, Float(w))
    }

    @inline(__always) func fillSlice(_ k: Int) {
        let n = d.rows * d.columns
        (dst + k * n).update(repeating: fill, count: n)
        if let mask { (mask + k * n).update(repeating: 0, count: n) }
    }

    /// Trilinear value at the source continuous index (kc, y, x), nil outside.
    @inline(__always) func trilinear(_ kc: Double, _ y: Double, _ x: Double) -> Float? {
        guard insideRange(kc, s.slices), insideRange(y, s.rows), insideRange(x, s.columns) else { return nil }
        return trilinearInside(kc, y, x)
    }

    /// Trilinear value at a continuous index known to be inside.
    @inline(__always) func trilinearInside(_ kc: Double, _ y: Double, _ x: Double) -> Float {
        let (z0, z1, wz) = linearTaps(kc, s.slices)
        let (y0, y1, wy) = linearTaps(y, s.rows)
        let (x0, x1, wx) = linearTaps(x, s.columns)
        let plane = s.rows * s.columns
        @inline(__always) func bil(_ z: Int) -> Double {
            let p = src + z * plane
            let r0 = p + y0 * s.columns, r1 = p + y1 * s.columns
            let a = Double(r0[x0]) + wx * (Double(r0[x1]) - Double(r0[x0]))
            let c = Double(r1[x0]) + wx * (Double(r1[x1]) - Double(r1[x0]))
            return a + wy * (c - a)
        }
        let v0 = bil(z0)
        if wz == 0 || z0 == z1 { return Float(v0) }
        let v1 = bil(z1)
        return Float(v0 + wz * (v1 - v0))
    }

    /// Supersampling factors (rows, columns) for area averaging: source voxels crossed per destination
    /// step, 1 to 8; (1, 1) for linear.
    func areaSupersampling() -> (Int, Int) {
        guard method == .area else { return (1, 1) }
        func steps(_ c: Int) -> Int {
            let v = max(abs(l[c]) / s.sliceSpacing, abs(l[3 + c]), abs(l[6 + c]))
            return min(8, max(1, Int(v.rounded(.up))))
        }
        return (steps(1), steps(2))
    }

    /// Any orientation: per voxel mapping; area = supersampled trilinear over the voxel footprint.
    /// `source` samples the source (specialised per kind: the plain path has no shift test).
    func runGeneric<Source: SourceSampling>(_ range: Range<Int>, _ source: Source) {
        let plane = d.rows * d.columns
        let (nsI, nsJ) = areaSupersampling()
        // Uniform source slices and plain trilinear: along a destination row every source coordinate
        // is linear in j, so the inside part is one interval found up front.
        // (A sheared source moves the in-plane position with k: each voxel is mapped on its own.)
        let rowwise = s.offsets == nil && nsI == 1 && nsJ == 1 && Source.linearAlongRows
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
                if rowwise {
                    runRow(out + i * d.columns, mk.map { $0 + i * d.columns }, ti, yi, xi)
                    continue
                }
                for j in 0..<d.columns {
                    let dj = Double(j)
                    let t = ti + l[2] * dj, y = yi + l[5] * dj, x = xi + l[8] * dj
                    var value = source.sample(self, t, y, x)
                    if value != nil && (nsI > 1 || nsJ > 1) {
                        var sum = 0.0, n = 0
                        for u in 0..<nsI {
                            let fi = (Double(u) + 0.5) / Double(nsI) - 0.5
                            for v in 0..<nsJ {
                                let fj = (Double(v) + 0.5) / Double(nsJ) - 0.5
                                if let w = source.sample(
                                    self, t + l[1] * fi + l[2] * fj, y + l[4] * fi + l[5] * fj,
                                    x + l[7] * fi + l[8] * fj)
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

extension Job {
    /// One destination row of the generic path (uniform source slices, trilinear): the columns whose
    /// centres fall inside the source form an interval [lo, hi]; only those are interpolated.
    @inline(__always) func runRow(
        _ row: UnsafeMutablePointer<Float>, _ mrow: UnsafeMutablePointer<UInt8>?,
        _ ti: Double, _ yi: Double, _ xi: Double
    ) {
        let cols = d.columns
        let sp = s.sliceSpacing
        let l2 = l[2], l5 = l[5], l8 = l[8]
        // Exactly the per-voxel expressions of the checked path.
        @inline(__always) func coords(_ j: Int) -> (Double, Double, Double) {
            let dj = Double(j)
            return (s.continuousK(ti + l2 * dj), yi + l5 * dj, xi + l8 * dj)
        }
        @inline(__always) func inside(_ j: Int) -> Bool {
            let c = coords(j)
            return insideRange(c.0, s.slices) && insideRange(c.1, s.rows) && insideRange(c.2, s.columns)
        }
        var lo = 0.0, hi = Double(cols - 1)
        var guess = 0.0
        for (c0, dc, n) in [(ti / sp, l2 / sp, s.slices), (yi, l5, s.rows), (xi, l8, s.columns)] {
            if dc == 0 {
                if !insideRange(c0, n) { lo = 1; hi = 0 }
            } else {
                let a = (-0.5 - c0) / dc, b = (Double(n) - 0.5 - c0) / dc
                lo = max(lo, min(a, b).rounded(.up))
                hi = min(hi, max(a, b).rounded(.down))
                guess = min(a, b)
            }
        }
        var jlo: Int, jhi: Int
        if lo <= hi {
            jlo = Int(lo); jhi = Int(hi)
        } else {
            // Empty or numerically degenerate: settle it with the exact test around the estimate.
            jlo = Int(min(max(guess.rounded(), 0), Double(cols - 1))); jhi = jlo
        }
        while jlo > 0 && inside(jlo - 1) { jlo -= 1 }
        while jlo <= jhi && !inside(jlo) { jlo += 1 }
        while jhi < cols - 1 && jhi >= jlo && inside(jhi + 1) { jhi += 1 }
        while jhi >= jlo && !inside(jhi) { jhi -= 1 }
        if jlo > jhi {
            row.update(repeating: fill, count: cols)
            mrow?.update(repeating: 0, count: cols)
            return
        }
        if jlo > 0 {
            row.update(repeating: fill, count: jlo)
            mrow?.update(repeating: 0, count: jlo)
        }
        if jhi < cols - 1 {
            (row + jhi + 1).update(repeating: fill, count: cols - 1 - jhi)
            mrow.map { ($0 + jhi + 1).update(repeating: 0, count: cols - 1 - jhi) }
        }
        for j in jlo...jhi {
            let c = coords(j)
            row[j] = trilinearInside(c.0, c.1, c.2)
        }
        if let mrow { (mrow + jlo).update(repeating: 1, count: jhi - jlo + 1) }
    }
}
