import DicomBytes

/// JPEG Lossless, Non-Hierarchical (Process 14, ITU-T T.81 Annex H), including the SV1 first-order
/// prediction variant. Huffman coding, predictors 1-7, precision 2-16, point transform, 1-4
/// components (interleaved or not; all sampling factors must be 1), restart intervals.
///
/// Output: interleaved samples, 1 byte per sample for precision <= 8, else 2 (little-endian); the
/// values are the reconstructed samples shifted left by the point transform, without sign extension.
public enum JPEGLosslessDecoder {
    public static func decode(_ data: UnsafeRawBufferPointer, _ expected: FrameExpectation) throws(DicomError)
        -> DecodedFrame
    {
        try JPEGMarkers.checkStart(data)
        let n = data.count
        let tables = JPEGHuffmanTables()
        var frame: JPEGFrameHeader? = nil
        var restartInterval = 0
        var pos = 2
        var afterScan = false
        // Work buffer of reconstructed (point-transformed) samples, interleaved.
        var work: UnsafeMutablePointer<UInt16>? = nil
        var workCount = 0
        defer { work?.deallocate() }
        var componentDone = [Bool](repeating: false, count: 4)
        var sawEOI = false

        markerLoop: while true {
            guard let (marker, mp) = try JPEGMarkers.nextMarker(data, at: pos, lenient: afterScan) else { break }
            afterScan = false
            let markerOffset = mp - 2
            switch marker {
            case 0xD9:  // EOI
                sawEOI = true
            case 0xD8:
                throw .malformed("JPEG: unexpected second SOI marker", offset: markerOffset)
            case 0x01:  // TEM: no segment
                pos = mp
                continue
            default:
                break
            }
            if sawEOI { break }
            let segEnd = try JPEGMarkers.segmentEnd(data, mp, marker: marker)
            switch marker {
            case 0xC3:  // SOF3
                if frame != nil {
                    throw .malformed("JPEG: more than one frame header", offset: markerOffset)
                }
                let f = try JPEGMarkers.parseFrameHeader(data, mp, end: segEnd, marker: marker)
                if f.precision < 2 || f.precision > 16 {
                    throw .malformed("JPEG: lossless precision \(f.precision) out of range 2-16", offset: mp + 2)
                }
                for c in f.components where c.h != 1 || c.v != 1 {
                    throw DicomError(
                        .unsupportedTransferSyntax,
                        "JPEG lossless: sampling factors \(c.h)x\(c.v) are not supported", offset: mp + 8)
                }
                try JPEGMarkers.checkFrameSize(f, expected, offset: mp)
                let (total, o1) = f.rows.multipliedReportingOverflow(by: f.columns)
                let (count, o2) = total.multipliedReportingOverflow(by: f.components.count)
                // Each sample takes at least one bit of entropy-coded data.
                if o1 || o2 || count / 8 > n {
                    throw .malformed(
                        "JPEG: frame of \(f.rows)x\(f.columns) samples cannot fit in \(n) bytes", offset: mp)
                }
                let w = UnsafeMutablePointer<UInt16>.allocate(capacity: count)
                w.initialize(repeating: 0, count: count)
                work = w
                workCount = count
                frame = f
            case 0xC0, 0xC1:
                // A sequential DCT stream under a lossless transfer syntax: decode it anyway, as
                // pydicom + pylibjpeg do (libjpeg decodes whatever process the stream uses).
                if frame == nil { return try JPEGBaselineDecoder.decode(data, expected) }
                throw .malformed("JPEG: more than one frame header", offset: markerOffset)
            case 0xC2, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF:
                throw JPEGMarkers.unsupportedFrame(
                    marker, wanted: "lossless Huffman frame (SOF3)", offset: markerOffset)
            case 0xC4:
                try tables.parseDHT(data, start: mp + 2, end: segEnd)
            case 0xDD:
                restartInterval = try JPEGMarkers.restartInterval(data, mp, segEnd: segEnd)
            case 0xDC:
                throw .malformed("JPEG: DNL marker is not supported", offset: markerOffset)
            case 0xDA:
                guard let f = frame, let w = work else {
                    throw .malformed("JPEG: scan before frame header", offset: markerOffset)
                }
                let s = try JPEGMarkers.parseScanHeader(data, mp, end: segEnd, frame: f)
                if s.ss < 1 || s.ss > 7 {
                    throw .malformed("JPEG: invalid lossless predictor \(s.ss)", offset: segEnd - 3)
                }
                if s.al >= f.precision {
                    throw .malformed(
                        "JPEG: point transform \(s.al) not below precision \(f.precision)", offset: segEnd - 1)
                }
                for (k, t) in s.dcTables.enumerated() where !tables.defined[t] {
                    throw .malformed(
                        "JPEG: scan component \(k) uses undefined Huffman table \(t)", offset: mp + 4 + 2 * k)
                }
                var reader = JPEGBitReader(data, pos: segEnd)
                try decodeScan(
                    &reader, tables: tables, frame: f, scan: s, restartInterval: restartInterval,
                    out: w, count: workCount)
                for ci in s.componentIndices { componentDone[ci] = true }
                pos = reader.pos
                // Every component has had its (single) scan: whatever follows is not image data.
                if !componentDone[0..<f.components.count].contains(false) { break markerLoop }
                afterScan = true
                continue
            default:
                // APPn, COM, DQT, DAC, EXP and anything else with a length: skip.
                if marker == 0xCC {
                    throw DicomError(
                        .unsupportedTransferSyntax, "JPEG: arithmetic coding is not supported",
                        offset: markerOffset)
                }
            }
            pos = segEnd
        }
        guard let f = frame, let w = work else {
            throw .malformed("JPEG: no frame header found", offset: pos)
        }
        for i in 0..<f.components.count where !componentDone[i] {
            throw .malformed("JPEG: no scan for component \(f.components[i].id) (truncated stream?)", offset: n)
        }
        _ = sawEOI
        return makeFrame(f, work: w, count: workCount)
    }

