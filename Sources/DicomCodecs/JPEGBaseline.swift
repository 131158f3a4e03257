import DicomBytes

/// JPEG Baseline (Process 1, 8-bit) and Extended (Process 2 & 4, 8/12-bit) sequential DCT with
/// Huffman coding (SOF0 / SOF1): any sampling factors 1-4, interleaved and non-interleaved scans,
/// restart intervals, 8- and 16-bit quantisation tables, floating-point IDCT.
///
/// Output: the decoded components as stored in the stream (no colour transform: YCbCr stays YCbCr),
/// upsampled to full resolution, interleaved; 1 byte per sample for 8-bit, 2 (little-endian) for
/// 12-bit.
public enum JPEGBaselineDecoder {
    public static func decode(_ data: UnsafeRawBufferPointer, _ expected: FrameExpectation) throws(DicomError)
        -> DecodedFrame
    {
        try JPEGMarkers.checkStart(data)
        let n = data.count
        let tables = JPEGHuffmanTables()
        var quant = [Int32](repeating: 0, count: 4 * 64)  // natural order
        var quantDefined = [Bool](repeating: false, count: 4)
        var state: DCTFrameState? = nil
        var restartInterval = 0
        var pos = 2
        var afterScan = false

        markerLoop: while true {
            guard let (marker, mp) = try JPEGMarkers.nextMarker(data, at: pos, lenient: afterScan) else { break }
            afterScan = false
            let markerOffset = mp - 2
            if marker == 0xD9 { break }
            if marker == 0xD8 {
                throw .malformed("JPEG: unexpected second SOI marker", offset: markerOffset)
            }
            if marker == 0x01 {
                pos = mp
                continue
            }
            let segEnd = try JPEGMarkers.segmentEnd(data, mp, marker: marker)
            switch marker {
            case 0xC0, 0xC1:
                if state != nil {
                    throw .malformed("JPEG: more than one frame header", offset: markerOffset)
                }
                let f = try JPEGMarkers.parseFrameHeader(data, mp, end: segEnd, marker: marker)
                if f.precision != 8 && !(f.precision == 12 && marker == 0xC1) {
                    throw .malformed(
                        "JPEG: DCT precision \(f.precision) is not 8 (baseline) or 12 (extended)",
                        offset: mp + 2)
                }
                try JPEGMarkers.checkFrameSize(f, expected, offset: mp)
                state = try DCTFrameState(f, dataCount: n, offset: mp)
            case 0xC3:
                // A lossless stream under a DCT transfer syntax: decode it anyway, as pydicom +
                // pylibjpeg do.
                if state == nil { return try JPEGLosslessDecoder.decode(data, expected) }
                throw .malformed("JPEG: more than one frame header", offset: markerOffset)
            case 0xC2, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF:
                throw JPEGMarkers.unsupportedFrame(
                    marker, wanted: "sequential DCT Huffman frame (SOF0/SOF1)", offset: markerOffset)
            case 0xCC:
                throw DicomError(
                    .unsupportedTransferSyntax, "JPEG: arithmetic coding is not supported",
                    offset: markerOffset)
            case 0xC4:
                try tables.parseDHT(data, start: mp + 2, end: segEnd)
            case 0xDB:
                var p = mp + 2
                while p < segEnd {
                    let pq = Int(data[p]) >> 4, tq = Int(data[p]) & 15
                    if pq > 1 || tq > 3 {
                        throw .malformed("JPEG: invalid quantisation table \(pq)/\(tq)", offset: p)
                    }
                    let size = pq == 0 ? 64 : 128
                    if segEnd - p - 1 < size {
                        throw .malformed("JPEG: truncated DQT segment", offset: p)
                    }
                    for k in 0..<64 {
                        let v = pq == 0 ? Int32(data[p + 1 + k]) : Int32(JPEGMarkers.be16(data, p + 1 + 2 * k))
                        quant[tq * 64 + Int(jpegZigzag[k])] = v
                    }
                    quantDefined[tq] = true
                    p += 1 + size
                }
            case 0xDD:
                restartInterval = try JPEGMarkers.restartInterval(data, mp, segEnd: segEnd)
            case 0xDC:
                throw .malformed("JPEG: DNL marker is not supported", offset: markerOffset)
            case 0xDA:
                guard let st = state else {
                    throw .malformed("JPEG: scan before frame header", offset: markerOffset)
                }
                let s = try JPEGMarkers.parseScanHeader(data, mp, end: segEnd, frame: st.frame)
                // Ss/Se are fixed at 0/63 in the sequential modes (T.81 B.2.3); libjpeg (the reference
                // decoder behind pylibjpeg) rejects other values, and so do we. Ah/Al are ignored.
                if s.ss != 0 || s.se != 63 {
                    throw .malformed(
                        "JPEG: scan start must be 0 and scan end 63 for sequential DCT "
                            + "(found \(s.ss) and \(s.se))", offset: mp)
                }
                for (k, ci) in s.componentIndices.enumerated() {
                    if !tables.defined[s.dcTables[k]] || !tables.defined[4 + s.acTables[k]] {
                        throw .malformed(
                            "JPEG: scan component \(k) uses an undefined Huffman table", offset: mp + 4 + 2 * k)
                    }
                    let tq = st.frame.components[ci].tq
                    if tq > 3 || !quantDefined[tq] {
                        throw .malformed(
                            "JPEG: component \(st.frame.components[ci].id) uses undefined quantisation table \(tq)",
                            offset: mp + 3 + 2 * k)
                    }
                }
                var reader = JPEGBitReader(data, pos: segEnd)
                try st.decodeScan(&reader, tables: tables, quant: quant, scan: s, restartInterval: restartInterval)
                pos = reader.pos
                // Every component has had its (single) scan: whatever follows is not image data.
                if !st.componentDone.contains(false) { break markerLoop }
                afterScan = true
                continue
            default:
                break  // APPn, COM, DAC, EXP, ...: skipped
            }
            pos = segEnd
        }
        guard let st = state else {
            throw .malformed("JPEG: no frame header found", offset: pos)
        }
        for (i, done) in st.componentDone.enumerated() where !done {
            throw .malformed("JPEG: no scan for component \(st.frame.components[i].id) (truncated stream?)", offset: n)
        }
        return st.output()
    }
}

