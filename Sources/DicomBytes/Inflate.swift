import CZlib

/// Inflates a raw deflate stream (no zlib/gzip header), as used by the Deflated Explicit VR Little
/// Endian transfer syntax. The output is capped at `maxOutput` bytes and at `maxRatio` times the input
/// size, so a crafted stream raises instead of exhausting memory.
public func inflateRaw(_ input: UnsafeRawBufferPointer, prefix: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
                       maxOutput: Int = 1 << 31, maxRatio: Int = 2000, offset: Int = 0) throws(DicomError) -> [UInt8] {
    let cap = min(maxOutput, max(1 << 20, input.count.multipliedReportingOverflow(by: maxRatio).overflow ? Int.max : input.count * maxRatio))
    var out = [UInt8]()
    out.reserveCapacity(prefix.count + min(cap, max(4096, input.count * 4)))
    out.append(contentsOf: prefix)
    var stream = z_stream()
    var rc = inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    guard rc == Z_OK else { throw DicomError(.internalError, "inflateInit2 failed (\(rc))", offset: offset) }
    defer { inflateEnd(&stream) }
    guard let inBase = input.baseAddress, input.count > 0 else {
        throw DicomError.malformed("empty deflated data set", offset: offset)
    }
    stream.next_in = UnsafeMutablePointer(mutating: inBase.assumingMemoryBound(to: UInt8.self))
    stream.avail_in = 0
    var remainingIn = input.count
    let chunk = 1 << 18
    var buffer = [UInt8](repeating: 0, count: chunk)
    var produced = 0
    while true {
        if stream.avail_in == 0 && remainingIn > 0 {
            let n = min(remainingIn, Int(UInt32.max >> 1))
            stream.avail_in = UInt32(n)
            remainingIn -= n
        }
        var have = 0
        buffer.withUnsafeMutableBufferPointer { b in
            stream.next_out = b.baseAddress
            stream.avail_out = UInt32(chunk)
            rc = inflate(&stream, Z_NO_FLUSH)
            have = chunk - Int(stream.avail_out)
        }
        if have > 0 {
            produced += have
            if produced > cap {
                throw DicomError.malformed("deflated data set inflates beyond \(cap) bytes", offset: offset)
            }
            out.append(contentsOf: buffer[0..<have])
        }
        if rc == Z_STREAM_END { break }
        if rc == Z_BUF_ERROR && stream.avail_in == 0 && remainingIn == 0 {
            // Input ended before the end of the stream: keep what was produced (pydicom's zlib.decompress
            // would raise; a truncated deflated file is malformed).
            throw DicomError.malformed("deflated data set is truncated", offset: offset + input.count)
        }
        if rc != Z_OK && rc != Z_BUF_ERROR {
            throw DicomError.malformed("invalid deflate data (zlib \(rc))", offset: offset + (input.count - remainingIn - Int(stream.avail_in)))
        }
    }
    return out
}
