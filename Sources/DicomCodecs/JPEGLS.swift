import CCharLS
import DicomBytes

/// JPEG-LS Lossless and Near-Lossless (ITU-T T.87; transfer syntaxes 1.2.840.10008.1.2.4.80 and .81),
/// decoded with CharLS (system library, Debian package libcharls-dev).
///
/// Output: interleaved samples (whatever the stream's interleave mode), little-endian, 1 byte per
/// sample for precision <= 8, else 2. Colour transforms (HP1-HP3) are undone by CharLS.
///
/// Sign: JPEG-LS has no signed samples. With Pixel Representation 1 the values are sign-extended
/// from the stream's precision, as pydicom 3 does for JPEG-LS; in that case, when Bits Allocated asks
/// for a wider container (e.g. precision 8 in 16 bits allocated) the samples are written in that
/// wider container so the sign survives the pixel layer's zero-extending copy.
public enum JPEGLSDecoder {
    public static func decode(_ data: UnsafeRawBufferPointer, _ expected: FrameExpectation) throws(DicomError)
        -> DecodedFrame
    {
        guard data.count >= 4 else {
            throw .malformed("JPEG-LS: stream too short (\(data.count) bytes)", offset: 0)
        }
        if data[0] != 0xFF || data[1] != 0xD8 {
            throw .malformed("JPEG-LS: missing SOI marker", offset: 0)
        }
        // CharLS 2.4 reads zero bits past the end of a stream that stops without a marker, and its
        // Golomb decoder then spins for ~2^31 iterations (seconds) before failing. A stream that does
        // not end with EOI (after fragment padding) is therefore decoded from a copy with EOI appended:
        // a truncated stream fails at once and a complete one without EOI still decodes.
        var end = data.count
        while end > 2 && data[end - 1] == 0 { end -= 1 }
        if data[end - 2] != 0xFF || data[end - 1] != 0xD9 {
            var copy = [UInt8](data)
            copy.append(0xFF)
            copy.append(0xD9)
            return try withBytes(copy) { (b: UnsafeRawBufferPointer) throws(DicomError) -> DecodedFrame in
                try decodeTerminated(b, expected)
            }
        }
        return try decodeTerminated(data, expected)
    }

    /// Typed-throws wrapper of `withUnsafeBytes`.
    private static func withBytes<R>(_ a: [UInt8], _ body: (UnsafeRawBufferPointer) throws(DicomError) -> R)
        throws(DicomError) -> R
    {
        let r = a.withUnsafeBytes { b in Result { () throws(DicomError) -> R in try body(b) } }
        return try r.get()
    }

