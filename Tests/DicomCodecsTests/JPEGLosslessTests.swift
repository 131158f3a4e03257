import DicomBytes
import Testing

@testable import DicomCodecs

// Round trips through the test encoder (JPEGTestEncoder.swift) and error handling of the JPEG
// lossless decoder.

/// Random image of `nf` components with values below 2^bits; `smooth` gives small differences.
func randomImage(rows: Int, cols: Int, nf: Int, bits: Int, seed: UInt64, smooth: Bool = false) -> [Int] {
    var rng = SplitMix64(seed)
    let maxV = 1 << bits
    var v = [Int](repeating: 0, count: rows * cols * nf)
    for y in 0..<rows {
        for x in 0..<cols {
            for k in 0..<nf {
                let i = (y * cols + x) * nf + k
                if smooth && x > 0 {
                    let step = rng.below(7) - 3
                    v[i] = min(maxV - 1, max(0, v[i - nf] + step))
                } else {
                    v[i] = rng.below(maxV)
                }
            }
        }
    }
    return v
}

/// Encodes, decodes and compares; returns false on any mismatch.
func roundTrip(rows: Int, cols: Int, nf: Int, _ o: LosslessEncodeOptions, seed: UInt64, smooth: Bool = false) throws
    -> Bool
{
    let values = randomImage(
        rows: rows, cols: cols, nf: nf, bits: o.precision - o.pointTransform, seed: seed, smooth: smooth)
    let stream = encodeLossless(values, rows: rows, cols: cols, nf: nf, o)
    let f = try decodeLossless(stream, expectation(rows, cols, nf, o.precision))
    let ok =
        f.rows == rows && f.columns == cols && f.samples == nf && f.precision == o.precision
        && f.bytesPerSample == (o.precision <= 8 ? 1 : 2)
        && samples(f) == values.map { $0 << o.pointTransform }
    return ok
}

@Suite struct JPEGLosslessRoundTrip {
    @Test(arguments: 1...7)
    func allPrecisionsAndPointTransforms(predictor: Int) throws {
        for p in [2, 3, 7, 8, 9, 12, 15, 16] {
            for pt in Set([0, 1, p / 2]) where pt < p {
                var o = LosslessEncodeOptions()
                o.precision = p
                o.pointTransform = pt
                o.predictor = predictor
                o.tableSeed = UInt64(p * 31 + pt)
                let seed = UInt64(predictor * 1000 + p * 10 + pt)
                #expect(
                    try roundTrip(rows: 9, cols: 13, nf: 1, o, seed: seed), "P=\(p) Pt=\(pt) predictor \(predictor)")
                #expect(
                    try roundTrip(rows: 11, cols: 7, nf: 1, o, seed: seed + 1, smooth: true),
                    "smooth P=\(p) Pt=\(pt) predictor \(predictor)")
            }
        }
    }

    @Test(arguments: [2, 3, 4])
    func interleavedComponents(nf: Int) throws {
        for predictor in 1...7 {
            for p in [8, 12, 16] {
                var o = LosslessEncodeOptions()
                o.precision = p
                o.predictor = predictor
                #expect(
                    try roundTrip(rows: 6, cols: 10, nf: nf, o, seed: UInt64(predictor * 7 + p)),
                    "nf=\(nf) P=\(p) predictor \(predictor)")
            }
        }
    }

    @Test func nonInterleavedScans() throws {
        for predictor in [1, 4, 7] {
            var o = LosslessEncodeOptions()
            o.precision = 12
            o.predictor = predictor
            o.interleaved = false
            #expect(try roundTrip(rows: 8, cols: 9, nf: 3, o, seed: UInt64(predictor)))
            o.restartInterval = 9
            #expect(try roundTrip(rows: 8, cols: 9, nf: 3, o, seed: UInt64(predictor + 50)))
        }
    }

    @Test(arguments: [1, 5, 7, 12, 24, 60])
    func restartIntervals(interval: Int) throws {
        for predictor in [1, 2, 6, 7] {
            for nf in [1, 3] {
                var o = LosslessEncodeOptions()
                o.precision = 16
                o.pointTransform = predictor == 6 ? 3 : 0
                o.predictor = predictor
                o.restartInterval = interval
                o.fillBytes = interval == 5
                #expect(
                    try roundTrip(rows: 10, cols: 12, nf: nf, o, seed: UInt64(interval * 100 + predictor + nf)),
                    "interval \(interval) predictor \(predictor) nf \(nf)")
            }
        }
    }

    @Test func category16Difference() throws {
        // Alternating 0 / 32768 with predictor 1: every difference is +-32768 (category 16, no extra bits).
        let rows = 4, cols = 16
        var values = [Int](repeating: 0, count: rows * cols)
        for i in values.indices where (i / cols + i % cols) % 2 == 1 { values[i] = 32768 }
        var o = LosslessEncodeOptions()
        o.precision = 16
        o.predictor = 1
        let stream = encodeLossless(values, rows: rows, cols: cols, nf: 1, o)
        let f = try decodeLossless(stream, expectation(rows, cols, 1, 16))
        #expect(samples(f) == values)
    }

    @Test func markersSegmentsAndPadding() throws {
        var o = LosslessEncodeOptions()
        o.precision = 10
        o.predictor = 5
        o.extraSegments = true
        o.fillBytes = true
        let values = randomImage(rows: 5, cols: 5, nf: 1, bits: 10, seed: 9)
        var stream = encodeLossless(values, rows: 5, cols: 5, nf: 1, o)
        #expect(samples(try decodeLossless(stream, expectation(5, 5, 1, 10))) == values)
        // Trailing padding after EOI (odd-length fragment padding) is ignored.
        stream += [0, 0, 0]
        #expect(samples(try decodeLossless(stream, expectation(5, 5, 1, 10))) == values)
        // A stream whose EOI is missing still decodes (all samples are present).
        stream.removeLast(5)
        #expect(samples(try decodeLossless(stream, expectation(5, 5, 1, 10))) == values)
        // Once every component has been decoded, trailing junk (even a second scan) is ignored.
        let sos = JPEGLosslessErrors.markerOffset(stream, 0xDA)
        let junk = Array(stream[sos..<(sos + 10)]) + [0x12, 0x34, 0xFF, 0x00, 0x56]
        #expect(samples(try decodeLossless(stream + junk, expectation(5, 5, 1, 10))) == values)
    }

    @Test func largerImageAndRegistryRouting() throws {
        var o = LosslessEncodeOptions()
        o.precision = 16
        o.predictor = 1
        let rows = 64, cols = 96
        let values = randomImage(rows: rows, cols: cols, nf: 1, bits: 16, seed: 77, smooth: true)
        let stream = encodeLossless(values, rows: rows, cols: cols, nf: 1, o)
        for ts in ["1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"] {
            let dec = try #require(CodecRegistry.decoder(for: ts))
            let f = try decodeWith(dec, stream, expectation(rows, cols, 1, 16))
            #expect(samples(f) == values)
        }
    }
}

