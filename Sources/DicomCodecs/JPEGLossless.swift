import DicomBytes

/// JPEG Lossless, Non-Hierarchical (Process 14), including the SV1 first-order prediction variant.
public enum JPEGLosslessDecoder {
    public static func decode(_ data: UnsafeRawBufferPointer, _ expected: FrameExpectation) throws(DicomError) -> DecodedFrame {
        throw DicomError(.unsupportedTransferSyntax, "JPEG Lossless decoding not implemented yet")
    }
}