/// Zigzag index -> natural (row-major) index.
let jpegZigzag: [UInt8] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
]

/// Per-frame decoding state: component planes padded to whole MCUs.
final class DCTFrameState {
    let frame: JPEGFrameHeader
    let hmax: Int, vmax: Int
    let mcusX: Int, mcusY: Int
    /// Per component: plane width/height (padded), blocks per line/column in a non-interleaved scan.
    var planeW: [Int] = [], planeH: [Int] = []
    var compW: [Int] = [], compH: [Int] = []
    /// Reconstructed samples with 4 fractional bits, level-shifted, not yet clamped.
    var planes: [UnsafeMutablePointer<Int32>] = []
    var componentDone: [Bool]
    let maxValue: Int
    let levelShift: Int

    init(_ f: JPEGFrameHeader, dataCount: Int, offset: Int) throws(DicomError) {
        frame = f
        hmax = f.components.map { $0.h }.max() ?? 1
        vmax = f.components.map { $0.v }.max() ?? 1
        mcusX = (f.columns + 8 * hmax - 1) / (8 * hmax)
        mcusY = (f.rows + 8 * vmax - 1) / (8 * vmax)
        componentDone = [Bool](repeating: false, count: f.components.count)
        maxValue = (1 << f.precision) - 1
        levelShift = 1 << (f.precision - 1)
        var totalBlocks = 0
        for c in f.components {
            let bw = mcusX * c.h, bh = mcusY * c.v
            planeW.append(bw * 8)
            planeH.append(bh * 8)
            compW.append((f.columns * c.h + hmax - 1) / hmax)
            compH.append((f.rows * c.v + vmax - 1) / vmax)
            totalBlocks += bw * bh
        }
        // Every coded block takes at least 2 bits (a DC code and an end-of-block code).
        if totalBlocks > 4 * dataCount + 64 {
            throw .malformed("JPEG: frame of \(f.rows)x\(f.columns) cannot fit in \(dataCount) bytes", offset: offset)
        }
        for i in 0..<f.components.count {
            let cnt = planeW[i] * planeH[i]
            let p = UnsafeMutablePointer<Int32>.allocate(capacity: cnt)
            p.initialize(repeating: 0, count: cnt)
            planes.append(p)
        }
    }

    deinit {
        for p in planes { p.deallocate() }
    }