    private static func makeFrame(_ f: JPEGFrameHeader, work: UnsafeMutablePointer<UInt16>, count: Int) -> DecodedFrame
    {
        let p = f.precision
        let bps = p <= 8 ? 1 : 2
        var out = [UInt8](repeating: 0, count: count * bps)
        out.withUnsafeMutableBytes { ob in
            let o = ob.baseAddress!.assumingMemoryBound(to: UInt8.self)
            if bps == 1 {
                for i in 0..<count { o[i] = UInt8(truncatingIfNeeded: work[i]) }
            } else {
                for i in 0..<count {
                    let v = work[i]
                    o[2 * i] = UInt8(truncatingIfNeeded: v)
                    o[2 * i + 1] = UInt8(truncatingIfNeeded: v >> 8)
                }
            }
        }
        return DecodedFrame(
            rows: f.rows, columns: f.columns, samples: f.components.count, precision: p,
            bytesPerSample: bps, data: out)
    }

    /// Decodes one lossless scan into `out` (interleaved, stride = frame component count). Stores the
    /// final values (reconstructed << Pt); predictions use the un-shifted values.
    private static func decodeScan(
        _ r: inout JPEGBitReader, tables: JPEGHuffmanTables, frame f: JPEGFrameHeader,
        scan s: JPEGScanHeader, restartInterval: Int,
        out: UnsafeMutablePointer<UInt16>, count: Int
    ) throws(DicomError) {
        let X = f.columns, Y = f.rows, nf = f.components.count
        let ns = s.componentIndices.count
        let pt = s.al
        let predictor = s.ss
        let initial = 1 << (f.precision - pt - 1)
        let mask = 0xFFFF
        let rowStride = X * nf
        if ns == 1 && (restartInterval == 0 || restartInterval % X == 0) {
            try decodeSingleComponentScan(
                &r, tables: tables, frame: f, component: s.componentIndices[0],
                slot: s.dcTables[0], predictor: predictor, pt: pt,
                restartRows: restartInterval / X, out: out)
            return
        }
        let offs = s.componentIndices
        let tabs = s.dcTables
        var restartsLeft = restartInterval
        var resetPending = true
        var firstLineRow = 0
        let ptShift = UInt16(pt)

        // Values in `out` for this scan's components are stored already shifted by Pt; predictions need
        // the un-shifted values, so read back with >> Pt (exact: low Pt bits are zero).
        for y in 0..<Y {
            let rowBase = y * rowStride
            for x in 0..<X {
                if restartInterval > 0 {
                    if restartsLeft == 0 {
                        try r.processRestart()
                        restartsLeft = restartInterval
                        resetPending = true
                        firstLineRow = y
                    }
                    restartsLeft -= 1
                }
                // Prediction mode for this MCU: 0 = initial value, 1 = Ra, 2 = Rb, else the predictor.
                let mode: Int
                if resetPending {
                    mode = 0
                    resetPending = false
                } else if y == firstLineRow {
                    mode = 1
                } else if x == 0 {
                    mode = 2
                } else {
                    mode = predictor
                }
                let pixBase = rowBase + x * nf
                for k in 0..<ns {
                    r.ensure32()
                    let sym = try r.decodeSymbol(tables, slot: tabs[k])
                    var diff: Int
                    if sym == 0 {
                        diff = 0
                    } else if sym < 16 {
                        diff = jpegExtend(r.receive(sym), sym)
                    } else if sym == 16 {
                        diff = 32768
                    } else {
                        throw .malformed("JPEG: lossless difference category \(sym) > 16", offset: r.pos)
                    }
                    let i = pixBase + offs[k]
                    let px: Int
                    switch mode {
                    case 0:
                        px = initial
                    case 1:
                        px = Int(out[i - nf] >> ptShift)
                    case 2:
                        px = Int(out[i - rowStride] >> ptShift)
                    case 3:
                        px = Int(out[i - rowStride - nf] >> ptShift)
                    case 4:
                        px =
                            Int(out[i - nf] >> ptShift) + Int(out[i - rowStride] >> ptShift)
                            - Int(out[i - rowStride - nf] >> ptShift)
                    case 5:
                        px =
                            Int(out[i - nf] >> ptShift)
                            + ((Int(out[i - rowStride] >> ptShift) - Int(out[i - rowStride - nf] >> ptShift)) >> 1)
                    case 6:
                        px =
                            Int(out[i - rowStride] >> ptShift)
                            + ((Int(out[i - nf] >> ptShift) - Int(out[i - rowStride - nf] >> ptShift)) >> 1)
                    default:
                        px = (Int(out[i - nf] >> ptShift) + Int(out[i - rowStride] >> ptShift)) >> 1
                    }
                    diff = (px + diff) & mask
                    out[i] = UInt16(truncatingIfNeeded: diff) << ptShift
                }
            }
            if r.overran {
                throw .malformed("JPEG: entropy-coded data truncated at line \(y)", offset: r.pos)
            }
        }
        _ = count
        r.reset()
    }