@Suite struct JPEGLosslessErrors {
    static func sample(
        _ o: LosslessEncodeOptions = LosslessEncodeOptions(), rows: Int = 6, cols: Int = 7,
        nf: Int = 1
    ) -> [UInt8] {
        let values = randomImage(rows: rows, cols: cols, nf: nf, bits: o.precision - o.pointTransform, seed: 3)
        return encodeLossless(values, rows: rows, cols: cols, nf: nf, o)
    }

    /// Offset of the first occurrence of marker FF `m` in `s`.
    static func markerOffset(_ s: [UInt8], _ m: UInt8) -> Int {
        for i in 0..<(s.count - 1) where s[i] == 0xFF && s[i + 1] == m { return i }
        return -1
    }

    func malformed(_ s: [UInt8], _ e: FrameExpectation) -> DicomError? {
        decodeError(JPEGLosslessDecoder.decode, s, e)
    }

    @Test func everyTruncationThrows() {
        var o = LosslessEncodeOptions()
        o.precision = 12
        o.predictor = 4
        o.restartInterval = 10
        let s = Self.sample(o, rows: 8, cols: 10, nf: 2)
        let e = expectation(8, 10, 2, 12)
        #expect(malformed(s, e) == nil)
        // Dropping only the EOI is tolerated; any shorter stream must fail cleanly.
        expectEveryTruncationThrows(s) { malformed($0, e) }
    }

    @Test func corruptedStreamsNeverCrash() {
        var o = LosslessEncodeOptions()
        o.precision = 16
        o.predictor = 7
        o.restartInterval = 7
        let s = Self.sample(o, rows: 6, cols: 7, nf: 3)
        let e = expectation(6, 7, 3, 16)
        var failures = 0
        corruptedCopies(of: s, seed: 42, count: 3000, multi: true) { c in
            if let err = malformed(c, e) {
                failures += 1
                #expect(err.kind == .malformed || err.kind == .unsupportedTransferSyntax)
            }
        }
        // Most random corruptions are detected (header damage, bad codes, truncation).
        #expect(failures > 0)
    }

