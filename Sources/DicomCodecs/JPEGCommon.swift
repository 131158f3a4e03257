import DicomBytes

// Shared machinery of the JPEG decoders (ITU-T T.81): marker segment reading, Huffman tables with a
// 9-bit lookahead, and an entropy-coded-segment bit reader with a 64-bit accumulator.

/// Frame component from a SOFn header.
struct JPEGComponent {
    var id: Int
    var h: Int
    var v: Int
    var tq: Int
}

/// Frame header (SOFn).
struct JPEGFrameHeader {
    var marker: UInt8
    var precision: Int
    var rows: Int
    var columns: Int
    var components: [JPEGComponent]
}

/// Scan header (SOS).
struct JPEGScanHeader {
    /// Index into the frame's component list, per scan component.
    var componentIndices: [Int]
    var dcTables: [Int]
    var acTables: [Int]
    var ss: Int
    var se: Int
    var ah: Int
    var al: Int
}

/// Eight Huffman tables (class 0 = DC/lossless in slots 0-3, class 1 = AC in slots 4-7) in flat,
/// manually managed storage so that the hot loops read them through plain pointers.
final class JPEGHuffmanTables {
    static let lookBits = 9
    static let lookSize = 1 << lookBits
    /// Per table: lookSize entries of (codeLength << 8) | symbol; 0 = longer code or invalid.
    let lookup: UnsafeMutablePointer<UInt16>
    /// Per table, index 0...17: largest code of each length, -1 when none.
    let maxCode: UnsafeMutablePointer<Int32>
    /// Per table, index 0...17: value index offset (values index = valOffset[l] + code).
    let valOffset: UnsafeMutablePointer<Int32>
    /// Per table: 256 symbol values.
    let values: UnsafeMutablePointer<UInt8>
    var valueCount = [Int](repeating: 0, count: 8)
    var defined = [Bool](repeating: false, count: 8)

    init() {
        lookup = .allocate(capacity: 8 * JPEGHuffmanTables.lookSize)
        lookup.initialize(repeating: 0, count: 8 * JPEGHuffmanTables.lookSize)
        maxCode = .allocate(capacity: 8 * 18)
        maxCode.initialize(repeating: -1, count: 8 * 18)
        valOffset = .allocate(capacity: 8 * 18)
        valOffset.initialize(repeating: 0, count: 8 * 18)
        values = .allocate(capacity: 8 * 256)
        values.initialize(repeating: 0, count: 8 * 256)
    }

    deinit {
        lookup.deallocate()
        maxCode.deallocate()
        valOffset.deallocate()
        values.deallocate()
    }

    /// Parses one DHT segment payload [start, end) of `data` and installs its tables.
    func parseDHT(_ data: UnsafeRawBufferPointer, start: Int, end: Int) throws(DicomError) {
        var p = start
        while p < end {
            let tcth = Int(data[p])
            let tc = tcth >> 4, th = tcth & 15
            if tc > 1 || th > 3 {
                throw .malformed("JPEG: invalid Huffman table class/id \(tc)/\(th)", offset: p)
            }
            if end - p < 17 {
                throw .malformed("JPEG: truncated DHT segment", offset: p)
            }
            var counts = [Int](repeating: 0, count: 17)
            var total = 0
            for l in 1...16 {
                counts[l] = Int(data[p + l])
                total += counts[l]
            }
            if total > 256 {
                throw .malformed("JPEG: Huffman table with \(total) codes (more than 256)", offset: p)
            }
            if end - p - 17 < total {
                throw .malformed("JPEG: truncated DHT segment", offset: p)
            }
            let slot = tc * 4 + th
            let vals = values + slot * 256
            for i in 0..<total { vals[i] = data[p + 17 + i] }
            // Canonical code assignment (T.81 Annex C) with over-subscription check.
            let look = lookup + slot * JPEGHuffmanTables.lookSize
            look.update(repeating: 0, count: JPEGHuffmanTables.lookSize)
            let mc = maxCode + slot * 18
            let vo = valOffset + slot * 18
            var code = 0
            var k = 0
            for l in 1...16 {
                let n = counts[l]
                if code + n > (1 << l) {
                    throw .malformed("JPEG: over-subscribed Huffman table \(tc)/\(th) at code length \(l)", offset: p)
                }
                if n > 0 {
                    vo[l] = Int32(k - code)
                    mc[l] = Int32(code + n - 1)
                    if l <= JPEGHuffmanTables.lookBits {
                        let shift = JPEGHuffmanTables.lookBits - l
                        for i in 0..<n {
                            let c = code + i
                            let entry = UInt16(l << 8) | UInt16(vals[k + i])
                            let lo = c << shift, hi = (c + 1) << shift
                            for j in lo..<hi { look[j] = entry }
                        }
                    }
                } else {
                    mc[l] = -1
                    vo[l] = 0
                }
                code += n
                k += n
                code <<= 1
            }
            mc[17] = Int32.max
            valueCount[slot] = total
            defined[slot] = true
            p += 17 + total
        }
    }
}

