import CCharLS
import CCodecTestEncoders
import DicomBytes
import Testing

@testable import DicomCodecs

// JPEG-LS: streams made with CharLS's own encoder, decoded by JPEGLSDecoder.

/// Encodes interleaved `values` (or planar ones when `mode` is NONE and nf > 1) with CharLS.
func encodeJLS(
    _ values: [Int], rows: Int, cols: Int, nf: Int, bits: Int, near: Int = 0,
    mode: charls_interleave_mode = CHARLS_INTERLEAVE_MODE_SAMPLE
) -> [UInt8] {
    let bytes = bits <= 8 ? 1 : 2
    var src = [UInt8](repeating: 0, count: values.count * bytes)
    let pixels = rows * cols
    for (i, v) in values.enumerated() {
        // Interleaved input index i = p * nf + s; planar source index s * pixels + p.
        let j = mode == CHARLS_INTERLEAVE_MODE_NONE && nf > 1 ? (i % nf) * pixels + i / nf : i
        if bytes == 1 { src[j] = UInt8(v) } else { src[2 * j] = UInt8(v & 0xFF); src[2 * j + 1] = UInt8(v >> 8) }
    }
    var size = 0
    let p = src.withUnsafeBytes { b in
        test_jls_encode(
            b.baseAddress!, b.count, Int32(cols), Int32(rows), Int32(bits), Int32(nf), Int32(near),
            Int32(nf > 1 ? mode.rawValue : CHARLS_INTERLEAVE_MODE_NONE.rawValue), &size)!
    }
    return takeEncoded(p, size)
}

@Suite struct JPEGLSDecoderTests {
    @Test(arguments: [2, 5, 8, 10, 12, 16])
    func losslessGreyscaleRoundTrip(bits: Int) throws {
        let values = randomImage(rows: 23, cols: 17, nf: 1, bits: bits, seed: UInt64(bits), smooth: true)
        let stream = encodeJLS(values, rows: 23, cols: 17, nf: 1, bits: bits)
        let f = try decodeWith(JPEGLSDecoder.decode, stream, expectation(23, 17, 1, bits))
        #expect(f.rows == 23 && f.columns == 17 && f.samples == 1 && f.precision == bits)
        #expect(f.bytesPerSample == (bits <= 8 ? 1 : 2))
        #expect(samples(f) == values)
    }

    @Test(arguments: [
        (CHARLS_INTERLEAVE_MODE_NONE, 8), (CHARLS_INTERLEAVE_MODE_LINE, 8), (CHARLS_INTERLEAVE_MODE_SAMPLE, 8),
        (CHARLS_INTERLEAVE_MODE_NONE, 12), (CHARLS_INTERLEAVE_MODE_LINE, 12), (CHARLS_INTERLEAVE_MODE_SAMPLE, 12),
    ])
    func colourInterleaveModesComeOutInterleaved(mode: charls_interleave_mode, bits: Int) throws {
        let values = randomImage(rows: 9, cols: 14, nf: 3, bits: bits, seed: 7 + UInt64(bits))
        let stream = encodeJLS(values, rows: 9, cols: 14, nf: 3, bits: bits, mode: mode)
        let f = try decodeWith(JPEGLSDecoder.decode, stream, expectation(9, 14, 3, bits))
        #expect(f.samples == 3)
        #expect(samples(f) == values)
    }

    @Test func nearLosslessStaysWithinNear() throws {
        let values = randomImage(rows: 20, cols: 20, nf: 1, bits: 12, seed: 3, smooth: true)
        let stream = encodeJLS(values, rows: 20, cols: 20, nf: 1, bits: 12, near: 2)
        let f = try decodeWith(JPEGLSDecoder.decode, stream, expectation(20, 20, 1, 12))
        let got = samples(f)
        #expect(got.count == values.count)
        #expect(zip(got, values).allSatisfy { abs($0 - $1) <= 2 })
        #expect(got != values || values.allSatisfy { $0 == values[0] })
    }