    func decodeScan(
        _ r: inout JPEGBitReader, tables: JPEGHuffmanTables, quant: [Int32], scan s: JPEGScanHeader,
        restartInterval: Int
    ) throws(DicomError) {
        let ns = s.componentIndices.count
        var pred = [Int](repeating: 0, count: ns)
        var coef = [Int32](repeating: 0, count: 64)
        var work = [Int](repeating: 0, count: 64)
        let maxCategory = frame.precision == 8 ? 11 : 15
        var restartsLeft = restartInterval

        // MCU geometry: (component, block x within MCU, block y within MCU) in decoding order.
        var blocks: [(k: Int, bx: Int, by: Int)] = []
        let mx: Int, my: Int
        if ns == 1 {
            let ci = s.componentIndices[0]
            mx = (compW[ci] + 7) / 8
            my = (compH[ci] + 7) / 8
            blocks.append((0, 0, 0))
        } else {
            mx = mcusX
            my = mcusY
            for k in 0..<ns {
                let c = frame.components[s.componentIndices[k]]
                for v in 0..<c.v { for h in 0..<c.h { blocks.append((k, h, v)) } }
            }
            if blocks.count > 10 {
                throw .malformed("JPEG: MCU of \(blocks.count) blocks exceeds 10", offset: r.pos)
            }
        }
        try quant.withUnsafeBufferPointer { (qb) throws(DicomError) in
            try coef.withUnsafeMutableBufferPointer { (cb) throws(DicomError) in
                try work.withUnsafeMutableBufferPointer { (wb) throws(DicomError) in
                    let q = qb.baseAddress!, cf = cb.baseAddress!, wk = wb.baseAddress!
                    for mcuY in 0..<my {
                        for mcuX in 0..<mx {
                            if restartInterval > 0 {
                                if restartsLeft == 0 {
                                    try r.processRestart()
                                    restartsLeft = restartInterval
                                    for k in 0..<ns { pred[k] = 0 }
                                }
                                restartsLeft -= 1
                            }
                            for b in blocks {
                                let ci = s.componentIndices[b.k]
                                let c = frame.components[ci]
                                let qt = q + c.tq * 64
                                // Huffman decode one block into natural order, dequantised.
                                cf.update(repeating: 0, count: 64)
                                r.ensure32()
                                let t = try r.decodeSymbol(tables, slot: s.dcTables[b.k])
                                if t > maxCategory {
                                    throw .malformed("JPEG: DC difference category \(t) too large", offset: r.pos)
                                }
                                if t > 0 {
                                    pred[b.k] = pred[b.k] &+ jpegExtend(r.receive(t), t)
                                }
                                var dcv = pred[b.k]
                                if dcv > 1 << 20 || dcv < -(1 << 20) { dcv = 0 }  // corrupt data: keep arithmetic sane
                                cf[0] = Int32(dcv) &* qt[0]
                                var kk = 1
                                var lastNonZero = 0
                                let acSlot = 4 + s.acTables[b.k]
                                while kk < 64 {
                                    r.ensure32()
                                    let rs = try r.decodeSymbol(tables, slot: acSlot)
                                    let run = rs >> 4, sz = rs & 15
                                    if sz == 0 {
                                        if run != 15 { break }
                                        kk += 16
                                        continue
                                    }
                                    kk += run
                                    if kk > 63 {
                                        throw .malformed("JPEG: AC coefficient index beyond 63", offset: r.pos)
                                    }
                                    let z = Int(jpegZigzag[kk])
                                    cf[z] = Int32(jpegExtend(r.receive(sz), sz)) &* qt[z]
                                    lastNonZero = kk
                                    kk += 1
                                }
                                // Destination block in the component plane.
                                let bxAll: Int, byAll: Int
                                if ns == 1 {
                                    bxAll = mcuX; byAll = mcuY
                                } else {
                                    bxAll = mcuX * c.h + b.bx; byAll = mcuY * c.v + b.by
                                }
                                let pw = planeW[ci]
                                let dst = planes[ci] + (byAll * 8) * pw + bxAll * 8
                                idct(cf, dcOnly: lastNonZero == 0, work: wk, dst: dst, stride: pw)
                            }
                        }
                        if r.overran {
                            throw .malformed("JPEG: entropy-coded data truncated at MCU row \(mcuY)", offset: r.pos)
                        }
                    }
                }
            }
        }
        for ci in s.componentIndices { componentDone[ci] = true }
        r.reset()
    }