/// Bit reader over an entropy-coded segment. Stops at markers (FFxx, xx != 00) and at the end of the
/// data; beyond that it feeds zero bits and counts them so truncation can be detected.
struct JPEGBitReader {
    let base: UnsafePointer<UInt8>
    let end: Int
    var pos: Int
    /// Left-aligned bit accumulator; `bits` valid bits at the most significant end.
    var acc: UInt64 = 0
    var bits: Int = 0
    /// Zero bits appended after a marker or the end of data (still counted in `bits`).
    var padBits: Int = 0

    init(_ data: UnsafeRawBufferPointer, pos: Int) {
        // Callers guarantee a non-empty buffer.
        base = data.baseAddress!.assumingMemoryBound(to: UInt8.self)
        end = data.count
        self.pos = pos
    }

    /// Fills the accumulator to more than 56 bits.
    @inline(never)
    mutating func refill() {
        while bits <= 56 {
            if padBits == 0 && pos < end {
                let b = base[pos]
                if b != 0xFF {
                    pos += 1
                    acc |= UInt64(b) << UInt64(56 - bits)
                    bits += 8
                    continue
                }
                if pos + 1 < end && base[pos + 1] == 0 {
                    pos += 2
                    acc |= UInt64(0xFF) << UInt64(56 - bits)
                    bits += 8
                    continue
                }
                // A marker (or a lone FF at the end): stop here, pos stays on the FF.
            }
            padBits += 8
            bits += 8
        }
    }

    @inline(__always)
    mutating func ensure32() {
        if bits < 32 { refill() }
    }

    /// True when bits that were never in the data have been consumed.
    @inline(__always)
    var overran: Bool { bits < padBits }

    /// Decodes one Huffman symbol; requires at least 16 bits in the accumulator.
    @inline(__always)
    mutating func decodeSymbol(_ t: JPEGHuffmanTables, slot: Int) throws(DicomError) -> Int {
        let peek = Int(truncatingIfNeeded: acc >> UInt64(64 - JPEGHuffmanTables.lookBits))
        let e = Int(t.lookup[slot &* JPEGHuffmanTables.lookSize &+ peek])
        if e != 0 {
            let len = e >> 8
            acc <<= UInt64(len)
            bits &-= len
            return e & 0xFF
        }
        return try decodeSlow(t, slot: slot)
    }

    @inline(never)
    mutating func decodeSlow(_ t: JPEGHuffmanTables, slot: Int) throws(DicomError) -> Int {
        let mc = t.maxCode + slot * 18
        let vo = t.valOffset + slot * 18
        var l = JPEGHuffmanTables.lookBits + 1
        while l <= 16 {
            let code = Int(truncatingIfNeeded: acc >> UInt64(64 - l))
            let m = Int(mc[l])
            if m >= 0 && code <= m {
                let idx = Int(vo[l]) + code
                if idx < 0 || idx >= t.valueCount[slot] { break }
                acc <<= UInt64(l)
                bits -= l
                return Int(t.values[slot * 256 + idx])
            }
            l += 1
        }
        throw .malformed("JPEG: invalid Huffman code in entropy-coded data", offset: pos)
    }

    /// Reads `n` (1...16) raw bits; requires n bits in the accumulator.
    @inline(__always)
    mutating func receive(_ n: Int) -> Int {
        let v = Int(truncatingIfNeeded: acc >> UInt64(64 - n))
        acc <<= UInt64(n)
        bits &-= n
        return v
    }

    /// Drops buffered bits (end of an interval or scan); `pos` is where the next marker search starts.
    mutating func reset() {
        acc = 0
        bits = 0
        padBits = 0
    }

