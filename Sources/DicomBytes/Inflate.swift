import CZlib

/// Inflates a raw deflate stream (no zlib/gzip header), as used by the Deflated Explicit VR Little
/// Endian transfer syntax. The output is capped by the decode limit (`Limits.decodedAllowance` of the
/// input size), so a crafted stream raises a `.limit` error instead of exhausting memory; the output
/// grows geometrically and each growth is probed first, so a failed allocation is an error, not a trap.
public func inflateRaw(
    _ input: UnsafeRawBufferPointer, prefix: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
    maxOutput: Int? = nil, maxRatio: Int? = nil, offset: Int = 0
) throws(DicomError) -> [UInt8] {
    var cap = Limits.decodedAllowance(compressed: input.count)
    if let maxRatio {
        let (r, o) = input.count.multipliedReportingOverflow(by: maxRatio)
        cap = max(1 << 20, o ? Int.max : r)
    }
    if let maxOutput { cap = min(cap, maxOutput) }
    var out = [UInt8]()
    let first = prefix.count + min(cap, max(4096, input.count * 4))
    try Limits.probeAllocation(first, what: "the inflated data set", offset: offset)
    out.reserveCapacity(first)
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
                try Limits.checkDecoded(
                    produced, compressed: input.count, what: "the deflated data set", offset: offset)
                throw DicomError(.limit, "deflated data set inflates beyond \(cap) bytes", offset: offset)
            }
            if out.count + have > out.capacity {
                let grown = max(out.count + have, min(out.capacity * 2, prefix.count + cap))
                try Limits.probeAllocation(grown * 2, what: "the inflated data set", offset: offset)
                out.reserveCapacity(grown)
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
            throw DicomError.malformed(
                "invalid deflate data (zlib \(rc))", offset: offset + (input.count - remainingIn - Int(stream.avail_in))
            )
        }
    }
    return out
}
