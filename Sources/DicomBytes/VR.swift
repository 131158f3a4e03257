/// Value representation helpers on the packed two-letter form (first letter in the low byte).
public enum VRCode {
    @inlinable public static func pack(_ a: UInt8, _ b: UInt8) -> UInt16 { UInt16(a) | (UInt16(b) << 8) }

    public static let AE = pack(0x41, 0x45), AS = pack(0x41, 0x53), AT = pack(0x41, 0x54)
    public static let CS = pack(0x43, 0x53), DA = pack(0x44, 0x41), DS = pack(0x44, 0x53)
    public static let DT = pack(0x44, 0x54), FD = pack(0x46, 0x44), FL = pack(0x46, 0x4C)
    public static let IS = pack(0x49, 0x53), LO = pack(0x4C, 0x4F), LT = pack(0x4C, 0x54)
    public static let OB = pack(0x4F, 0x42), OD = pack(0x4F, 0x44), OF = pack(0x4F, 0x46)
    public static let OL = pack(0x4F, 0x4C), OV = pack(0x4F, 0x56), OW = pack(0x4F, 0x57)
    public static let PN = pack(0x50, 0x4E), SH = pack(0x53, 0x48), SL = pack(0x53, 0x4C)
    public static let SQ = pack(0x53, 0x51), SS = pack(0x53, 0x53), ST = pack(0x53, 0x54)
    public static let SV = pack(0x53, 0x56), TM = pack(0x54, 0x4D), UC = pack(0x55, 0x43)
    public static let UI = pack(0x55, 0x49), UL = pack(0x55, 0x4C), UN = pack(0x55, 0x4E)
    public static let UR = pack(0x55, 0x52), US = pack(0x55, 0x53), UT = pack(0x55, 0x54)
    public static let UV = pack(0x55, 0x56)

    /// One of the 34 VRs of PS3.5.
    @inlinable public static func isKnown(_ v: UInt16) -> Bool {
        let a = UInt8(truncatingIfNeeded: v), b = UInt8(truncatingIfNeeded: v >> 8)
        switch a {
        case 0x41: return b == 0x45 || b == 0x53 || b == 0x54                      // AE AS AT
        case 0x43: return b == 0x53                                                // CS
        case 0x44: return b == 0x41 || b == 0x53 || b == 0x54                      // DA DS DT
        case 0x46: return b == 0x44 || b == 0x4C                                   // FD FL
        case 0x49: return b == 0x53                                                // IS
        case 0x4C: return b == 0x4F || b == 0x54                                   // LO LT
        case 0x4F: return b == 0x42 || b == 0x44 || b == 0x46 || b == 0x4C || b == 0x56 || b == 0x57
        case 0x50: return b == 0x4E                                                // PN
        case 0x53: return b == 0x48 || b == 0x4C || b == 0x51 || b == 0x53 || b == 0x54 || b == 0x56
        case 0x54: return b == 0x4D                                                // TM
        case 0x55: return b == 0x43 || b == 0x49 || b == 0x4C || b == 0x4E || b == 0x52 || b == 0x53
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
public enum Tags {
    public static let item: UInt32 = 0xFFFE_E000
    public static let itemDelimiter: UInt32 = 0xFFFE_E00D
    public static let sequenceDelimiter: UInt32 = 0xFFFE_E0DD
    public static let pixelData: UInt32 = 0x7FE0_0010
    public static let floatPixelData: UInt32 = 0x7FE0_0008
    public static let doubleFloatPixelData: UInt32 = 0x7FE0_0009
    public static let specificCharacterSet: UInt32 = 0x0008_0005
    public static let transferSyntaxUID: UInt32 = 0x0002_0010
    public static let pixelRepresentation: UInt32 = 0x0028_0103
}