    /// At the end of a restart interval: discards the rest of the current byte, then expects an
    /// RSTn marker (skipping fill bytes). Throws when the interval consumed bits beyond its data.
    mutating func processRestart() throws(DicomError) {
        if overran {
            throw .malformed("JPEG: entropy-coded data truncated before restart marker", offset: pos)
        }
        reset()
        // Skip any stray entropy bytes up to the next marker (lenient, as common decoders are).
        var p = pos
        while p < end {
            if base[p] == 0xFF {
                var q = p + 1
                while q < end && base[q] == 0xFF { q += 1 }
                if q >= end { break }
                let m = base[q]
                if m == 0x00 { p = q + 1; continue }
                if m >= 0xD0 && m <= 0xD7 {
                    pos = q + 1
                    return
                }
                throw .malformed("JPEG: expected restart marker, found FF\(jpegHexByte(m))", offset: p)
            }
            p += 1
        }
        throw .malformed("JPEG: stream ended where a restart marker was expected", offset: end)
    }
}

@inline(__always)
func jpegExtend(_ v: Int, _ s: Int) -> Int {
    v < (1 << (s - 1)) ? v - (1 << s) + 1 : v
}

func jpegHexByte(_ b: UInt8) -> String {
    let d: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]
    return String(d[Int(b >> 4)]) + String(d[Int(b & 15)])
}

/// Marker-level reading shared by the decoders.
enum JPEGMarkers {
    /// Throws when the frame header's size differs from the data set's Rows, Columns and Samples per Pixel.
    static func checkFrameSize(_ f: JPEGFrameHeader, _ expected: FrameExpectation, offset: Int) throws(DicomError) {
        if f.rows != expected.rows || f.columns != expected.columns || f.components.count != expected.samples {
            throw .malformed(
                "JPEG: frame is \(f.rows)x\(f.columns)x\(f.components.count) but the data set says "
                    + "\(expected.rows)x\(expected.columns)x\(expected.samples)", offset: offset)
        }
    }

    /// The error for a start-of-frame marker of a process the decoder does not handle (`wanted` names
    /// the one it does).
    static func unsupportedFrame(_ marker: UInt8, wanted: String, offset: Int) -> DicomError {
        DicomError(
            .unsupportedTransferSyntax, "JPEG: SOF marker FF\(jpegHexByte(marker)) is not a \(wanted)", offset: offset)
    }

    /// The restart interval of a DRI segment whose payload starts at `mp + 2` and ends at `segEnd`.
    static func restartInterval(_ data: UnsafeRawBufferPointer, _ mp: Int, segEnd: Int) throws(DicomError) -> Int {
        if segEnd - mp != 4 {
            throw .malformed("JPEG: DRI segment length is not 4", offset: mp)
        }
        return be16(data, mp + 2)
    }

    /// Checks the stream is long enough to hold markers and starts with SOI.
    static func checkStart(_ data: UnsafeRawBufferPointer) throws(DicomError) {
        let n = data.count
        if n < 4 {
            throw .malformed("JPEG: stream too short (\(n) bytes)", offset: 0)
        }
        if data[0] != 0xFF || data[1] != 0xD8 {
            throw .malformed("JPEG: missing SOI marker", offset: 0)
        }
    }

    @inline(__always)
    static func be16(_ d: UnsafeRawBufferPointer, _ p: Int) -> Int {
        Int(d[p]) << 8 | Int(d[p + 1])
    }

    /// Reads the marker at `pos` (skipping FF fill bytes). When `lenient`, skips non-marker bytes
    /// first (after an entropy-coded segment). Returns (marker code, offset after the marker), or nil
    /// at the end of data.
    static func nextMarker(_ d: UnsafeRawBufferPointer, at pos: Int, lenient: Bool) throws(DicomError) -> (UInt8, Int)?
    {
        var p = pos
        let n = d.count
        while true {
            if p >= n { return nil }
            if d[p] != 0xFF {
                if !lenient {
                    throw .malformed("JPEG: expected a marker, found byte \(jpegHexByte(d[p]))", offset: p)
                }
                p += 1
                continue
            }
            var q = p + 1
            while q < n && d[q] == 0xFF { q += 1 }
            if q >= n { return nil }
            let m = d[q]
            if m == 0x00 || (m >= 0xD0 && m <= 0xD7) {
                // Stuffed byte or stray restart marker between segments: skip it.
                if !lenient && m == 0x00 {
                    throw .malformed("JPEG: expected a marker, found FF00", offset: p)
                }
                p = q + 1
                continue
            }
            return (m, q + 1)
        }
    }

