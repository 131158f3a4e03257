import DicomBytes
import PetctConcurrency

/// A voxel grid in patient coordinates; see petct_grid in petct.h for the convention.
public struct Grid: Sendable {
    public var slices: Int, rows: Int, columns: Int
    public var origin: [Double]        // 3
    public var direction: [Double]     // 9, row-major; columns are n, c, r
    public var spacing: [Double]       // slice, row, column
    public var sliceOffsets: [Double]? // per slice along n, relative to origin
    public init(slices: Int, rows: Int, columns: Int, origin: [Double], direction: [Double], spacing: [Double],
                sliceOffsets: [Double]? = nil) {
        self.slices = slices; self.rows = rows; self.columns = columns; self.origin = origin
        self.direction = direction; self.spacing = spacing; self.sliceOffsets = sliceOffsets
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
        return (origin[0] + t * d[0] + y * d[1] + x * d[2],
                origin[1] + t * d[3] + y * d[4] + x * d[5],
                origin[2] + t * d[6] + y * d[7] + x * d[8])
    }
}

public enum ResampleMethod: Int32, Sendable { case linear = 0, area = 1 }

/// A validated grid: the 3x3 matrix M (columns n, c*spacing[1], r*spacing[2]), its inverse and the
/// slice positions along n.
struct GridGeometry {
    let slices: Int, rows: Int, columns: Int
    let count: Int
    let origin: [Double]
    let m: [Double]        // row-major 3x3
    let inv: [Double]      // row-major 3x3
    let sliceSpacing: Double
    /// Slice offsets multiplied by `sign` so they increase; nil for uniform slices.
    let offsets: [Double]?
    let sign: Double

    init(_ g: Grid, _ name: String) throws(DicomError) {
        func bad(_ s: String) -> DicomError { DicomError(.argument, "\(name) grid: \(s)") }
        guard g.slices > 0, g.rows > 0, g.columns > 0 else { throw bad("empty size \(g.slices)x\(g.rows)x\(g.columns)") }
        let (rc, o1) = g.rows.multipliedReportingOverflow(by: g.columns)
        let (n, o2) = rc.multipliedReportingOverflow(by: g.slices)
        guard !o1, !o2, n < Int(Int32.max) * 64 else { throw bad("size too large") }
        guard g.origin.count == 3, g.direction.count == 9, g.spacing.count == 3 else {
            throw bad("origin, direction and spacing need 3, 9 and 3 values")
        }
        guard g.origin.allSatisfy({ $0.isFinite }), g.direction.allSatisfy({ $0.isFinite }) else {
            throw bad("non-finite origin or direction")
        }
        guard g.spacing.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw bad("spacing must be finite and > 0: \(g.spacing)") }
        let d = g.direction
        func col(_ c: Int) -> (Double, Double, Double) { (d[c], d[3 + c], d[6 + c]) }
        func dot(_ a: (Double, Double, Double), _ b: (Double, Double, Double)) -> Double { a.0 * b.0 + a.1 * b.1 + a.2 * b.2 }
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
        let mm = [d[0], d[1] * s1, d[2] * s2,
                  d[3], d[4] * s1, d[5] * s2,
                  d[6], d[7] * s1, d[8] * s2]
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
        var lo = 0, hi = n - 1          // o[lo] <= x < o[hi]
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
    return [c00 * r, (a[2] * a[7] - a[1] * a[8]) * r, (a[1] * a[5] - a[2] * a[4]) * r,
            c01 * r, (a[0] * a[8] - a[2] * a[6]) * r, (a[2] * a[3] - a[0] * a[5]) * r,
            c02 * r, (a[1] * a[6] - a[0] * a[7]) * r, (a[0] * a[4] - a[1] * a[3]) * r]
}

/// Interpolation taps along one axis for every destination index: `index[start[d]..<start[d+1]]`
/// with `weight` (summing to 1); `inside[d]` says whether the destination centre lies in the source.
struct Taps {
    var start: [Int] = [0]
    var index: [Int] = []
    var weight: [Float] = []
    var inside: [Bool] = []
    var minIndex = Int.max, maxIndex = Int.min

