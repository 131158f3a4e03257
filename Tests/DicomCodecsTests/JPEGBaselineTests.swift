import DicomBytes
import Testing

@testable import DicomCodecs

// JPEG baseline / extended (SOF0/SOF1) decoding: bit-exact fixtures against pylibjpeg, a DC-only
// test encoder for exact geometry / 12-bit / restart / scan-layout checks, and error handling.

func decodeBaseline(_ stream: [UInt8], _ e: FrameExpectation) throws(DicomError) -> DecodedFrame {
    try decodeWith(JPEGBaselineDecoder.decode, stream, e)
}

struct DCOnlyComponent {
    var h = 1, v = 1
}

/// Writes a sequential DCT stream in which every block has only a DC coefficient (quantiser 8, so a
/// block's samples equal its DC value plus the level shift). `blockValue(c, bx, by)` gives the
/// sample value of block (bx, by) of component c.
func encodeDCOnly(
    rows: Int, cols: Int, precision: Int, comps: [DCOnlyComponent], restartInterval: Int = 0,
    interleaved: Bool = true, blockValue: (Int, Int, Int) -> Int
) -> [UInt8] {
    let dcTable = TestHuffmanTable(permutationSeed: 99)
    var out: [UInt8] = [0xFF, 0xD8]
    // Quantisation table 0: all 8 (16-bit entries for 12-bit data).
    if precision == 8 {
        appendSegment(&out, 0xDB, [0x00] + [UInt8](repeating: 8, count: 64))
    } else {
        var q: [UInt8] = [0x10]
        for _ in 0..<64 { q += [0, 8] }
        appendSegment(&out, 0xDB, q)
    }
    appendSegment(&out, 0xC4, dcTable.segmentPayload(tableClass: 0, id: 0))
    // AC table 0: a single 1-bit code for EOB (symbol 0x00).
    var ac: [UInt8] = [0x10, 1]
    ac += [UInt8](repeating: 0, count: 15)
    ac += [0x00]
    appendSegment(&out, 0xC4, ac)
    if restartInterval > 0 {
        appendSegment(&out, 0xDD, [UInt8(restartInterval >> 8), UInt8(restartInterval & 0xFF)])
    }
    var sof: [UInt8] = [
        UInt8(precision), UInt8(rows >> 8), UInt8(rows & 0xFF), UInt8(cols >> 8), UInt8(cols & 0xFF),
        UInt8(comps.count),
    ]
    for (k, c) in comps.enumerated() { sof += [UInt8(k + 1), UInt8(c.h << 4 | c.v), 0] }
    appendSegment(&out, precision == 8 ? 0xC0 : 0xC1, sof)

    let hmax = comps.map { $0.h }.max()!, vmax = comps.map { $0.v }.max()!
    let shift = 1 << (precision - 1)
    let scans: [[Int]] = interleaved ? [Array(comps.indices)] : comps.indices.map { [$0] }
    for scan in scans {
        var sos: [UInt8] = [UInt8(scan.count)]
        for k in scan { sos += [UInt8(k + 1), 0x00] }
        sos += [0, 63, 0]
        appendSegment(&out, 0xDA, sos)
        var w = TestBitWriter()
        var pred = [Int](repeating: 0, count: comps.count)
        // MCU list: (component, bx, by) per MCU.
        var mcus: [[(Int, Int, Int)]] = []
        if scan.count == 1 {
            let c = comps[scan[0]]
            let cw = (cols * c.h + hmax - 1) / hmax, ch = (rows * c.v + vmax - 1) / vmax
            for by in 0..<((ch + 7) / 8) { for bx in 0..<((cw + 7) / 8) { mcus.append([(scan[0], bx, by)]) } }
        } else {
            let mx = (cols + 8 * hmax - 1) / (8 * hmax), my = (rows + 8 * vmax - 1) / (8 * vmax)
            for y in 0..<my {
                for x in 0..<mx {
                    var m: [(Int, Int, Int)] = []
                    for k in scan {
                        let c = comps[k]
                        for v in 0..<c.v { for h in 0..<c.h { m.append((k, x * c.h + h, y * c.v + v)) } }
                    }
                    mcus.append(m)
                }
            }
        }
        var rst = 0
        for (i, m) in mcus.enumerated() {
            if restartInterval > 0 && i > 0 && i % restartInterval == 0 {
                w.flush()
                w.out += [0xFF, 0xD0 + UInt8(rst & 7)]
                rst += 1
                for k in pred.indices { pred[k] = 0 }
            }
            for (k, bx, by) in m {
                let dc = blockValue(k, bx, by) - shift
                let d = dc - pred[k]
                pred[k] = dc
                var s = 0
                var a = abs(d)
                while a > 0 { s += 1; a >>= 1 }
                w.put(dcTable.code[s], dcTable.length[s])
                if s > 0 { w.put(d >= 0 ? d : d + (1 << s) - 1, s) }
                w.put(0, 1)  // EOB
            }
        }
        w.flush()
        out += w.out
    }
    out += [0xFF, 0xD9]
    return out
}