    /// Integer IDCT (Loeffler-Ligtenberg-Moschytz factorisation, 9 fractional bits for the
    /// constants), arranged to reproduce libjpeg's (pylibjpeg's) results exactly: the output keeps 4
    /// fractional bits (`jpegColorBits`) and the level shift; rounding and clamping happen in `output()`.
    @inline(__always)
    private func idct(
        _ cf: UnsafeMutablePointer<Int32>, dcOnly: Bool, work: UnsafeMutablePointer<Int>,
        dst: UnsafeMutablePointer<Int32>, stride: Int
    ) {
        let dcOffset = levelShift << (jpegColorBits + 3)
        if dcOnly {
            // Both passes reduce to rounding (dc << 9 + 256) >> 9 = dc, then (dc + 4) >> 3.
            let dc = Int(cf[0]) << jpegColorBits + dcOffset
            let v = Int32(truncatingIfNeeded: (dc + 4) >> 3)
            for y in 0..<8 { for x in 0..<8 { dst[y * stride + x] = v } }
            return
        }
        // Pass 1: along each row of coefficients (horizontal frequencies), 9-bit fixed point,
        // rounded back to integers.
        for y in 0..<8 {
            let s = cf + y * 8
            let o = work + y * 8
            let s0 = (Int(s[0]) << jpegColorBits) + (y == 0 ? dcOffset : 0)
            jpegIDCT1D(
                s0, Int(s[1]) << jpegColorBits, Int(s[2]) << jpegColorBits, Int(s[3]) << jpegColorBits,
                Int(s[4]) << jpegColorBits, Int(s[5]) << jpegColorBits, Int(s[6]) << jpegColorBits,
                Int(s[7]) << jpegColorBits, shift: 9, out: o, step: 1)
        }
        // Pass 2: along columns, removing 9 fixed-point bits plus the 3 bits of the 8x scaling.
        for x in 0..<8 {
            let w = work + x
            var col = (0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &col) { raw in
                let c = raw.baseAddress!.assumingMemoryBound(to: Int.self)
                jpegIDCT1D(w[0], w[8], w[16], w[24], w[32], w[40], w[48], w[56], shift: 12, out: c, step: 1)
                for y in 0..<8 { dst[y * stride + x] = Int32(truncatingIfNeeded: c[y]) }
            }
        }
    }

    /// Upsamples to full resolution, rounds away the fractional bits, clamps and interleaves.
    /// Factor-2 subsampling uses the triangle filter (weights 3/4 and 1/4, edge samples repeated,
    /// alternating rounding) that libjpeg, the decoder behind pylibjpeg, applies on the fixed-point
    /// samples; other factors replicate samples.
    func output() -> DecodedFrame {
        let X = frame.columns, Y = frame.rows, nf = frame.components.count
        let bps = frame.precision <= 8 ? 1 : 2
        let maxV = maxValue
        let half = 1 << (jpegColorBits - 1)
        var out = [UInt8](repeating: 0, count: X * Y * nf * bps)
        var vbuf = [Int32]()
        out.withUnsafeMutableBufferPointer { ob in
            let o = ob.baseAddress!
            for ci in 0..<nf {
                let c = frame.components[ci]
                let pw = planeW[ci]
                let cw = compW[ci], ch = compH[ci]
                let rx = hmax % c.h == 0 ? hmax / c.h : 0
                let ry = vmax % c.v == 0 ? vmax / c.v : 0
                let vertical2 = ry == 2 && (rx == 1 || rx == 2)
                if vertical2 && vbuf.count < Y * cw { vbuf = [Int32](repeating: 0, count: Y * cw) }
                vbuf.withUnsafeMutableBufferPointer { vb in
                    // Vertical pass (factor 2) into one row of `cw` samples per output line.
                    let src: UnsafeMutablePointer<Int32>
                    let srcStride: Int
                    if vertical2 {
                        let v = vb.baseAddress!
                        for y in 0..<Y {
                            let i = y >> 1
                            let odd = y & 1 == 1
                            let nb = odd ? min(i + 1, ch - 1) : max(i - 1, 0)
                            let cur = planes[ci] + i * pw, nbr = planes[ci] + nb * pw
                            let dst = v + y * cw
                            for j in 0..<cw {
                                let tEven = (rx == 2 ? (j + 1) & 1 : j & 1) == 0
                                let bias = (tEven != odd) ? 2 : 1
                                dst[j] = Int32(truncatingIfNeeded: (Int(nbr[j]) + 3 * Int(cur[j]) + bias) >> 2)
                            }
                        }
                        src = v
                        srcStride = cw
                    } else {
                        src = planes[ci]
                        srcStride = pw
                    }
                    for y in 0..<Y {
                        let sy = (vertical2 || c.v == vmax) ? y : (y * c.v) / vmax
                        let srow = src + sy * srcStride
                        var di = (y * X) * nf + ci
                        for x in 0..<X {
                            var v: Int
                            if rx == 2 {
                                let i = x >> 1
                                if x & 1 == 0 {
                                    v = (Int(srow[max(i - 1, 0)]) + 3 * Int(srow[i]) + 2) >> 2
                                } else if x & 7 == 1 {
                                    // libjpeg computes this sample in place after the next one has
                                    // overwritten its right neighbour; reproduce that.
                                    let next = (Int(srow[i]) + 3 * Int(srow[min(i + 1, cw - 1)]) + 2) >> 2
                                    v = (next + 3 * Int(srow[i]) + 1) >> 2
                                } else {
                                    v = (Int(srow[min(i + 1, cw - 1)]) + 3 * Int(srow[i]) + 1) >> 2
                                }
                            } else if c.h == hmax {
                                v = Int(srow[x])
                            } else {
                                v = Int(srow[(x * c.h) / hmax])
                            }
                            v = (v + half) >> jpegColorBits
                            v = v < 0 ? 0 : (v > maxV ? maxV : v)
                            if bps == 1 {
                                o[di] = UInt8(truncatingIfNeeded: v)
                            } else {
                                o[2 * di] = UInt8(truncatingIfNeeded: v)
                                o[2 * di + 1] = UInt8(truncatingIfNeeded: v >> 8)
                            }
                            di += nf
                        }
                    }
                }
            }
        }
        return DecodedFrame(
            rows: Y, columns: X, samples: nf, precision: frame.precision, bytesPerSample: bps, data: out)
    }
}