    /// Reads one difference value (Huffman category + extra bits).
    @inline(__always)
    private static func readDifference(
        _ r: inout JPEGBitReader, _ tables: JPEGHuffmanTables, _ lut: UnsafePointer<UInt16>,
        _ slot: Int
    ) throws(DicomError) -> Int {
        r.ensure32()
        var sym: Int
        let e = Int(lut[Int(truncatingIfNeeded: r.acc >> UInt64(64 - JPEGHuffmanTables.lookBits))])
        if e != 0 {
            let len = e >> 8
            r.acc <<= UInt64(len)
            r.bits &-= len
            sym = e & 0xFF
        } else {
            sym = try r.decodeSlow(tables, slot: slot)
        }
        if sym == 0 { return 0 }
        if sym < 16 { return jpegExtend(r.receive(sym), sym) }
        if sym == 16 { return 32768 }
        throw .malformed("JPEG: lossless difference category \(sym) > 16", offset: r.pos)
    }

    /// Fast path: one component per scan, restarts (if any) at whole lines. The prediction rule is
    /// chosen once per line instead of per sample.
    private static func decodeSingleComponentScan(
        _ r: inout JPEGBitReader, tables: JPEGHuffmanTables,
        frame f: JPEGFrameHeader, component: Int, slot: Int,
        predictor: Int, pt: Int, restartRows: Int,
        out: UnsafeMutablePointer<UInt16>
    ) throws(DicomError) {
        let X = f.columns, Y = f.rows, nf = f.components.count
        let rowStride = X * nf
        let initial = 1 << (f.precision - pt - 1)
        let sh = UInt16(pt)
        let lut = UnsafePointer(tables.lookup + slot * JPEGHuffmanTables.lookSize)
        var rowsLeft = restartRows
        var first = true
        for y in 0..<Y {
            if restartRows > 0 {
                if rowsLeft == 0 {
                    try r.processRestart()
                    rowsLeft = restartRows
                    first = true
                }
                rowsLeft -= 1
            }
            let row = out + y * rowStride + component
            // Column 0.
            var d = try readDifference(&r, tables, lut, slot)
            var prev = (first ? initial : Int(row[-rowStride] >> sh)) &+ d
            row[0] = UInt16(truncatingIfNeeded: prev) << sh
            prev &= 0xFFFF
            if first || predictor == 1 {
                var i = nf
                for _ in 1..<max(X, 1) {
                    d = try readDifference(&r, tables, lut, slot)
                    prev = (prev &+ d) & 0xFFFF
                    row[i] = UInt16(truncatingIfNeeded: prev) << sh
                    i &+= nf
                }
            } else {
                let up = row - rowStride
                var i = nf
                for _ in 1..<max(X, 1) {
                    d = try readDifference(&r, tables, lut, slot)
                    let a = prev
                    let b = Int(up[i] >> sh)
                    let px: Int
                    switch predictor {
                    case 2: px = b
                    case 3: px = Int(up[i &- nf] >> sh)
                    case 4: px = a &+ b &- Int(up[i &- nf] >> sh)
                    case 5: px = a &+ ((b &- Int(up[i &- nf] >> sh)) >> 1)
                    case 6: px = b &+ ((a &- Int(up[i &- nf] >> sh)) >> 1)
                    default: px = (a &+ b) >> 1
                    }
                    prev = (px &+ d) & 0xFFFF
                    row[i] = UInt16(truncatingIfNeeded: prev) << sh
                    i &+= nf
                }
            }
            first = false
            if r.overran {
                throw .malformed("JPEG: entropy-coded data truncated at line \(y)", offset: r.pos)
            }
        }
        r.reset()
    }
}
