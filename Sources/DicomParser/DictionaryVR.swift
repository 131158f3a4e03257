import DicomBytes
import DicomDictionary
import Synchronization

/// VR of a tag from the data dictionary, as a packed code, with a process-wide cache so implicit-VR
/// parsing does not build dictionary entries per element.
enum DictionaryVR {
    /// Pseudo codes for the ambiguous dictionary VRs (never valid packed letters).
    static let unknown: UInt16 = 0
    static let usOrSS: UInt16 = 1
    static let obOrOW: UInt16 = 2
    static let usOrOW: UInt16 = 3
    static let usOrSSOrOW: UInt16 = 4
    static let none: UInt16 = 5

    private static let cache = Mutex<[UInt32: UInt16]>([:])

    static func lookup(_ tag: UInt32) -> UInt16 {
        if let v = cache.withLock({ $0[tag] }) { return v }
        var code = unknown
        if let e = DataDictionary.entry(for: tag) {
            code = parse(e.vr)
        } else {
            code = builtin(tag)
        }
        cache.withLock { $0[tag] = code }
        return code
    }

    /// A few tags the reader itself depends on, used only when the dictionary does not know them.
    static func builtin(_ tag: UInt32) -> UInt16 {
        switch tag {
        case Tags.specificCharacterSet: return VRCode.CS
        case Tags.pixelData: return obOrOW
        case Tags.pixelRepresentation: return VRCode.US
        case Tags.transferSyntaxUID: return VRCode.UI
        default: return unknown
        }
    }

    static func parse(_ s: String) -> UInt16 {
        let u = Array(s.utf8)
        if u.count == 2 { return VRCode.pack(u[0], u[1]) }
        switch s {
        case "US or SS": return usOrSS
        case "OB or OW", "OW or OB": return obOrOW
        case "US or OW": return usOrOW
        case "US or SS or OW": return usOrSSOrOW
        case "NONE": return none
        default:
            // Unexpected form: take the first VR named.
            if u.count >= 2 { return VRCode.pack(u[0], u[1]) }
            return unknown
        }
    }
}
