/// Value representation helpers on the packed two-letter form (first letter in the low byte).
public enum VRCode {
    @inlinable public static func pack(_ a: UInt8, _ b: UInt8) -> UInt16 { UInt16(a) | (UInt16(b) << 8) }

    @inlinable public static var AE: UInt16 { 0x4541 }
    @inlinable public static var AS: UInt16 { 0x5341 }
    @inlinable public static var AT: UInt16 { 0x5441 }
    @inlinable public static var CS: UInt16 { 0x5343 }
    @inlinable public static var DA: UInt16 { 0x4144 }
    @inlinable public static var DS: UInt16 { 0x5344 }
    @inlinable public static var DT: UInt16 { 0x5444 }
    @inlinable public static var FD: UInt16 { 0x4446 }
    @inlinable public static var FL: UInt16 { 0x4C46 }
    @inlinable public static var IS: UInt16 { 0x5349 }
    @inlinable public static var LO: UInt16 { 0x4F4C }
    @inlinable public static var LT: UInt16 { 0x544C }
    @inlinable public static var OB: UInt16 { 0x424F }
    @inlinable public static var OD: UInt16 { 0x444F }
    @inlinable public static var OF: UInt16 { 0x464F }
    @inlinable public static var OL: UInt16 { 0x4C4F }
    @inlinable public static var OV: UInt16 { 0x564F }
    @inlinable public static var OW: UInt16 { 0x574F }
    @inlinable public static var PN: UInt16 { 0x4E50 }
    @inlinable public static var SH: UInt16 { 0x4853 }
    @inlinable public static var SL: UInt16 { 0x4C53 }
    @inlinable public static var SQ: UInt16 { 0x5153 }
    @inlinable public static var SS: UInt16 { 0x5353 }
    @inlinable public static var ST: UInt16 { 0x5453 }
    @inlinable public static var SV: UInt16 { 0x5653 }
    @inlinable public static var TM: UInt16 { 0x4D54 }
    @inlinable public static var UC: UInt16 { 0x4355 }
    @inlinable public static var UI: UInt16 { 0x4955 }
    @inlinable public static var UL: UInt16 { 0x4C55 }
    @inlinable public static var UN: UInt16 { 0x4E55 }
    @inlinable public static var UR: UInt16 { 0x5255 }
    @inlinable public static var US: UInt16 { 0x5355 }
    @inlinable public static var UT: UInt16 { 0x5455 }
    @inlinable public static var UV: UInt16 { 0x5655 }

    /// One of the 34 VRs of PS3.5.
    @inlinable public static func isKnown(_ v: UInt16) -> Bool {
        let a = UInt8(truncatingIfNeeded: v), b = UInt8(truncatingIfNeeded: v >> 8)
        switch a {
        case 0x41: return b == 0x45 || b == 0x53 || b == 0x54  // AE AS AT
        case 0x43: return b == 0x53  // CS
        case 0x44: return b == 0x41 || b == 0x53 || b == 0x54  // DA DS DT
        case 0x46: return b == 0x44 || b == 0x4C  // FD FL
        case 0x49: return b == 0x53  // IS
        case 0x4C: return b == 0x4F || b == 0x54  // LO LT
        case 0x4F: return b == 0x42 || b == 0x44 || b == 0x46 || b == 0x4C || b == 0x56 || b == 0x57
        case 0x50: return b == 0x4E  // PN
        case 0x53: return b == 0x48 || b == 0x4C || b == 0x51 || b == 0x53 || b == 0x54 || b == 0x56
        case 0x54: return b == 0x4D  // TM
        case 0x55:
            return b == 0x43 || b == 0x49 || b == 0x4C || b == 0x4E || b == 0x52 || b == 0x53
                || b == 0x54 || b == 0x56
        default: return false
        }
    }

    /// Explicit VR with a 2-byte reserved field and a 4-byte length.
    @inlinable public static func hasLongLength(_ v: UInt16) -> Bool {
        v == OB || v == OW || v == SQ || v == UN || v == UT || v == OF || v == OD || v == OL
            || v == OV || v == UC || v == UR || v == SV || v == UV
    }

    public static func string(_ v: UInt16) -> String {
        String(decoding: [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)], as: UTF8.self)
    }
}

/// Well-known tags.
extension VRCode {
    /// Text VRs whose value is one value, never split at '\\' (pydicom: LT, ST, UT, UR). Exported to
    /// Python through petct_list(PETCT_LIST_SINGLE_VALUED_TEXT_VRS).
    public static let singleValuedText: [UInt16] = [LT, ST, UT, UR]
}

/// Short names for the delimiters; every other tag constant is generated (Tags.swift).
extension Tags {
    @inlinable public static var itemDelimiter: UInt32 { itemDelimitationItem }
    @inlinable public static var sequenceDelimiter: UInt32 { sequenceDelimitationItem }
}
