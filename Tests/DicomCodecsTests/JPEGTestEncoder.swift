// A small, deliberately simple JPEG lossless (Process 14) encoder used only to produce test streams
// with known content for the decoder. Written straight from T.81 Annex H, independent of the decoder.

struct SplitMix64 {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Canonical Huffman table for the 17 lossless difference categories.
struct TestHuffmanTable {
    var counts: [Int]  // index 1...16
    var symbols: [UInt8]  // in code order
    var code: [Int] = Array(repeating: -1, count: 17)
    var length: [Int] = Array(repeating: 0, count: 17)

    /// Code lengths 2,2,3,3,4,4,5,5,6,6,7,7,9,10,11,12,16, symbols permuted, so
    /// that lookup-table codes and long (slow path) codes both occur.
    init(permutationSeed: UInt64) {
        counts = [0, 0, 2, 2, 2, 2, 2, 2, 0, 1, 1, 1, 1, 0, 0, 0, 1]
        var syms = (0...16).map { UInt8($0) }
        var rng = SplitMix64(permutationSeed)
        for i in stride(from: syms.count - 1, to: 0, by: -1) {
            syms.swapAt(i, rng.below(i + 1))
        }
        symbols = syms
        var c = 0, k = 0
        for l in 1...16 {
            for _ in 0..<counts[l] {
                code[Int(symbols[k])] = c
                length[Int(symbols[k])] = l
                c += 1
                k += 1
            }
            c <<= 1
        }
    }

    func segmentPayload(tableClass: Int, id: Int) -> [UInt8] {
        var p: [UInt8] = [UInt8(tableClass << 4 | id)]
        for l in 1...16 { p.append(UInt8(counts[l])) }
        p += symbols
        return p
    }
}

struct TestBitWriter {
    var out: [UInt8] = []
    var acc: UInt64 = 0
    var n = 0
    mutating func put(_ value: Int, _ bits: Int) {
        if bits == 0 { return }
        acc = (acc << UInt64(bits)) | (UInt64(value) & ((1 << UInt64(bits)) - 1))
        n += bits
        while n >= 8 {
            let b = UInt8(truncatingIfNeeded: acc >> UInt64(n - 8))
            out.append(b)
            if b == 0xFF { out.append(0) }
            n -= 8
        }
    }
    /// Pads the last byte with 1 bits.
    mutating func flush() {
        if n > 0 { put((1 << (8 - n)) - 1, 8 - n) }
    }
}

struct LosslessEncodeOptions {
    var precision = 8
    var pointTransform = 0
    var predictor = 1
    var restartInterval = 0
    var interleaved = true
    var extraSegments = false
    var fillBytes = false
    var tableSeed: UInt64 = 1
}

func appendSegment(_ out: inout [UInt8], _ marker: UInt8, _ payload: [UInt8]) {
    out += [0xFF, marker, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)]
    out += payload
}

/// Encodes `values` (interleaved, nf components, already point-transformed: each < 2^(P-Pt)).
func encodeLossless(_ values: [Int], rows: Int, cols: Int, nf: Int, _ o: LosslessEncodeOptions) -> [UInt8] {
    let tables = (0..<nf).map { TestHuffmanTable(permutationSeed: o.tableSeed &+ UInt64($0)) }
    var out: [UInt8] = [0xFF, 0xD8]
    if o.extraSegments {
        appendSegment(&out, 0xE0, Array("JFIF\u{0}".utf8) + [1, 2, 0, 0, 1, 0, 1, 0, 0])
        appendSegment(&out, 0xFE, Array("test comment".utf8))
    }
    // Table ids: component k uses table k % 2 (tables defined for both ids used).
    var dht: [UInt8] = []
    for k in 0..<min(nf, 2) { dht += tables[k].segmentPayload(tableClass: 0, id: k) }
    appendSegment(&out, 0xC4, dht)
    if o.restartInterval > 0 {
        appendSegment(&out, 0xDD, [UInt8(o.restartInterval >> 8), UInt8(o.restartInterval & 0xFF)])
    }
    var sof: [UInt8] = [
        UInt8(o.precision), UInt8(rows >> 8), UInt8(rows & 0xFF), UInt8(cols >> 8), UInt8(cols & 0xFF), UInt8(nf),
    ]
    for k in 0..<nf { sof += [UInt8(10 + k), 0x11, 0] }
    appendSegment(&out, 0xC3, sof)

    let scans: [[Int]] = o.interleaved ? [Array(0..<nf)] : (0..<nf).map { [$0] }
    for comps in scans {
        var sos: [UInt8] = [UInt8(comps.count)]
        for k in comps { sos += [UInt8(10 + k), UInt8((k % 2) << 4)] }
        sos += [UInt8(o.predictor), 0, UInt8(o.pointTransform)]
        appendSegment(&out, 0xDA, sos)
        var w = TestBitWriter()
        var mcu = 0
        var rstNum = 0
        var justReset = true
        var resetRow = 0
        let initial = 1 << (o.precision - o.pointTransform - 1)
        for y in 0..<rows {
            for x in 0..<cols {
                if o.restartInterval > 0 && mcu > 0 && mcu % o.restartInterval == 0 {
                    w.flush()
                    if o.fillBytes { w.out += [0xFF, 0xFF] }
                    w.out += [0xFF, 0xD0 + UInt8(rstNum & 7)]
                    rstNum += 1
                    justReset = true
                    resetRow = y
                }
                for k in comps {
                    func v(_ yy: Int, _ xx: Int) -> Int { values[(yy * cols + xx) * nf + k] }
                    let px: Int
                    if justReset {
                        px = initial
                    } else if y == resetRow {
                        px = v(y, x - 1)
                    } else if x == 0 {
                        px = v(y - 1, x)
                    } else {
                        let a = v(y, x - 1), b = v(y - 1, x), c = v(y - 1, x - 1)
                        switch o.predictor {
                        case 1: px = a
                        case 2: px = b
                        case 3: px = c
                        case 4: px = a + b - c
                        case 5: px = a + ((b - c) >> 1)
                        case 6: px = b + ((a - c) >> 1)
                        default: px = (a + b) >> 1
                        }
                    }
                    var d = (v(y, x) - px) & 0xFFFF
                    if d >= 32768 { d -= 65536 }
                    let t = tables[k % 2]
                    if d == -32768 {
                        w.put(t.code[16], t.length[16])
                    } else {
                        var s = 0
                        var m = abs(d)
                        while m > 0 { s += 1; m >>= 1 }
                        w.put(t.code[s], t.length[s])
                        if s > 0 { w.put(d >= 0 ? d : d + (1 << s) - 1, s) }
                    }
                }
                justReset = false
                mcu += 1
            }
        }
        w.flush()
        out += w.out
        if o.fillBytes { out += [0xFF, 0xFF] }
    }
    out += [0xFF, 0xD9]
    return out
}
