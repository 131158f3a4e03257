import DicomBytes

/// RLE Lossless (PS3.5 Annex G).
public enum RLEDecoder {
    public static func decode(_ data: UnsafeRawBufferPointer, _ expected: FrameExpectation) throws(DicomError) -> DecodedFrame {
        throw DicomError(.unsupportedTransferSyntax, "RLE Lossless decoding not implemented yet")
    }
}