    @Test func overSubscribedHuffmanTable() {
        var s = Self.sample()
        let dht = Self.markerOffset(s, 0xC4)
        // Two codes of length 1 use the whole code space; the codes of length 3 then over-subscribe it.
        s[dht + 5] = 2
        s[dht + 6] = 0
        let err = malformed(s, expectation(6, 7, 1, 8))
        #expect(err?.kind == .malformed)
        #expect(err?.message.contains("over-subscribed") == true)
        #expect(err?.offset == dht + 4)
    }

    @Test func undefinedHuffmanTable() {
        var s = Self.sample()
        let sos = Self.markerOffset(s, 0xDA)
        s[sos + 6] = 0x30  // component 0 -> DC table 3, never defined
        let err = malformed(s, expectation(6, 7, 1, 8))
        #expect(err?.kind == .malformed)
        #expect(err?.message.contains("undefined Huffman table") == true)
    }

    @Test func dimensionMismatch() {
        let s = Self.sample()
        for e in [expectation(7, 7, 1, 8), expectation(6, 8, 1, 8), expectation(6, 7, 3, 8)] {
            let err = malformed(s, e)
            #expect(err?.kind == .malformed)
            #expect(err?.offset == Self.markerOffset(s, 0xC3) + 2)
        }
    }

    @Test func precisionAndPointTransformOutOfRange() {
        let s = Self.sample()
        let sof = Self.markerOffset(s, 0xC3)
        for p: UInt8 in [0, 1, 17, 255] {
            var c = s
            c[sof + 4] = p
            let err = malformed(c, expectation(6, 7, 1, 8))
            #expect(err?.kind == .malformed)
            #expect(err?.offset == sof + 4)
        }
        var c = s
        let sos = Self.markerOffset(s, 0xDA)
        c[sos + 9] = 8  // Pt = 8 with P = 8
        #expect(malformed(c, expectation(6, 7, 1, 8))?.message.contains("point transform") == true)
        c = s
        c[sos + 7] = 0  // predictor 0 (differential only)
        #expect(malformed(c, expectation(6, 7, 1, 8))?.message.contains("predictor") == true)
        c[sos + 7] = 8
        #expect(malformed(c, expectation(6, 7, 1, 8))?.message.contains("predictor") == true)
    }

    @Test func badSegmentLengths() {
        let s = Self.sample()
        let dht = Self.markerOffset(s, 0xC4)
        var c = s
        c[dht + 2] = 0xFF  // length far beyond the data
        var err = malformed(c, expectation(6, 7, 1, 8))
        #expect(err?.kind == .malformed)
        #expect(err?.offset == dht + 2)
        c = s
        c[dht + 2] = 0
        c[dht + 3] = 1  // length 1 < 2
        err = malformed(c, expectation(6, 7, 1, 8))
        #expect(err?.offset == dht + 2)
        // SOF length inconsistent with its component count.
        c = s
        let sof = Self.markerOffset(s, 0xC3)
        c[sof + 9] = 2
        #expect(malformed(c, expectation(6, 7, 1, 8))?.kind == .malformed)
    }

    @Test func notALosslessStream() {
        #expect(malformed([], expectation(1, 1, 1, 8))?.kind == .malformed)
        #expect(malformed([0x00, 0x01, 0x02, 0x03, 0x04], expectation(1, 1, 1, 8))?.kind == .malformed)
        var s = Self.sample()
        let sof = Self.markerOffset(s, 0xC3)
        s[sof + 1] = 0xC2  // progressive DCT frame
        #expect(malformed(s, expectation(6, 7, 1, 8))?.kind == .unsupportedTransferSyntax)
        s[sof + 1] = 0xC0  // baseline DCT frame: handed to the DCT decoder, which finds no AC table
        #expect(malformed(s, expectation(6, 7, 1, 8))?.kind == .malformed)
        s[sof + 1] = 0xCB  // arithmetic lossless
        #expect(malformed(s, expectation(6, 7, 1, 8))?.kind == .unsupportedTransferSyntax)
        // Frame header only, no scan.
        let s2 = Array(Self.sample()[0..<(Self.markerOffset(Self.sample(), 0xDA))]) + [0xFF, 0xD9]
        #expect(malformed(s2, expectation(6, 7, 1, 8))?.message.contains("no scan") == true)
    }

    @Test func frameLargerThanDataCanHold() {
        // Header claims 65535 x 65535 x 4 samples; rejected before allocating.
        var s = Self.sample(nf: 1)
        let sof = Self.markerOffset(s, 0xC3)
        s[sof + 5] = 0xFF; s[sof + 6] = 0xFF; s[sof + 7] = 0xFF; s[sof + 8] = 0xFF
        let err = malformed(s, expectation(65535, 65535, 1, 8))
        #expect(err?.message.contains("cannot fit") == true)
    }
}