    @Test func signedDataIsSignExtendedFromThePrecision() throws {
        // -3, 0, 5, -2048, 2047 as 12-bit two's complement.
        let signedValues = [-3, 0, 5, -2048, 2047, -1]
        let stored = signedValues.map { $0 & 0xFFF }
        let stream = encodeJLS(stored, rows: 2, cols: 3, nf: 1, bits: 12)
        let f = try decodeWith(JPEGLSDecoder.decode, stream, expectation(2, 3, 1, 12, signed: true))
        #expect(f.bytesPerSample == 2)
        #expect(samples(f).map { Int(Int16(truncatingIfNeeded: $0)) } == signedValues)
        // Unsigned data set: the raw values.
        let u = try decodeWith(JPEGLSDecoder.decode, stream, expectation(2, 3, 1, 12))
        #expect(samples(u) == stored)
    }

    @Test func signedEightBitInSixteenAllocatedIsWidened() throws {
        let signedValues = [-128, -1, 0, 127]
        let stream = encodeJLS(signedValues.map { $0 & 0xFF }, rows: 2, cols: 2, nf: 1, bits: 8)
        let f = try decodeWith(JPEGLSDecoder.decode, stream, expectation(2, 2, 1, 8, ba: 16, signed: true))
        #expect(f.bytesPerSample == 2)
        #expect(samples(f).map { Int(Int16(truncatingIfNeeded: $0)) } == signedValues)
    }

    @Test func geometryMismatchIsMalformed() throws {
        let stream = encodeJLS([Int](repeating: 9, count: 12), rows: 3, cols: 4, nf: 1, bits: 8)
        #expect(throws: DicomError.self) { try decodeWith(JPEGLSDecoder.decode, stream, expectation(4, 3, 1, 8)) }
        #expect(throws: DicomError.self) { try decodeWith(JPEGLSDecoder.decode, stream, expectation(3, 4, 3, 8)) }
    }

    @Test func paddingAndMissingEOI() throws {
        let values = randomImage(rows: 16, cols: 16, nf: 1, bits: 8, seed: 4, smooth: true)
        let stream = encodeJLS(values, rows: 16, cols: 16, nf: 1, bits: 8)
        #expect(stream.suffix(2) == [0xFF, 0xD9])
        let e = expectation(16, 16, 1, 8)
        // Fragment padding after EOI; a stream whose EOI is missing.
        #expect(samples(try decodeWith(JPEGLSDecoder.decode, stream + [0], e)) == values)
        #expect(samples(try decodeWith(JPEGLSDecoder.decode, Array(stream.dropLast(2)), e)) == values)
    }

    // Truncated streams (CharLS alone spins for seconds on them) fail at once.
    @Test func truncatedAndCorruptStreamsThrow() throws {
        let values = randomImage(rows: 32, cols: 32, nf: 1, bits: 12, seed: 11)
        let stream = encodeJLS(values, rows: 32, cols: 32, nf: 1, bits: 12)
        let e = expectation(32, 32, 1, 12)
        for cut in [0, 1, 3, 10, 30, stream.count / 2, stream.count - 3] {
            do {
                _ = try decodeWith(JPEGLSDecoder.decode, Array(stream.prefix(cut)), e)
                Issue.record("truncation at \(cut) did not throw")
            } catch {
                #expect(error.kind == .malformed)
            }
        }
        // Not a JPEG stream at all.
        #expect(throws: DicomError.self) { try decodeWith(JPEGLSDecoder.decode, [0, 1, 2, 3, 4, 5, 6, 7], e) }
        // Byte flips anywhere must either decode (to something) or throw, never crash.
        corruptedCopies(of: stream, seed: 99, count: 200, multi: false) { s in
            if let f = try? decodeWith(JPEGLSDecoder.decode, s, e) { #expect(f.data.count == 32 * 32 * 2) }
        }
    }
}