/// Fractional bits kept in reconstructed DCT samples until the final rounding.
let jpegColorBits = 4

private let fix0_298 = jpegFix(0.298631336), fix0_390 = jpegFix(0.390180644), fix0_541 = jpegFix(0.541196100)
private let fix0_765 = jpegFix(0.765366865), fix0_899 = jpegFix(0.899976223), fix1_175 = jpegFix(1.175875602)
private let fix1_501 = jpegFix(1.501321110), fix1_847 = jpegFix(1.847759065), fix1_961 = jpegFix(1.961570560)
private let fix2_053 = jpegFix(2.053119869), fix2_562 = jpegFix(2.562915447), fix3_072 = jpegFix(3.072711026)

private func jpegFix(_ x: Double) -> Int { Int(x * 512 + 0.5) }

/// One 8-point inverse DCT (LLM), inputs in natural order, constants with 9 fractional bits; each
/// output is rounded and shifted right by `shift`.
@inline(__always)
func jpegIDCT1D(
    _ s0: Int, _ s1: Int, _ s2: Int, _ s3: Int, _ s4: Int, _ s5: Int, _ s6: Int, _ s7: Int,
    shift: Int, out: UnsafeMutablePointer<Int>, step: Int
) {
    // Even part.
    let e1 = (s2 &+ s6) &* fix0_541
    let e2 = e1 &- s6 &* fix1_847
    let e3 = e1 &+ s2 &* fix0_765
    let e0 = (s0 &+ s4) << 9
    let e1b = (s0 &- s4) << 9
    let t10 = e0 &+ e3, t13 = e0 &- e3
    let t11 = e1b &+ e2, t12 = e1b &- e2
    // Odd part.
    let z1 = s7 &+ s1, z2 = s5 &+ s3, z3 = s7 &+ s3, z4 = s5 &+ s1
    let z5 = (z3 &+ z4) &* fix1_175
    let a1 = z1 &* -fix0_899, a2 = z2 &* -fix2_562
    let a3 = z3 &* -fix1_961 &+ z5, a4 = z4 &* -fix0_390 &+ z5
    let o0 = s7 &* fix0_298 &+ a1 &+ a3
    let o1 = s5 &* fix2_053 &+ a2 &+ a4
    let o2 = s3 &* fix3_072 &+ a2 &+ a3
    let o3 = s1 &* fix1_501 &+ a1 &+ a4
    let r = 1 << (shift - 1)
    out[0] = (t10 &+ o3 &+ r) >> shift
    out[7 * step] = (t10 &- o3 &+ r) >> shift
    out[1 * step] = (t11 &+ o2 &+ r) >> shift
    out[6 * step] = (t11 &- o2 &+ r) >> shift
    out[2 * step] = (t12 &+ o1 &+ r) >> shift
    out[5 * step] = (t12 &- o1 &+ r) >> shift
    out[3 * step] = (t13 &+ o0 &+ r) >> shift
    out[4 * step] = (t13 &- o0 &+ r) >> shift
}