@Suite struct JPEGBaselineDecoding {
    @Test func fixturesMatchPylibjpegExactly() throws {
        for f in baselineFixtures {
            let e = FrameExpectation(
                rows: f.rows, columns: f.columns, samples: f.samples, bitsAllocated: 8,
                bitsStored: 8, pixelRepresentation: 0)
            let d = try decodeBaseline(f.bytes, e)
            #expect(d.rows == f.rows && d.columns == f.columns && d.samples == f.samples, "\(f.name)")
            #expect(d.bytesPerSample == 1 && d.precision == 8, "\(f.name)")
            #expect(d.data.count == f.rows * f.columns * f.samples, "\(f.name)")
            #expect(fnv1a(d.data) == f.hash, "\(f.name)")
        }
    }

    @Test(arguments: [8, 12])
    func dcOnlyBlocksAreExact(precision: Int) throws {
        let maxV = (1 << precision) - 1
        for interleaved in [true, false] {
            for restart in [0, 1, 3] {
                let rows = 21, cols = 35
                var rng = SplitMix64(UInt64(precision * 100 + restart))
                var values = [[Int]](repeating: [], count: 3)
                for c in 0..<3 { values[c] = (0..<64).map { _ in rng.below(maxV + 1) } }
                let comps = [DCOnlyComponent(), DCOnlyComponent(), DCOnlyComponent()]
                let s = encodeDCOnly(
                    rows: rows, cols: cols, precision: precision, comps: comps,
                    restartInterval: restart, interleaved: interleaved
                ) { c, bx, by in
                    values[c][(by * 5 + bx) % 64]
                }
                let e = FrameExpectation(
                    rows: rows, columns: cols, samples: 3, bitsAllocated: precision == 8 ? 8 : 16,
                    bitsStored: precision, pixelRepresentation: 0)
                let f = try decodeBaseline(s, e)
                #expect(f.precision == precision && f.bytesPerSample == (precision == 8 ? 1 : 2))
                let got = samples(f)
                var ok = true
                for y in 0..<rows {
                    for x in 0..<cols {
                        for c in 0..<3 where got[(y * cols + x) * 3 + c] != values[c][((y / 8) * 5 + x / 8) % 64] {
                            ok = false
                        }
                    }
                }
                #expect(ok, "P=\(precision) interleaved=\(interleaved) restart=\(restart)")
            }
        }
    }

    @Test func subsampledMCUGeometry() throws {
        // Luma 2x2 (and 2x1) with constant chroma: luma blocks must land in MCU order.
        for (h, v) in [(2, 2), (2, 1), (1, 2)] {
            for interleaved in [true, false] {
                let rows = 37, cols = 45
                let comps = [DCOnlyComponent(h: h, v: v), DCOnlyComponent(), DCOnlyComponent()]
                let s = encodeDCOnly(
                    rows: rows, cols: cols, precision: 8, comps: comps, restartInterval: 2,
                    interleaved: interleaved
                ) { c, bx, by in
                    c == 0 ? (bx * 37 + by * 11) % 256 : (c == 1 ? 70 : 200)
                }
                let e = FrameExpectation(
                    rows: rows, columns: cols, samples: 3, bitsAllocated: 8, bitsStored: 8,
                    pixelRepresentation: 0)
                let got = samples(try decodeBaseline(s, e))
                var ok = true
                for y in 0..<rows {
                    for x in 0..<cols {
                        let i = (y * cols + x) * 3
                        if got[i] != ((x / 8) * 37 + (y / 8) * 11) % 256 || got[i + 1] != 70 || got[i + 2] != 200 {
                            ok = false
                        }
                    }
                }
                #expect(ok, "luma \(h)x\(v) interleaved=\(interleaved)")
            }
        }
    }
}