    /// Linear (ITK convention: inside within half a voxel beyond the extreme centres, edge clamped)
    /// when `width` <= 1, else box averaging over `width` source voxels.
    mutating func add(_ x: Double, size n: Int, width: Double, area: Bool) {
        let ok = x >= -0.5 && x <= Double(n) - 0.5
        inside.append(ok)
        if ok {
            if area && width > 1 + 1e-6 {
                let h = width / 2
                let a = max(x - h, -0.5), b = min(x + h, Double(n) - 0.5)
                let first = max(0, Int((a + 0.5).rounded(.down)))
                let last = min(n - 1, Int((b + 0.5).rounded(.down)))
                var total = 0.0
                let mark = index.count
                if first <= last {
                    for s in first...last {
                        let w = min(b, Double(s) + 0.5) - max(a, Double(s) - 0.5)
                        if w > 1e-9 { index.append(s); weight.append(Float(w)); total += w }
                    }
                }
                if total > 0 {
                    for t in mark..<weight.count { weight[t] = Float(Double(weight[t]) / total) }
                } else {
                    appendLinear(x, n)
                }
            } else {
                appendLinear(x, n)
            }
        }
        for t in start[start.count - 1]..<index.count {
            minIndex = min(minIndex, index[t]); maxIndex = max(maxIndex, index[t])
        }
        start.append(index.count)
    }

    private mutating func appendLinear(_ x: Double, _ n: Int) {
        let (a, b, w) = linearTaps(x, n)
        if a == b || w == 0 {
            index.append(a); weight.append(1)
        } else {
            index.append(a); weight.append(Float(1 - w))
            index.append(b); weight.append(Float(w))
        }
    }
}

/// Clamped linear taps (ITK convention) of a continuous index x known to be inside [-0.5, n-0.5].
/// Positions within 1e-9 voxel of a centre snap to it, so identical grids copy values exactly.
@inline(__always) func linearTaps(_ x: Double, _ n: Int) -> (Int, Int, Double) {
    // x >= -0.5 here, so truncating x + 1 is floor(x) + 1 (cheaper than a floor call).
    var f = Double(Int(x + 1)) - 1
    var w = x - f
    if w < 1e-9 { w = 0 } else if w > 1 - 1e-9 { w = 0; f += 1 }
    let i0 = Int(f)
    return (min(max(i0, 0), n - 1), min(max(i0 + 1, 0), n - 1), w)
}

@inline(__always) func insideRange(_ x: Double, _ n: Int) -> Bool { x >= -0.5 && x <= Double(n) - 0.5 }

public enum Resampler {
    /// Resamples `src` (on `srcGrid`) onto `dstGrid`; see petct_resample in petct.h.
    public static func resample(src: UnsafeBufferPointer<Float>, srcGrid: Grid,
                                dst: UnsafeMutableBufferPointer<Float>, dstGrid: Grid,
                                method: ResampleMethod, fill: Float,
                                mask: UnsafeMutableBufferPointer<UInt8>?, threads: Int) throws(DicomError) {
        try resample(src: src, srcGrid: srcGrid, dst: dst, dstGrid: dstGrid, method: method, fill: fill, mask: mask,
                     threads: threads, allowSeparable: true)
    }

