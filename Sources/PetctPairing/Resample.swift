import DicomBytes

/// A voxel grid in patient coordinates; see petct_grid in petct.h for the convention.
public struct Grid: Sendable {
    public var slices: Int, rows: Int, columns: Int
    public var origin: [Double]        // 3
    public var direction: [Double]     // 9, row-major; columns are n, c, r
    public var spacing: [Double]       // slice, row, column
    public var sliceOffsets: [Double]? // per slice along n, relative to origin
    public init(slices: Int, rows: Int, columns: Int, origin: [Double], direction: [Double], spacing: [Double],
                sliceOffsets: [Double]? = nil) {
        self.slices = slices; self.rows = rows; self.columns = columns; self.origin = origin
        self.direction = direction; self.spacing = spacing; self.sliceOffsets = sliceOffsets
    }
}

public enum ResampleMethod: Int32, Sendable { case linear = 0, area = 1 }

public enum Resampler {
    public static func resample(src: UnsafeBufferPointer<Float>, srcGrid: Grid,
                                dst: UnsafeMutableBufferPointer<Float>, dstGrid: Grid,
                                method: ResampleMethod, fill: Float,
                                mask: UnsafeMutableBufferPointer<UInt8>?, threads: Int) throws(DicomError) {
        throw DicomError(.internalError, "not implemented")
    }
}