    /// Decodes a stream that ends with an EOI marker.
    private static func decodeTerminated(_ data: UnsafeRawBufferPointer, _ expected: FrameExpectation)
        throws(DicomError) -> DecodedFrame
    {
        guard let base = data.baseAddress else {
            throw .malformed("JPEG-LS: empty stream", offset: 0)
        }
        guard let decoder = charls_jpegls_decoder_create() else {
            throw DicomError(.internalError, "JPEG-LS: cannot create a CharLS decoder")
        }
        defer { charls_jpegls_decoder_destroy(decoder) }

        try check(charls_jpegls_decoder_set_source_buffer(decoder, base, data.count), "reading the stream")
        try check(charls_jpegls_decoder_read_header(decoder), "reading the header")
        var info = charls_frame_info()
        try check(charls_jpegls_decoder_get_frame_info(decoder, &info), "reading the frame header")
        let rows = Int(info.height), columns = Int(info.width), samples = Int(info.component_count)
        let precision = Int(info.bits_per_sample)
        if rows != expected.rows || columns != expected.columns || samples != expected.samples {
            throw .malformed(
                "JPEG-LS: frame is \(rows)x\(columns)x\(samples) but the data set says "
                    + "\(expected.rows)x\(expected.columns)x\(expected.samples)", offset: 0)
        }
        guard precision >= 2 && precision <= 16 else {
            throw .malformed("JPEG-LS: sample precision \(precision) out of range 2-16", offset: 0)
        }
        var mode = CHARLS_INTERLEAVE_MODE_NONE
        try check(charls_jpegls_decoder_get_interleave_mode(decoder, &mode), "reading the interleave mode")

        let bytes = precision <= 8 ? 1 : 2
        let signed = expected.pixelRepresentation == 1
        var outBytes = bytes
        if signed {
            let container = expected.bitsAllocated / 8
            if (container == 2 || container == 4) && container > bytes { outBytes = container }
        }
        let pixels = rows * columns  // both <= 65535: no overflow
        let (count, o1) = pixels.multipliedReportingOverflow(by: samples)
        let (size, o2) = count.multipliedReportingOverflow(by: bytes)
        let (outSize, o3) = count.multipliedReportingOverflow(by: outBytes)
        guard !o1 && !o2 && !o3 else {
            throw .malformed("JPEG-LS: frame of \(rows)x\(columns)x\(samples) is too large", offset: 0)
        }
        var needed = 0
        try check(charls_jpegls_decoder_get_destination_size(decoder, 0, &needed), "sizing the output")
        guard needed == size else {
            throw DicomError(.internalError, "JPEG-LS: CharLS needs \(needed) output bytes, expected \(size)")
        }

        let planar = mode == CHARLS_INTERLEAVE_MODE_NONE && samples > 1
        var error: DicomError? = nil
        try Limits.probeAllocation(outSize + (outBytes == bytes && !planar ? 0 : size), what: "the JPEG-LS frame")
        let out = [UInt8](unsafeUninitializedCapacity: outSize) { buf, initialized in
            guard let dst = buf.baseAddress else { initialized = 0; return }
            if !planar && outBytes == bytes {
                // Straight into the output.
                let rc = charls_jpegls_decoder_decode_to_buffer(decoder, dst, size, 0)
                if let e = failure(rc, "decoding") { error = e; initialized = 0; return }
            } else {
                let tmp = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 16)
                defer { tmp.deallocate() }
                let rc = charls_jpegls_decoder_decode_to_buffer(decoder, tmp, size, 0)
                if let e = failure(rc, "decoding") { error = e; initialized = 0; return }
                // Planar (one component after the other) -> interleaved, and/or widen.
                let raw = UnsafeMutableRawPointer(dst)
                for s in 0..<samples {
                    for p in 0..<pixels {
                        let j = planar ? s * pixels + p : p * samples + s
                        let v: UInt32 =
                            bytes == 1
                            ? UInt32(tmp.load(fromByteOffset: j, as: UInt8.self))
                            : UInt32(UInt16(littleEndian: tmp.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self)))
                        let i = p * samples + s
                        switch outBytes {
                        case 1: raw.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: i, as: UInt8.self)
                        case 2:
                            raw.storeBytes(
                                of: UInt16(truncatingIfNeeded: v).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                        default: raw.storeBytes(of: v.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                        }
                    }
                }
            }
            if signed && precision < outBytes * 8 {
                signExtend(UnsafeMutableRawPointer(dst), count: count, bytes: outBytes, precision: precision)
            }
            initialized = outSize
        }
        if let error { throw error }
        return DecodedFrame(
            rows: rows, columns: columns, samples: samples, precision: precision,
            bytesPerSample: outBytes, data: out)
    }

    /// Sign-extends `count` little-endian samples of `bytes` bytes from bit `precision - 1`.
    static func signExtend(_ p: UnsafeMutableRawPointer, count: Int, bytes: Int, precision: Int) {
        switch bytes {
        case 1:
            let q = p.assumingMemoryBound(to: Int8.self), s = Int8(8 - precision)
            for i in 0..<count { q[i] = (q[i] << s) >> s }
        case 2:
            let q = p.assumingMemoryBound(to: Int16.self), s = Int16(16 - precision)
            for i in 0..<count { q[i] = Int16(littleEndian: (Int16(littleEndian: q[i]) << s) >> s) }
        default:
            let q = p.assumingMemoryBound(to: Int32.self), s = Int32(32 - precision)
            for i in 0..<count { q[i] = Int32(littleEndian: (Int32(littleEndian: q[i]) << s) >> s) }
        }
    }

    private static func failure(_ rc: charls_jpegls_errc, _ what: String) -> DicomError? {
        if rc == CHARLS_JPEGLS_ERRC_SUCCESS { return nil }
        var message = "JPEG-LS: error \(rc.rawValue) while \(what)"
        if let m = charls_get_error_message(rc) { message += ": " + String(cString: m) }
        return .malformed(message, offset: 0)
    }

    private static func check(_ rc: charls_jpegls_errc, _ what: String) throws(DicomError) {
        if let e = failure(rc, what) { throw e }
    }
}