    /// `allowSeparable: false` forces the generic per-voxel path (tests compare the two).
    static func resample(src: UnsafeBufferPointer<Float>, srcGrid: Grid,
                         dst: UnsafeMutableBufferPointer<Float>, dstGrid: Grid,
                         method: ResampleMethod, fill: Float,
                         mask: UnsafeMutableBufferPointer<UInt8>?, threads: Int, allowSeparable: Bool) throws(DicomError) {
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

        let job = Job(s: s, d: d, l: l, b: b, src: srcBase, dst: dstBase, mask: mask?.baseAddress,
                      method: method, fill: fill)
        if allowSeparable, let fast = job.separable() {
            Parallel.chunks(count: d.slices, threads: threads) { _, range in
                fast.run(range)
            }
        } else {
            Parallel.chunks(count: d.slices, threads: threads) { _, range in
                job.runGeneric(range)
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
        let (rowA, rowB) = swapped ? (2, 1) : (1, 2)   // source coordinate rows of l/b
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

    /// Any orientation: per voxel mapping; area = supersampled trilinear over the voxel footprint.
    func runGeneric(_ range: Range<Int>) {
        let plane = d.rows * d.columns
        // Supersampling factors for area averaging: source voxels crossed per destination step.
        var nsI = 1, nsJ = 1
        if method == .area {
            func steps(_ c: Int) -> Int {
                let v = max(abs(l[c]) / s.sliceSpacing, abs(l[3 + c]), abs(l[6 + c]))
                return min(8, max(1, Int(v.rounded(.up))))
            }
            nsI = steps(1); nsJ = steps(2)
        }
        // Uniform source slices and plain trilinear: along a destination row every source coordinate
        // is linear in j, so the inside part is one interval found up front.
        let rowwise = s.offsets == nil && nsI == 1 && nsJ == 1
        for k in range {
            let off = d.offset(k)
            let t0 = b[0] + l[0] * off, y0 = b[1] + l[3] * off, x0 = b[2] + l[6] * off
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
                    let kc = s.continuousK(t)
                    var value: Float? = trilinear(kc, y, x)
                    if value != nil && (nsI > 1 || nsJ > 1) {
                        var sum = 0.0, n = 0
                        for u in 0..<nsI {
                            let fi = (Double(u) + 0.5) / Double(nsI) - 0.5
                            for v in 0..<nsJ {
                                let fj = (Double(v) + 0.5) / Double(nsJ) - 0.5
                                let tt = t + l[1] * fi + l[2] * fj
                                if let w = trilinear(s.continuousK(tt), y + l[4] * fi + l[5] * fj, x + l[7] * fi + l[8] * fj) {
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
    @inline(__always) func runRow(_ row: UnsafeMutablePointer<Float>, _ mrow: UnsafeMutablePointer<UInt8>?,
                                  _ ti: Double, _ yi: Double, _ xi: Double) {
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

/// Separable plan: per destination slice, two bracketing source slices, weighted rows (axis A),
/// then weighted columns (axis B).
struct Separable: @unchecked Sendable {
    let job: Job
    let a: Taps, b: Taps
    let strideA: Int, strideB: Int

    func run(_ range: Range<Int>) {
        let d = job.d, s = job.s
        let plane = d.rows * d.columns
        let srcPlane = s.rows * s.columns
        let bLo = b.minIndex, bHi = b.maxIndex
        guard bLo <= bHi, a.minIndex <= a.maxIndex else {
            for k in range { job.fillSlice(k) }
            return
        }
        let width = bHi - bLo + 1
        let cols = d.columns
        // Column taps as `taps` planes of (index into buf, weight) per destination column; columns
        // outside the source get weight 0 and are overwritten with the fill value afterwards.
        var taps = 1
        for j in 0..<cols { taps = max(taps, b.start[j + 1] - b.start[j]) }
        let bIndex = UnsafeMutablePointer<Int32>.allocate(capacity: taps * cols)
        let bWeight = UnsafeMutablePointer<Float>.allocate(capacity: taps * cols)
        let rowMask = UnsafeMutablePointer<UInt8>.allocate(capacity: cols)
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: width)
        defer { bIndex.deallocate(); bWeight.deallocate(); rowMask.deallocate(); buf.deallocate() }
        bIndex.initialize(repeating: 0, count: taps * cols)
        bWeight.initialize(repeating: 0, count: taps * cols)
        var outside: [Int] = []
        for j in 0..<cols {
            rowMask[j] = b.inside[j] ? 1 : 0
            if !b.inside[j] { outside.append(j); continue }
            for (n, t) in (b.start[j]..<b.start[j + 1]).enumerated() {
                bIndex[n * cols + j] = Int32(b.index[t] - bLo)
                bWeight[n * cols + j] = b.weight[t]
            }
        }
        let fill = job.fill
        // Order of the two in-plane passes: rows first (below) suits downsampling; columns first suits
        // upsampling (PET onto CT: each source row is interpolated along the columns once per slice and
        // the output rows become contiguous weighted sums of those, which vectorise).
        var tapsA = 1
        for i in 0..<d.rows { tapsA = max(tapsA, a.start[i + 1] - a.start[i]) }
        let nA = a.maxIndex - a.minIndex + 1
        // Contiguous weighted sums vectorise; the column pass gathers (counted 4x as expensive).
        let gather = 4.0
        let rowsFirstCost = Double(d.rows) * Double(tapsA) * Double(width)
            + gather * Double(d.rows) * Double(cols) * Double(taps)
        let colsFirstCost = Double(nA) * (Double(width) + gather * Double(cols) * Double(taps))
            + Double(d.rows) * Double(cols) * Double(tapsA)
        if nA <= d.rows && colsFirstCost < rowsFirstCost {
            runColumnsFirst(range, bIndex: bIndex, bWeight: bWeight, taps: taps, rowMask: rowMask, buf: buf,
                            width: width, outside: outside)
            return
        }
        a.index.withUnsafeBufferPointer { aIdx in
        a.weight.withUnsafeBufferPointer { aW in
        a.start.withUnsafeBufferPointer { aStart in
        a.inside.withUnsafeBufferPointer { aInside in
        outside.withUnsafeBufferPointer { outsideJ in
            for k in range {
                guard let (z0, z1, wz) = job.sliceTaps(k) else { job.fillSlice(k); continue }
                let two = z1 != z0 && wz != 0
                let p0 = job.src + z0 * srcPlane + bLo * strideB
                let p1 = job.src + z1 * srcPlane + bLo * strideB
                let out = job.dst + k * plane
                let mk = job.mask.map { $0 + k * plane }
                for i in 0..<d.rows {
                    let row = out + i * cols
                    guard aInside[i] else {
                        row.update(repeating: fill, count: cols)
                        mk?.advanced(by: i * cols).update(repeating: 0, count: cols)
                        continue
                    }
                    // buf[x] = sum_a w_a * ((1-wz) src[z0][a][x] + wz src[z1][a][x])
                    buf.update(repeating: 0, count: width)
                    for t in aStart[i]..<aStart[i + 1] {
                        let off = aIdx[t] &* strideA
                        let w = aW[t]
                        let q0 = p0 + off
                        if two {
                            let q1 = p1 + off
                            let w0 = w * (1 - wz), w1 = w * wz
                            if strideB == 1 {
                                for x in 0..<width { buf[x] += w0 * q0[x] + w1 * q1[x] }
                            } else {
                                for x in 0..<width { buf[x] += w0 * q0[x &* strideB] + w1 * q1[x &* strideB] }
                            }
                        } else {
                            if strideB == 1 {
                                for x in 0..<width { buf[x] += w * q0[x] }
                            } else {
                                for x in 0..<width { buf[x] += w * q0[x &* strideB] }
                            }
                        }
                    }
                    // row[j] = sum_n w[n][j] * buf[idx[n][j]]
                    for j in 0..<cols { row[j] = bWeight[j] * buf[Int(bIndex[j])] }
                    var n = 1
                    while n < taps {
                        let wn = bWeight + n * cols, xn = bIndex + n * cols
                        for j in 0..<cols { row[j] += wn[j] * buf[Int(xn[j])] }
                        n += 1
                    }
                    for j in outsideJ { row[j] = fill }
                    if let mk { (mk + i * cols).update(from: rowMask, count: cols) }
                }
            }
        }}}}}
    }
}

extension Separable {
    /// Column pass first: per destination slice, every source row in use is blended between the two
    /// source slices (into `buf`) and interpolated along the columns into `tmp`; each destination row
    /// is then a weighted sum of whole `tmp` rows.
    func runColumnsFirst(_ range: Range<Int>, bIndex: UnsafeMutablePointer<Int32>, bWeight: UnsafeMutablePointer<Float>,
                         taps: Int, rowMask: UnsafeMutablePointer<UInt8>, buf: UnsafeMutablePointer<Float>,
                         width: Int, outside: [Int]) {
        let d = job.d, s = job.s
        let plane = d.rows * d.columns
        let srcPlane = s.rows * s.columns
        let cols = d.columns
        let bLo = b.minIndex, aLo = a.minIndex
        let nA = a.maxIndex - aLo + 1
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: nA * cols)
        defer { tmp.deallocate() }
        let fill = job.fill
        a.index.withUnsafeBufferPointer { aIdx in
        a.weight.withUnsafeBufferPointer { aW in
        a.start.withUnsafeBufferPointer { aStart in
        a.inside.withUnsafeBufferPointer { aInside in
        outside.withUnsafeBufferPointer { outsideJ in
            for k in range {
                guard let (z0, z1, wz) = job.sliceTaps(k) else { job.fillSlice(k); continue }
                let two = z1 != z0 && wz != 0
                let p0 = job.src + z0 * srcPlane + bLo * strideB
                let p1 = job.src + z1 * srcPlane + bLo * strideB
                for r in 0..<nA {
                    let off = (aLo + r) &* strideA
                    let q0 = p0 + off
                    let zr: UnsafePointer<Float>
                    if two {
                        let q1 = p1 + off
                        let w0 = 1 - wz, w1 = wz
                        if strideB == 1 {
                            for x in 0..<width { buf[x] = w0 * q0[x] + w1 * q1[x] }
                        } else {
                            for x in 0..<width { buf[x] = w0 * q0[x &* strideB] + w1 * q1[x &* strideB] }
                        }
                        zr = UnsafePointer(buf)
                    } else if strideB == 1 {
                        zr = q0
                    } else {
                        for x in 0..<width { buf[x] = q0[x &* strideB] }
                        zr = UnsafePointer(buf)
                    }
                    let t = tmp + r * cols
                    for j in 0..<cols { t[j] = bWeight[j] * zr[Int(bIndex[j])] }
                    var n = 1
                    while n < taps {
                        let wn = bWeight + n * cols, xn = bIndex + n * cols
                        for j in 0..<cols { t[j] += wn[j] * zr[Int(xn[j])] }
                        n += 1
                    }
                }
                let out = job.dst + k * plane
                let mk = job.mask.map { $0 + k * plane }
                for i in 0..<d.rows {
                    let row = out + i * cols
                    guard aInside[i] else {
                        row.update(repeating: fill, count: cols)
                        mk?.advanced(by: i * cols).update(repeating: 0, count: cols)
                        continue
                    }
                    let first = aStart[i], end = aStart[i + 1]
                    let t0 = UnsafePointer(tmp + (aIdx[first] - aLo) * cols), w0 = aW[first]
                    if end - first == 2 {
                        let t1 = UnsafePointer(tmp + (aIdx[first + 1] - aLo) * cols), w1 = aW[first + 1]
                        for j in 0..<cols { row[j] = w0 * t0[j] + w1 * t1[j] }
                    } else {
                        for j in 0..<cols { row[j] = w0 * t0[j] }
                        var t = first + 1
                        while t < end {
                            let tt = UnsafePointer(tmp + (aIdx[t] - aLo) * cols), wt = aW[t]
                            for j in 0..<cols { row[j] += wt * tt[j] }
                            t += 1
                        }
                    }
                    for j in outsideJ { row[j] = fill }
                    if let mk { (mk + i * cols).update(from: rowMask, count: cols) }
                }
            }
        }}}}}
    }
}
