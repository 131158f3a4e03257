import DicomBytes
import DicomParser
// TestValue and makeDataset (data sets without a reader) come from PetctTestSupport.
@_exported import PetctTestSupport

@testable import DicomPixels

/// Image pixel module entries.
func imagePixel(
    rows: Int, columns: Int, bitsAllocated: Int, bitsStored: Int? = nil, signed: Bool = false,
    samples: Int = 1, planar: Int? = nil, frames: Int? = nil,
    photometric: String? = nil
) -> [(UInt32, TestValue)] {
    var e: [(UInt32, TestValue)] = [
        (0x0028_0002, .int([Int64(samples)])),
        (0x0028_0004, .text(photometric ?? (samples == 3 ? "RGB" : "MONOCHROME2"))),
        (0x0028_0010, .int([Int64(rows)])),
        (0x0028_0011, .int([Int64(columns)])),
        (0x0028_0100, .int([Int64(bitsAllocated)])),
        (0x0028_0101, .int([Int64(bitsStored ?? bitsAllocated)])),
        (0x0028_0102, .int([Int64((bitsStored ?? bitsAllocated) - 1)])),
        (0x0028_0103, .int([signed ? 1 : 0])),
    ]
    if let frames { e.append((0x0028_0008, .int([Int64(frames)]))) }
    if let p = planar ?? (samples == 3 ? 0 : nil) { e.append((0x0028_0006, .int([Int64(p)]))) }
    return e
}

struct DecodeError: Error { let error: DicomError }

/// Decodes pixel_array into typed values.
func decodeArray<T>(_ ds: Dataset, as: T.Type) throws -> (PixelInfo, [T]) {
    let info = try PixelDecoder.info(ds)
    precondition(info.itemsize == MemoryLayout<T>.size, "itemsize \(info.itemsize) vs \(MemoryLayout<T>.size)")
    var raw = [UInt8](repeating: 0x5A, count: info.nbytes)
    try raw.withUnsafeMutableBytes { (buf: UnsafeMutableRawBufferPointer) throws in
        try PixelDecoder.decode(ds, into: buf)
    }
    let values = raw.withUnsafeBytes { buf in
        (0..<(info.nbytes / info.itemsize)).map { buf.loadUnaligned(fromByteOffset: $0 * info.itemsize, as: T.self) }
    }
    return (info, values)
}

func decodeFloats(_ ds: Dataset) throws -> [Float] {
    let info = try PixelDecoder.info(ds)
    var out = [Float](repeating: .nan, count: info.nbytes / info.itemsize)
    try out.withUnsafeMutableBufferPointer { (buf: inout UnsafeMutableBufferPointer<Float>) throws in
        try PixelDecoder.decodeRescaled(ds, into: buf)
    }
    return out
}

/// The DicomError thrown by `body`, or nil.
func dicomError(_ body: () throws -> Void) -> DicomError? {
    do { try body() } catch let e as DicomError { return e } catch { return nil }
    return nil
}

// MARK: RLE / encapsulation writers for tests

/// PackBits: runs of 2+ equal bytes as replicate runs, everything else as literals (<= 128 bytes).
func packBits(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var i = 0
    var literal: [UInt8] = []
    func flush() {
        var k = 0
        while k < literal.count {
            let n = min(128, literal.count - k)
            out.append(UInt8(n - 1))
            out.append(contentsOf: literal[k..<(k + n)])
            k += n
        }
        literal.removeAll()
    }
    while i < data.count {
        var run = 1
        while i + run < data.count && data[i + run] == data[i] && run < 128 { run += 1 }
        if run >= 2 {
            flush()
            out.append(UInt8(257 - run))
            out.append(data[i])
            i += run
        } else {
            literal.append(data[i])
            i += 1
        }
    }
    flush()
    return out
}

/// One RLE frame from interleaved values, each sample `bytes` wide.
func rleFrame(_ values: [UInt64], samples: Int, bytes: Int) -> [UInt8] {
    let pixels = values.count / samples
    var segments: [[UInt8]] = []
    for s in 0..<samples {
        for b in stride(from: bytes - 1, through: 0, by: -1) {
            let plane = (0..<pixels).map { UInt8((values[$0 * samples + s] >> (8 * UInt64(b))) & 0xFF) }
            var seg = packBits(plane)
            if seg.count % 2 == 1 { seg.append(0x80) }  // no-op header as padding
            segments.append(seg)
        }
    }
    var header = [UInt32](repeating: 0, count: 16)
    header[0] = UInt32(segments.count)
    var offset = 64
    for (k, s) in segments.enumerated() { header[k + 1] = UInt32(offset); offset += s.count }
    return le32(header) + segments.flatMap { $0 }
}

/// Encapsulated value: Basic Offset Table (optionally filled) + fragment items + sequence delimiter.
func encapsulate(_ frames: [[[UInt8]]], basicOffsets: Bool, delimiter: Bool = true) -> [UInt8] {
    var items: [UInt8] = []
    var offsets: [UInt32] = []
    for frame in frames {
        offsets.append(UInt32(items.count))
        for fragment in frame {
            var f = fragment
            if f.count % 2 == 1 { f.append(0) }
            items += le16([0xFFFE, 0xE000]) + le32([UInt32(f.count)]) + f
        }
    }
    let bot = basicOffsets ? le32(offsets) : []
    var out = le16([0xFFFE, 0xE000]) + le32([UInt32(bot.count)]) + bot + items
    if delimiter { out += le16([0xFFFE, 0xE0DD]) + le32([0]) }
    return out
}
