import CCodecTestEncoders
import DicomBytes
import Testing

@testable import DicomCodecs

// Shared by the codec tests: frame expectations, decoding a stream, samples of a decoded frame, and the
// streams the libraries' own encoders return.

/// What the data set says of a frame: `nf` samples of `p` bits stored, in `ba` bits allocated (8 or 16
/// by default).
func expectation(_ rows: Int, _ cols: Int, _ nf: Int, _ p: Int, ba: Int? = nil, signed: Bool = false)
    -> FrameExpectation
{
    FrameExpectation(
        rows: rows, columns: cols, samples: nf, bitsAllocated: ba ?? (p <= 8 ? 8 : 16), bitsStored: p,
        pixelRepresentation: signed ? 1 : 0)
}

func decodeLossless(_ stream: [UInt8], _ e: FrameExpectation) throws(DicomError) -> DecodedFrame {
    try decodeWith(JPEGLosslessDecoder.decode, stream, e)
}

func decodeWith(_ dec: FrameDecoder, _ stream: [UInt8], _ e: FrameExpectation) throws(DicomError) -> DecodedFrame {
    let r = stream.withUnsafeBytes { b in Result { () throws(DicomError) in try dec(b, e) } }
    return try r.get()
}

/// The error `dec` throws for `stream`, nil when it decodes.
func decodeError(_ dec: FrameDecoder, _ stream: [UInt8], _ e: FrameExpectation) -> DicomError? {
    do {
        _ = try decodeWith(dec, stream, e)
        return nil
    } catch {
        return error
    }
}

/// Samples of a decoded frame as Ints.
func samples(_ f: DecodedFrame) -> [Int] {
    if f.bytesPerSample == 1 { return f.data.map { Int($0) } }
    return (0..<(f.data.count / 2)).map { Int(f.data[2 * $0]) | Int(f.data[2 * $0 + 1]) << 8 }
}

/// The bytes of a stream a CCodecTestEncoders encoder returned (`p`, `size` bytes), which it frees.
func takeEncoded(_ p: UnsafeMutablePointer<UInt8>, _ size: Int) -> [UInt8] {
    defer { test_encoded_free(p) }
    return Array(UnsafeBufferPointer(start: p, count: size))
}

/// Every truncation of `stream` short of its last two bytes (the EOI may be missing) fails as
/// `.malformed` at an offset inside the bytes given (`failure`: the error of decoding, nil on success).
func expectEveryTruncationThrows(_ stream: [UInt8], _ failure: ([UInt8]) -> DicomError?) {
    for n in 0..<(stream.count - 2) {
        let err = failure(Array(stream[0..<n]))
        #expect(err?.kind == .malformed, "cut at \(n)")
        if let err { #expect(err.offset >= 0 && err.offset <= n, "offset \(err.offset) for cut at \(n)") }
    }
}

/// Calls `body` with `count` corrupted copies of `stream` (seeded): with `multi`, 1 to 3 bytes each set to
/// any value; otherwise one byte each.
func corruptedCopies(of stream: [UInt8], seed: UInt64, count: Int, multi: Bool, _ body: ([UInt8]) -> Void) {
    var rng = SplitMix64(seed)
    for _ in 0..<count {
        var c = stream
        if multi {
            for _ in 0..<(1 + rng.below(3)) { c[rng.below(c.count)] = UInt8(truncatingIfNeeded: rng.next()) }
        } else {
            let k = rng.below(c.count)
            c[k] = UInt8(truncatingIfNeeded: rng.below(256))
        }
        body(c)
    }
}