@Suite struct JPEGBaselineErrors {
    static let fixture = baselineFixtures.first { $0.name == "rgb420_rst_33x20" }!
    static let expect = FrameExpectation(
        rows: 20, columns: 33, samples: 3, bitsAllocated: 8, bitsStored: 8,
        pixelRepresentation: 0)

    func failure(_ s: [UInt8], _ e: FrameExpectation = JPEGBaselineErrors.expect) -> DicomError? {
        decodeError(JPEGBaselineDecoder.decode, s, e)
    }

    @Test func everyTruncationThrows() {
        let s = Self.fixture.bytes
        #expect(failure(s) == nil)
        expectEveryTruncationThrows(s) { failure($0) }
    }

    @Test func corruptedStreamsNeverCrash() {
        let s = Self.fixture.bytes
        var failures = 0
        corruptedCopies(of: s, seed: 7, count: 2000, multi: true) { c in
            if let err = failure(c) {
                failures += 1
                #expect(err.kind == .malformed || err.kind == .unsupportedTransferSyntax)
            }
        }
        #expect(failures > 0)
    }

    @Test func unsupportedAndMismatched() {
        let e = FrameExpectation(
            rows: 8, columns: 8, samples: 1, bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0)
        #expect(failure(progressiveFixture, e)?.kind == .unsupportedTransferSyntax)
        // Streams of the other process (mislabelled transfer syntax) are decoded by the right decoder.
        let ll = encodeLossless([1, 2, 3, 4], rows: 2, cols: 2, nf: 1, LosslessEncodeOptions())
        let e2 = FrameExpectation(
            rows: 2, columns: 2, samples: 1, bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0)
        #expect((try? decodeBaseline(ll, e2))?.data == [1, 2, 3, 4])
        let viaLossless = try? decodeLossless(Self.fixture.bytes, Self.expect)
        #expect(viaLossless.map { fnv1a($0.data) } == Self.fixture.hash)
        // Dimension mismatch.
        let wrong = FrameExpectation(
            rows: 20, columns: 32, samples: 3, bitsAllocated: 8, bitsStored: 8,
            pixelRepresentation: 0)
        #expect(failure(Self.fixture.bytes, wrong)?.message.contains("data set says") == true)
    }

    @Test func spectralSelectionOtherThanFullIsRejected() {
        // Sequential DCT scans must have Ss = 0 and Se = 63 (T.81 B.2.3); libjpeg refuses others.
        var s = Self.fixture.bytes
        let sos = JPEGLosslessErrors.markerOffset(s, 0xDA)
        let ns = Int(s[sos + 4])
        s[sos + 6 + 2 * ns] = 0
        #expect(failure(s)?.message.contains("scan end 63") == true)
    }

    @Test func missingTables() {
        var s = Self.fixture.bytes
        // Point the first component at quantisation table 3 (never defined).
        let sof = JPEGLosslessErrors.markerOffset(s, 0xC0)
        s[sof + 12] = 3
        #expect(failure(s)?.message.contains("quantisation table") == true)
        // Remove all DHT segments by renaming them to APP segments (skipped).
        s = Self.fixture.bytes
        var i = 0
        while i + 1 < s.count {
            if s[i] == 0xFF && s[i + 1] == 0xC4 { s[i + 1] = 0xE5 }
            if s[i] == 0xFF && s[i + 1] == 0xDA { break }
            i += 1
        }
        #expect(failure(s)?.message.contains("undefined Huffman table") == true)
    }
}
