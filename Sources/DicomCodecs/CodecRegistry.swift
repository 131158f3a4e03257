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

/// Decodes one compressed frame (all fragments of the frame concatenated).
public typealias FrameDecoder = @Sendable (UnsafeRawBufferPointer, FrameExpectation) throws(DicomError) -> DecodedFrame

/// What the data set says the frame should be; decoders check their stream against it.
public struct FrameExpectation: Sendable {
    public var rows: Int, columns: Int, samples: Int, bitsAllocated: Int, bitsStored: Int
    public var pixelRepresentation: Int
    public init(rows: Int, columns: Int, samples: Int, bitsAllocated: Int, bitsStored: Int, pixelRepresentation: Int) {
        self.rows = rows; self.columns = columns; self.samples = samples; self.bitsAllocated = bitsAllocated
        self.bitsStored = bitsStored; self.pixelRepresentation = pixelRepresentation
    }
}

/// Transfer syntax UID -> frame decoder. Encapsulated syntaxes without an entry are unsupported and
/// raise DicomError(.unsupportedTransferSyntax) naming the syntax.
public enum CodecRegistry {
    public static func decoder(for transferSyntax: String) -> FrameDecoder? {
        switch transferSyntax {
        case "1.2.840.10008.1.2.5": return RLEDecoder.decode
        case "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51": return JPEGBaselineDecoder.decode
        case "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70": return JPEGLosslessDecoder.decode
        case "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81":
            return CodecLibraries.guarded(.charls, transferSyntax, JPEGLSDecoder.decode)
        case "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201",
            "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203":
            return CodecLibraries.guarded(.openjpeg, transferSyntax, JPEG2000Decoder.decode)
        default: return nil
        }
    }

    /// Human-readable names of encapsulated transfer syntaxes, for error messages.
    public static func name(of transferSyntax: String) -> String {
        switch transferSyntax {
        case "1.2.840.10008.1.2.5": return "RLE Lossless"
        case "1.2.840.10008.1.2.4.50": return "JPEG Baseline (Process 1)"
        case "1.2.840.10008.1.2.4.51": return "JPEG Extended (Process 2 & 4)"
        case "1.2.840.10008.1.2.4.57": return "JPEG Lossless, Non-Hierarchical (Process 14)"
        case "1.2.840.10008.1.2.4.70":
            return "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [SV1])"
        case "1.2.840.10008.1.2.4.80": return "JPEG-LS Lossless"
        case "1.2.840.10008.1.2.4.81": return "JPEG-LS Near-Lossless"
        case "1.2.840.10008.1.2.4.90": return "JPEG 2000 Image Compression (Lossless Only)"
        case "1.2.840.10008.1.2.4.91": return "JPEG 2000 Image Compression"
        case "1.2.840.10008.1.2.4.201": return "High-Throughput JPEG 2000 (Lossless Only)"
        case "1.2.840.10008.1.2.4.202": return "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)"
        case "1.2.840.10008.1.2.4.203": return "High-Throughput JPEG 2000"
        default: return "transfer syntax " + transferSyntax
        }
    }
}
