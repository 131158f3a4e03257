import DicomBytes

/// Options of one read; mirror the PETCT_READ_* flags.
public struct ReadOptions: Sendable {
    public var stopBeforePixels = false
    public var force = false
    public var decodeCharset = true
    public init(stopBeforePixels: Bool = false, force: Bool = false, decodeCharset: Bool = true) {
        self.stopBeforePixels = stopBeforePixels; self.force = force; self.decodeCharset = decodeCharset
    }
}

public enum DicomReader {
    /// Reads a file from disk.
    public static func read(path: String, options: ReadOptions = ReadOptions()) throws(DicomError) -> Dataset {
        throw DicomError(.internalError, "not implemented")
    }

    /// Parses an in-memory DICOM stream.
    public static func read(bytes: [UInt8], options: ReadOptions = ReadOptions()) throws(DicomError) -> Dataset {
        throw DicomError(.internalError, "not implemented")
    }
}
