import DicomBytes

/// A decoded compressed frame: samples in native order, interleaved (sample-fastest), each stored
/// in `bytesPerSample` bytes (1, 2 or 4), little-endian host order.
public struct DecodedFrame: Sendable {
    public var rows: Int
    public var columns: Int
    public var samples: Int
    public var precision: Int
    public var bytesPerSample: Int
    public var data: [UInt8]
    public init(rows: Int, columns: Int, samples: Int, precision: Int, bytesPerSample: Int, data: [UInt8]) {
        self.rows = rows; self.columns = columns; self.samples = samples; self.precision = precision
        self.bytesPerSample = bytesPerSample; self.data = data
    }
}
