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
        let columns = ColumnTaps(
            index: bIndex, weight: bWeight, taps: taps, columns: cols, rowMask: rowMask, fill: job.fill)
        var outside: [Int] = []
        for j in 0..<cols {
            rowMask[j] = b.inside[j] ? 1 : 0
            if !b.inside[j] { outside.append(j); continue }
            for (n, t) in (b.start[j]..<b.start[j + 1]).enumerated() {
                bIndex[n * cols + j] = Int32(b.index[t] - bLo)
                bWeight[n * cols + j] = b.weight[t]
            }
        }
        // Order of the two in-plane passes: rows first (below) suits downsampling; columns first suits
        // upsampling (PET onto CT: each source row is interpolated along the columns once per slice and
        // the output rows become contiguous weighted sums of those, which vectorise).
        var tapsA = 1
        for i in 0..<d.rows { tapsA = max(tapsA, a.start[i + 1] - a.start[i]) }
        let nA = a.maxIndex - a.minIndex + 1
        // Contiguous weighted sums vectorise; the column pass gathers (counted 4x as expensive).
        let gather = 4.0
        let rowsFirstCost =
            Double(d.rows) * Double(tapsA) * Double(width)
            + gather * Double(d.rows) * Double(cols) * Double(taps)
        let colsFirstCost =
            Double(nA) * (Double(width) + gather * Double(cols) * Double(taps))
            + Double(d.rows) * Double(cols) * Double(tapsA)
        if nA <= d.rows && colsFirstCost < rowsFirstCost {
            runColumnsFirst(range, columns: columns, buf: buf, width: width, outside: outside)
            return
        }
        a.withPointers(outside: outside) { p in
            let aIdx = p.index, aW = p.weight, aStart = p.start, aInside = p.inside, outsideJ = p.outside
            for k in range {
                guard let (p0, p1, wz, two) = sources(k, srcPlane: srcPlane, bLo: bLo) else {
                    job.fillSlice(k)
                    continue
                }
                let out = job.dst + k * plane
                let mk = job.mask.map { $0 + k * plane }
                for i in 0..<d.rows {
                    let row = out + i * cols
                    guard aInside[i] else {
                        columns.fillRow(row, mask: mk.map { $0 + i * cols })
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
                    columns.apply(row, from: UnsafePointer(buf))
                    columns.finish(row, mask: mk.map { $0 + i * cols }, outside: outsideJ)
                }
            }
        }
    }
}

extension Separable {
    /// Column pass first: per destination slice, every source row in use is blended between the two
    /// source slices (into `buf`) and interpolated along the columns into `tmp`; each destination row
    /// is then a weighted sum of whole `tmp` rows.
    func runColumnsFirst(
        _ range: Range<Int>, columns: ColumnTaps, buf: UnsafeMutablePointer<Float>, width: Int, outside: [Int]
    ) {
        let d = job.d, s = job.s
        let plane = d.rows * d.columns
        let srcPlane = s.rows * s.columns
        let cols = d.columns
        let bLo = b.minIndex, aLo = a.minIndex
        let nA = a.maxIndex - aLo + 1
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: nA * cols)
        defer { tmp.deallocate() }
        a.withPointers(outside: outside) { p in
            let aIdx = p.index, aW = p.weight, aStart = p.start, aInside = p.inside, outsideJ = p.outside
            for k in range {
                guard let (p0, p1, wz, two) = sources(k, srcPlane: srcPlane, bLo: bLo) else {
                    job.fillSlice(k)
                    continue
                }
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
                    columns.apply(tmp + r * cols, from: zr)
                }
                let out = job.dst + k * plane
                let mk = job.mask.map { $0 + k * plane }
                for i in 0..<d.rows {
                    let row = out + i * cols
                    guard aInside[i] else {
                        columns.fillRow(row, mask: mk.map { $0 + i * cols })
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
                    columns.finish(row, mask: mk.map { $0 + i * cols }, outside: outsideJ)
                }
            }
        }
    }
}

extension Separable {
    /// The source slices bracketing destination slice `k` (pointers at column `bLo`), the weight of the
    /// second and whether it counts; nil when `k` lies outside the source.
    @inline(__always) func sources(_ k: Int, srcPlane: Int, bLo: Int) -> (
        p0: UnsafePointer<Float>, p1: UnsafePointer<Float>, wz: Float, two: Bool
    )? {
        guard let (z0, z1, wz) = job.sliceTaps(k) else { return nil }
        return (
            job.src + z0 * srcPlane + bLo * strideB, job.src + z1 * srcPlane + bLo * strideB, wz,
            z1 != z0 && wz != 0
        )
    }
}

/// The column (axis B) taps as `taps` planes of (index into the source row, weight) per destination
/// column, and what a destination row gets outside the source.
struct ColumnTaps {
    let index: UnsafeMutablePointer<Int32>
    let weight: UnsafeMutablePointer<Float>
    let taps: Int, columns: Int
    /// 1 for the columns inside the source, 0 outside: the mask of a computed row.
    let rowMask: UnsafeMutablePointer<UInt8>
    let fill: Float

    /// dst[j] = sum over n of weight[n][j] * src[index[n][j]].
    @inline(__always) func apply(_ dst: UnsafeMutablePointer<Float>, from src: UnsafePointer<Float>) {
        let cols = columns
        for j in 0..<cols { dst[j] = weight[j] * src[Int(index[j])] }
        var n = 1
        while n < taps {
            let wn = weight + n * cols, xn = index + n * cols
            for j in 0..<cols { dst[j] += wn[j] * src[Int(xn[j])] }
            n += 1
        }
    }

    /// A row outside the source: the fill value, mask 0.
    @inline(__always) func fillRow(_ row: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<UInt8>?) {
        row.update(repeating: fill, count: columns)
        mask?.update(repeating: 0, count: columns)
    }

    /// After `apply`: the columns `outside` the source get the fill value; the mask row is copied.
    @inline(__always) func finish(
        _ row: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<UInt8>?, outside: UnsafeBufferPointer<Int>
    ) {
        for j in outside { row[j] = fill }
        if let mask { mask.update(from: rowMask, count: columns) }
    }
}

/// Raw views of one axis's taps and of the destination columns outside the source, valid only inside
/// `Taps.withPointers`.
struct TapPointers {
    let index: UnsafeBufferPointer<Int>
    let weight: UnsafeBufferPointer<Float>
    let start: UnsafeBufferPointer<Int>
    let inside: UnsafeBufferPointer<Bool>
    let outside: UnsafeBufferPointer<Int>
}

extension Taps {
    /// Runs `body` with unchecked views of the tap arrays and `outside` (the inner loops index them
    /// millions of times per volume).
    @inline(__always) func withPointers(outside: [Int], _ body: (TapPointers) -> Void) {
        index.withUnsafeBufferPointer { index in
            weight.withUnsafeBufferPointer { weight in
                start.withUnsafeBufferPointer { start in
                    inside.withUnsafeBufferPointer { inside in
                        outside.withUnsafeBufferPointer { outside in
                            body(
                                TapPointers(
                                    index: index, weight: weight, start: start, inside: inside, outside: outside))
                        }
                    }
                }
            }
        }
    }
}
