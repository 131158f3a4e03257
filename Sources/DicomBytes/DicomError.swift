/// The one error type of the core. Every failure carries where it happened: the byte offset in the
/// (decompressed) input and the tag being read, so the Python layer can name file, offset and tag.
public struct DicomError: Error, CustomStringConvertible, Sendable {
    /// Mirrors PETCT_E_* in petct.h.
    public enum Kind: Int32, Sendable {
        case invalidDicom = 1
        case malformed = 2
        case unsupportedTransferSyntax = 3
        case io = 4
        case suv = 5
        case geometry = 6
        case argument = 7
        case noPixels = 8
        case internalError = 9
    }

    public var kind: Kind
    public var message: String
    /// Byte offset in the input, or -1 when not about a position.
    public var offset: Int
    /// The tag being read, as (group << 16) | element, or nil.
    public var tag: UInt32?

    public init(_ kind: Kind, _ message: String, offset: Int = -1, tag: UInt32? = nil) {
        self.kind = kind
        self.message = message
        self.offset = offset
        self.tag = tag
    }

    public static func malformed(_ message: String, offset: Int, tag: UInt32? = nil) -> DicomError {
        DicomError(.malformed, message, offset: offset, tag: tag)
    }

    public var description: String {
        var s = message
        if let tag { s += " [tag \(formatTag(tag))]" }
        if offset >= 0 { s += " [offset \(offset)]" }
        return s
    }
}

/// "(GGGG,EEEE)" with upper-case hex digits.
public func formatTag(_ tag: UInt32) -> String {
    "(" + hex4(UInt16(truncatingIfNeeded: tag >> 16)) + "," + hex4(UInt16(truncatingIfNeeded: tag)) + ")"
}

public func hex4(_ v: UInt16) -> String {
    let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]
    var s = ""
    for shift in stride(from: 12, through: 0, by: -4) {
        s.append(digits[Int((v >> UInt16(shift)) & 0xF)])
    }
    return s
}
