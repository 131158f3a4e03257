/// Decoding of text values under Specific Character Set (0008,0005).
public struct CharacterSetDecoder: Sendable {
    /// - Parameter specificCharacterSet: the values of (0008,0005) (empty = default repertoire).
    public init(specificCharacterSet: [String]) {
        terms = specificCharacterSet
    }
    let terms: [String]

    /// True when every term is supported, so `decode` never returns nil.
    public var isSupported: Bool { terms.allSatisfy { $0.isEmpty || $0 == "ISO_IR 6" || $0 == "ISO_IR 100" || $0 == "ISO_IR 192" } }

    /// Decodes one text value (or a whole multi-valued text) of VR `vr` (two ASCII letters as in
    /// Element.vr). Returns nil when the bytes cannot be decoded with the declared sets; the caller
    /// then keeps the raw bytes.
    public func decode(_ bytes: UnsafeRawBufferPointer, vr: UInt16) -> String? {
        if terms.contains("ISO_IR 100") {
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