    /// Validates the 2-byte length of the segment starting at `p` (just after the marker) and returns
    /// the offset of its end.
    static func segmentEnd(_ d: UnsafeRawBufferPointer, _ p: Int, marker: UInt8) throws(DicomError) -> Int {
        if d.count - p < 2 {
            throw .malformed("JPEG: truncated length of marker FF\(jpegHexByte(marker))", offset: p)
        }
        let len = be16(d, p)
        if len < 2 {
            throw .malformed("JPEG: invalid length \(len) of marker FF\(jpegHexByte(marker))", offset: p)
        }
        if d.count - p < len {
            throw .malformed("JPEG: marker FF\(jpegHexByte(marker)) segment length \(len) exceeds the data", offset: p)
        }
        return p + len
    }

    static func parseFrameHeader(_ d: UnsafeRawBufferPointer, _ p: Int, end: Int, marker: UInt8) throws(DicomError)
        -> JPEGFrameHeader
    {
        if end - p < 8 {
            throw .malformed("JPEG: SOF segment too short", offset: p)
        }
        let precision = Int(d[p + 2])
        let rows = be16(d, p + 3)
        let cols = be16(d, p + 5)
        let nf = Int(d[p + 7])
        if nf < 1 || nf > 4 {
            throw .malformed("JPEG: unsupported number of frame components \(nf)", offset: p + 7)
        }
        if end - p != 8 + 3 * nf {
            throw .malformed("JPEG: SOF segment length does not match \(nf) components", offset: p)
        }
        var comps: [JPEGComponent] = []
        comps.reserveCapacity(nf)
        for i in 0..<nf {
            let q = p + 8 + 3 * i
            let hv = Int(d[q + 1])
            let c = JPEGComponent(id: Int(d[q]), h: hv >> 4, v: hv & 15, tq: Int(d[q + 2]))
            if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
                throw .malformed("JPEG: invalid sampling factors \(c.h)x\(c.v)", offset: q + 1)
            }
            for o in comps where o.id == c.id {
                throw .malformed("JPEG: duplicate component id \(c.id)", offset: q)
            }
            comps.append(c)
        }
        if rows == 0 {
            throw .malformed("JPEG: frame with 0 lines (DNL marker) is not supported", offset: p + 3)
        }
        if cols == 0 {
            throw .malformed("JPEG: frame with 0 columns", offset: p + 5)
        }
        return JPEGFrameHeader(marker: marker, precision: precision, rows: rows, columns: cols, components: comps)
    }

    static func parseScanHeader(_ d: UnsafeRawBufferPointer, _ p: Int, end: Int, frame: JPEGFrameHeader)
        throws(DicomError) -> JPEGScanHeader
    {
        if end - p < 3 {
            throw .malformed("JPEG: SOS segment too short", offset: p)
        }
        let ns = Int(d[p + 2])
        if ns < 1 || ns > 4 {
            throw .malformed("JPEG: invalid number of scan components \(ns)", offset: p + 2)
        }
        if end - p != 6 + 2 * ns {
            throw .malformed("JPEG: SOS segment length does not match \(ns) components", offset: p)
        }
        var idx: [Int] = [], dc: [Int] = [], ac: [Int] = []
        for i in 0..<ns {
            let q = p + 3 + 2 * i
            let cid = Int(d[q])
            guard let ci = frame.components.firstIndex(where: { $0.id == cid }) else {
                throw .malformed("JPEG: scan references unknown component \(cid)", offset: q)
            }
            if idx.contains(ci) {
                throw .malformed("JPEG: scan lists component \(cid) twice", offset: q)
            }
            let t = Int(d[q + 1])
            if t >> 4 > 3 || t & 15 > 3 {
                throw .malformed("JPEG: invalid Huffman table selector", offset: q + 1)
            }
            idx.append(ci)
            dc.append(t >> 4)
            ac.append(t & 15)
        }
        let q = p + 3 + 2 * ns
        let a = Int(d[q + 2])
        return JPEGScanHeader(
            componentIndices: idx, dcTables: dc, acTables: ac,
            ss: Int(d[q]), se: Int(d[q + 1]), ah: a >> 4, al: a & 15)
    }
}
