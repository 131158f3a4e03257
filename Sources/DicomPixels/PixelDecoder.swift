import DicomBytes
import DicomParser

/// Layout of a data set's pixel_array, as pydicom shapes it.
public struct PixelInfo: Sendable {
    public var frames = 1, rows = 0, columns = 0, samples = 1
    public var bitsAllocated = 0, bitsStored = 0, pixelRepresentation = 0, planarConfiguration = 0
    /// NumPy dtype kind of pixel_array: "u", "i" or "f".
    public var dtypeKind: UInt8 = UInt8(ascii: "u")
    public var itemsize = 1
    public var shape: [Int] = []
    public var nbytes = 0
    public var photometric = ""
    public var transferSyntax = ""
    public init() {}
}

public enum PixelDecoder {
    public static func info(_ ds: Dataset) throws(DicomError) -> PixelInfo {
        throw DicomError(.internalError, "not implemented")
    }
    public static func decode(_ ds: Dataset, into out: UnsafeMutableRawBufferPointer) throws(DicomError) {
        throw DicomError(.internalError, "not implemented")
    }
    public static func decodeRescaled(_ ds: Dataset, into out: UnsafeMutableBufferPointer<Float>) throws(DicomError) {
        throw DicomError(.internalError, "not implemented")
    }
}
