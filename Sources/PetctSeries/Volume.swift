import DicomBytes
import DicomParser
import DicomPixels

/// One series opened for loading: sorted slice headers and geometry; pixels are read by `fill`.
public final class VolumePlan: @unchecked Sendable {
    /// Slice headers (read with stopBeforePixels), in volume order.
    public let headers: [Dataset]
    public let paths: [String]
    public let rows: Int
    public let columns: Int
    /// The JSON document described in petct.h (petct_volume_json).
    public let json: String

    init(headers: [Dataset], paths: [String], rows: Int, columns: Int, json: String) {
        self.headers = headers; self.paths = paths; self.rows = rows; self.columns = columns; self.json = json
    }

    public var sliceCount: Int { headers.count }

    public static func open(paths: [String], threads: Int) throws(DicomError) -> VolumePlan {
        throw DicomError(.internalError, "not implemented")
    }

    /// Decodes and rescales every slice into `out` (sliceCount * rows * columns floats).
    public func fill(_ out: UnsafeMutableBufferPointer<Float>) throws(DicomError) {
        throw DicomError(.internalError, "not implemented")
    }
}
