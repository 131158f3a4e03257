/// The transfer syntaxes the core knows by role: the one table of them (the reader, the pixel decoder,
/// the writer and, through `petct_native_transfer_syntaxes`, Python use it).
public enum TransferSyntax {
    public static let implicitVRLittleEndian = "1.2.840.10008.1.2"
    public static let explicitVRLittleEndian = "1.2.840.10008.1.2.1"
    public static let deflatedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.99"
    public static let explicitVRBigEndian = "1.2.840.10008.1.2.2"
    public static let rleLossless = "1.2.840.10008.1.2.5"

    /// The syntaxes whose pixel data is native (not encapsulated); every other one is encapsulated.
    public static let native: [String] = [
        implicitVRLittleEndian, explicitVRLittleEndian, explicitVRBigEndian,
        deflatedExplicitVRLittleEndian,
    ]

    public static func isNative(_ uid: String) -> Bool { native.contains(uid) }
}
