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
