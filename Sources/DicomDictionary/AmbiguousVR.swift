import DicomBytes

/// The one place that turns an ambiguous dictionary VR ("US or SS", "OB or OW", "US or OW",
/// "US or SS or OW"; `DictionaryVR` pseudo codes) into a VR, for reading and for writing (pydicom 3.0.2's
/// rules: `filereader` for elements read without explicit VRs, `filewriter.correct_ambiguous_vr` for
/// elements written).
public enum AmbiguousVR {
    /// The first VR the dictionary names: what an element made from a keyword starts with. nil when
    /// `code` is not an ambiguous pseudo code.
    public static func first(_ code: UInt16) -> UInt16? {
        switch code {
        case DictionaryVR.usOrSS, DictionaryVR.usOrOW, DictionaryVR.usOrSSOrOW: return VRCode.US
        case DictionaryVR.obOrOW: return VRCode.OB
        default: return nil
        }
    }

    /// Reading an element without an explicit VR: US/SS from Pixel Representation, OB/OW by length (OB
    /// when undefined: encapsulated), LUT Data US when the LUT Descriptor's first value says one entry
    /// (else OW), "US or SS or OW" as OW. Other codes come back as they are.
    public static func forReading(
        _ code: UInt16, pixelRepresentation: Int, lutFirst: Int64,
        undefinedLength: Bool
    ) -> UInt16 {
        switch code {
        case DictionaryVR.usOrSS: return pixelRepresentation == 1 ? VRCode.SS : VRCode.US
        case DictionaryVR.obOrOW: return undefinedLength ? VRCode.OB : VRCode.OW
        case DictionaryVR.usOrOW: return lutFirst == 1 ? VRCode.US : VRCode.OW
        case DictionaryVR.usOrSSOrOW: return VRCode.OW
        default: return code
        }
    }

    /// Writing an element whose VR is the first one its ambiguous dictionary entry names (`vr`): US
    /// becomes SS when the pixel data is signed or a value is negative (where SS is an option), OB becomes
    /// OW when Bits Allocated is over 8. Any other VR is the caller's choice and stays.
    public static func forWriting(
        _ code: UInt16, vr: UInt16, signed: Bool, anyNegative: Bool,
        bitsAllocated: Int
    ) -> UInt16 {
        guard let first = first(code), vr == first else { return vr }
        let ssIsAnOption = code == DictionaryVR.usOrSS || code == DictionaryVR.usOrSSOrOW
        if ssIsAnOption && vr == VRCode.US && (signed || anyNegative) { return VRCode.SS }
        if code == DictionaryVR.obOrOW && vr == VRCode.OB && bitsAllocated > 8 { return VRCode.OW }
        return vr
    }
}
