import DicomBytes

/// RLE Lossless (PS3.5 Annex G).
///
/// A frame is a 64-byte header (segment count, then up to 15 little-endian segment offsets from the
/// start of the frame) followed by PackBits-compressed segments. Each segment holds one byte plane:
/// for every sample, the most significant byte comes first. The decoded frame is interleaved
/// (sample-fastest) with each sample little-endian, whatever the data set's planar configuration
/// says (pydicom ignores it for RLE as well).
public enum RLEDecoder {
    public static func decode(_ data: UnsafeRawBufferPointer, _ expected: FrameExpectation) throws(DicomError)
        -> DecodedFrame
    {
        let bitsAllocated = expected.bitsAllocated
        guard bitsAllocated >= 8, bitsAllocated <= 64, bitsAllocated % 8 == 0 else {
            throw DicomError(.malformed, "RLE Lossless cannot hold pixel data with \(bitsAllocated) bits allocated")
        }
        guard expected.rows > 0, expected.columns > 0, expected.samples > 0 else {
            throw DicomError(
                .malformed, "RLE Lossless frame has an empty size (\(expected.rows) x \(expected.columns))")
        }
        let bytesPerSample = bitsAllocated / 8
        let (pixels, o1) = expected.rows.multipliedReportingOverflow(by: expected.columns)
        let (perPixel, o2) = expected.samples.multipliedReportingOverflow(by: bytesPerSample)
        let (total, o3) = pixels.multipliedReportingOverflow(by: perPixel)
        guard !o1, !o2, !o3, total <= 1 << 34 else {
            throw DicomError(.malformed, "RLE Lossless frame size is too large")
        }
        // Each PackBits byte pair yields at most 128 bytes: a frame larger than that is malformed.
        guard total <= data.count.multipliedReportingOverflow(by: 128).partialValue else {
            throw DicomError.malformed("RLE frame of \(data.count) bytes cannot decode to \(total) bytes", offset: 0)
        }
        try Limits.probeAllocation(total, what: "the RLE frame")
        var out = [UInt8](repeating: 0, count: total)
        let result: Result<Void, DicomError> = out.withUnsafeMutableBytes { dst in
            do throws(DicomError) {
                try decode(data, into: dst, pixels: pixels, samples: expected.samples, bytesPerSample: bytesPerSample)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
        return DecodedFrame(
            rows: expected.rows, columns: expected.columns, samples: expected.samples,
            precision: expected.bitsStored, bytesPerSample: bytesPerSample, data: out)
    }

    /// Decodes one RLE frame straight into `dst` (pixels * samples * bytesPerSample bytes,
    /// interleaved, little-endian samples).
    public static func decode(
        _ data: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer,
        pixels: Int, samples: Int, bytesPerSample: Int
    ) throws(DicomError) {
        let stride = samples * bytesPerSample
        guard pixels > 0, stride > 0, dst.baseAddress != nil, dst.count >= pixels * stride else {
            throw DicomError(.argument, "RLE output buffer too small")
        }
        guard data.count >= 64 else {
            throw DicomError.malformed("RLE frame is \(data.count) bytes, shorter than its 64-byte header", offset: 0)
        }
        let segmentCount = Int(readLE32(data, 0))
        guard segmentCount <= 15 else {
            throw DicomError.malformed("RLE header gives \(segmentCount) segments (at most 15 allowed)", offset: 0)
        }
        guard segmentCount == stride else {
            throw DicomError.malformed(
                "RLE frame has \(segmentCount) segments, expected \(stride) "
                    + "(\(samples) samples x \(bytesPerSample) bytes)", offset: 0)
        }
        if samples == 1 && bytesPerSample == 2 {
            // The common 16-bit case: decode both byte planes contiguously (literal runs become
            // block copies), then combine them in one vectorisable pass.
            let planes = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 * pixels)
            defer { planes.deallocate() }
            for segment in 0..<2 {
                let (s, e) = segmentRange(data, segment, segmentCount)
                let produced = unpackBits(
                    UnsafeRawBufferPointer(rebasing: data[s..<e]), into: planes + segment * pixels,
                    count: pixels, stride: 1)
                if produced < pixels {
                    throw DicomError.malformed(
                        "RLE segment \(segment + 1) decodes to \(produced) bytes, expected \(pixels)",
                        offset: s)
                }
            }
            let hi = planes, lo = planes + pixels
            let out = dst.baseAddress!.assumingMemoryBound(to: UInt16.self)
            for i in 0..<pixels { out[i] = (UInt16(hi[i]) << 8 | UInt16(lo[i])).littleEndian }
            return
        }
        for segment in 0..<segmentCount {
            let (s, e) = segmentRange(data, segment, segmentCount)
            let sample = segment / bytesPerSample
            let byteInSample = bytesPerSample - 1 - segment % bytesPerSample  // segments are MSB first
            let produced = unpackBits(
                UnsafeRawBufferPointer(rebasing: data[s..<e]),
                into: dst.baseAddress! + (sample * bytesPerSample + byteInSample),
                count: pixels, stride: stride)
            if produced < pixels {
                throw DicomError.malformed(
                    "RLE segment \(segment + 1) decodes to \(produced) bytes, expected \(pixels)",
                    offset: s)
            }
        }
    }

    /// Byte range of a segment: from its offset to the next one (the last runs to the end), clamped
    /// to the data; an offset past the data or before its start gives an empty range.
    @inline(__always)
    static func segmentRange(_ data: UnsafeRawBufferPointer, _ segment: Int, _ count: Int) -> (Int, Int) {
        let start = Int(readLE32(data, 4 + 4 * segment))
        let end = segment + 1 < count ? Int(readLE32(data, 8 + 4 * segment)) : data.count
        let s = min(start, data.count)
        return (s, max(s, min(end, data.count)))
    }

    /// PackBits: header n in 0...127 copies n+1 literal bytes, 129...255 repeats the next byte
    /// 257-n times, 128 is a no-op. Writes at most `count` bytes, `stride` apart; returns how many
    /// were written. A run cut short by the end of the segment yields what is there.
    @inline(__always)
    static func unpackBits(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawPointer, count: Int, stride: Int)
        -> Int
    {
        guard let base = src.baseAddress, src.count > 0 else { return 0 }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        let n = src.count
        var pos = 0
        var written = 0
        let out = dst.assumingMemoryBound(to: UInt8.self)
        while pos < n && written < count {
            let header = Int(bytes[pos])
            pos += 1
            if header < 128 {
                let len = min(header + 1, n - pos, count - written)
                if stride == 1 {
                    (out + written).update(from: bytes + pos, count: len)
                } else {
                    var d = out + written * stride
                    for i in 0..<len { d.pointee = bytes[pos + i]; d += stride }
                }
                written += len
                pos += header + 1
            } else if header > 128 {
                guard pos < n else { break }
                let value = bytes[pos]
                pos += 1
                let len = min(257 - header, count - written)
                if stride == 1 {
                    (out + written).update(repeating: value, count: len)
                } else {
                    var d = out + written * stride
                    for _ in 0..<len { d.pointee = value; d += stride }
                }
                written += len
            }
        }
        return written
    }

    @inline(__always)
    static func readLE32(_ data: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: data.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}
