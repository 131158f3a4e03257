import DicomBytes
import PetctTestSupport
import Testing

@testable import DicomCodecs

private func decode(_ data: [UInt8], _ e: FrameExpectation) throws(DicomError) -> DecodedFrame {
    try decodeWith(RLEDecoder.decode, data, e)
}

private func error(_ data: [UInt8], _ e: FrameExpectation) -> DicomError? {
    decodeError(RLEDecoder.decode, data, e)
}

@Test func packBitsRunsLiteralsAndNoOp() {
    // literal 3 bytes, no-op, run of 4 x 9, literal 1 byte
    let seg: [UInt8] = [2, 1, 2, 3, 0x80, 0xFD, 9, 0, 7]
    var out = [UInt8](repeating: 0, count: 8)
    let n = seg.withUnsafeBytes { s in
        out.withUnsafeMutableBytes { RLEDecoder.unpackBits(s, into: $0.baseAddress!, count: 8, stride: 1) }
    }
    #expect(n == 8)
    #expect(out == [1, 2, 3, 9, 9, 9, 9, 7])
    // Strided output and a run longer than what is left.
    var strided = [UInt8](repeating: 0, count: 6)
    let m = [UInt8]([0x81, 5]).withUnsafeBytes { s in
        strided.withUnsafeMutableBytes { RLEDecoder.unpackBits(s, into: $0.baseAddress! + 1, count: 3, stride: 2) }
    }
    #expect(m == 3)
    #expect(strided == [0, 5, 0, 5, 0, 5])
}

@Test func rle8BitOneSample() throws {
    let values: [UInt64] = (0..<300).map { UInt64($0 < 150 ? 7 : $0 % 256) }
    let f = try decode(rleFrame(values, samples: 1, bytes: 1), expectation(15, 20, 1, 8))
    #expect(f.rows == 15 && f.columns == 20 && f.samples == 1 && f.bytesPerSample == 1)
    #expect(f.data == values.map { UInt8($0) })
}

@Test func rle16BitIsLittleEndianInterleaved() throws {
    let values: [UInt64] = [0x0102, 0xFFFE, 0x8000, 0x00FF]
    let f = try decode(rleFrame(values, samples: 1, bytes: 2), expectation(2, 2, 1, 16))
    #expect(f.bytesPerSample == 2)
    #expect(f.data == [0x02, 0x01, 0xFE, 0xFF, 0x00, 0x80, 0xFF, 0x00])
}

@Test func rleThreeSamplesInterleaved() throws {
    let values: [UInt64] = [10, 20, 30, 11, 21, 31, 12, 22, 32, 13, 23, 33]
    let f = try decode(rleFrame(values, samples: 3, bytes: 1), expectation(2, 2, 3, 8))
    #expect(f.data == values.map { UInt8($0) })
    // 16-bit RGB: 6 segments.
    let wide: [UInt64] = [0x1234, 0x5678, 0x9ABC, 1, 2, 3]
    let g = try decode(rleFrame(wide, samples: 3, bytes: 2), expectation(1, 2, 3, 16))
    #expect(g.data == [0x34, 0x12, 0x78, 0x56, 0xBC, 0x9A, 1, 0, 2, 0, 3, 0])
}

@Test func rleExcessDecodedBytesAreIgnored() throws {
    // Segment decodes to 6 bytes for a 2x2 frame: pydicom keeps the first 4.
    var data = le32([1, 64] + [UInt32](repeating: 0, count: 14))
    data += [5, 1, 2, 3, 4, 5, 6]
    let f = try decode(data, expectation(2, 2, 1, 8))
    #expect(f.data == [1, 2, 3, 4])
}

@Test func rleMalformedStreamsThrow() {
    let e = expectation(2, 2, 1, 8)
    let good = rleFrame([1, 2, 3, 4], samples: 1, bytes: 1)
    // Header too short.
    #expect(error(Array(good[0..<40]), e)?.kind == .malformed)
    // Wrong segment count.
    #expect(error(rleFrame([1, 2, 3, 4], samples: 1, bytes: 1), expectation(2, 2, 1, 16))?.kind == .malformed)
    // Too many segments.
    var many = good
    many[0] = 16
    #expect(error(many, e)?.kind == .malformed)
    // Segment offset beyond the data: decodes nothing, never reads out of bounds.
    var far = good
    far[4] = 0xFF; far[5] = 0xFF; far[6] = 0xFF; far[7] = 0x7F
    #expect(error(far, e)?.kind == .malformed)
    // Truncated segment.
    #expect(error(Array(good[0..<(good.count - 2)]), e)?.kind == .malformed)
    // Literal run cut by the end of the data.
    var cut = le32([1, 64] + [UInt32](repeating: 0, count: 14))
    cut += [100, 1, 2]
    #expect(error(cut, e)?.kind == .malformed)
    // Bits allocated that RLE cannot hold.
    #expect(error(good, expectation(2, 2, 1, 12, ba: 12))?.kind == .malformed)
}
