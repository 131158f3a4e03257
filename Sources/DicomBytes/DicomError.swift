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
        /// A documented limit of petct (decoded bytes, stream bytes) was reached.
        case limit = 10
        /// The caller's cancel flag was set (Ctrl-C).
        case cancelled = 11
        /// An allocation sized from bounded input still failed.
        case outOfMemory = 12
    }

    public var kind: Kind
    public var message: String
    /// Byte offset in the input, or -1 when not about a position.
    public var offset: Int
    /// The tag being read, as (group << 16) | element, or nil.
    public var tag: UInt32?
    /// errno of the failed system call (`.io`), 0 otherwise.
    public var osErrno: Int32 = 0
    /// Index of the failing file in the caller's list of paths, -1 when not about one of them.
    public var itemIndex: Int = -1

    public init(_ kind: Kind, _ message: String, offset: Int = -1, tag: UInt32? = nil) {
        self.kind = kind
        self.message = message
        self.offset = offset
        self.tag = tag
    }

    /// An I/O error keeping errno.
    public static func io(_ message: String, errno e: Int32) -> DicomError {
        var d = DicomError(.io, message)
        d.osErrno = e
        return d
    }

    /// This error, attributed to item `index` of a list call (the first attribution wins).
    public func at(item index: Int) -> DicomError {
        var d = self
        if d.itemIndex < 0 { d.itemIndex = index }
        return d
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
