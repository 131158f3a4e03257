import DicomBytes
import Testing

@testable import DicomDictionary

@Test func readingRule() {
    #expect(
        AmbiguousVR.forReading(DictionaryVR.usOrSS, pixelRepresentation: 1, lutFirst: -1, undefinedLength: false)
            == VRCode.SS)
    #expect(
        AmbiguousVR.forReading(DictionaryVR.usOrSS, pixelRepresentation: 0, lutFirst: -1, undefinedLength: false)
            == VRCode.US)
    #expect(
        AmbiguousVR.forReading(DictionaryVR.usOrSS, pixelRepresentation: -1, lutFirst: -1, undefinedLength: false)
            == VRCode.US)
    #expect(
        AmbiguousVR.forReading(DictionaryVR.obOrOW, pixelRepresentation: 0, lutFirst: -1, undefinedLength: true)
            == VRCode.OB)
    #expect(
        AmbiguousVR.forReading(DictionaryVR.obOrOW, pixelRepresentation: 0, lutFirst: -1, undefinedLength: false)
            == VRCode.OW)
    #expect(
        AmbiguousVR.forReading(DictionaryVR.usOrOW, pixelRepresentation: 0, lutFirst: 1, undefinedLength: false)
            == VRCode.US)
    #expect(
        AmbiguousVR.forReading(DictionaryVR.usOrOW, pixelRepresentation: 0, lutFirst: 256, undefinedLength: false)
            == VRCode.OW)
    #expect(
        AmbiguousVR.forReading(DictionaryVR.usOrSSOrOW, pixelRepresentation: 1, lutFirst: -1, undefinedLength: false)
            == VRCode.OW)
    #expect(
        AmbiguousVR.forReading(VRCode.CS, pixelRepresentation: 1, lutFirst: -1, undefinedLength: false) == VRCode.CS)
}

@Test func writingRule() {
    func w(_ code: UInt16, _ vr: UInt16, signed: Bool = false, negative: Bool = false, bits: Int = 16) -> UInt16 {
        AmbiguousVR.forWriting(code, vr: vr, signed: signed, anyNegative: negative, bitsAllocated: bits)
    }
    #expect(w(DictionaryVR.usOrSS, VRCode.US) == VRCode.US)
    #expect(w(DictionaryVR.usOrSS, VRCode.US, signed: true) == VRCode.SS)
    #expect(w(DictionaryVR.usOrSS, VRCode.US, negative: true) == VRCode.SS)
    #expect(w(DictionaryVR.usOrSSOrOW, VRCode.US, negative: true) == VRCode.SS)
    #expect(w(DictionaryVR.usOrOW, VRCode.US, signed: true, negative: true) == VRCode.US)  // SS is no option
    #expect(w(DictionaryVR.obOrOW, VRCode.OB, bits: 16) == VRCode.OW)
    #expect(w(DictionaryVR.obOrOW, VRCode.OB, bits: 8) == VRCode.OB)
    // a VR other than the dictionary's first option is the caller's choice
    #expect(w(DictionaryVR.usOrSS, VRCode.SS) == VRCode.SS)
    #expect(w(DictionaryVR.obOrOW, VRCode.OW, bits: 8) == VRCode.OW)
    #expect(w(VRCode.US, VRCode.US, signed: true) == VRCode.US)  // not ambiguous
    #expect(AmbiguousVR.first(DictionaryVR.lookup(0x0028_0106)) == VRCode.US)  // SmallestImagePixelValue
    #expect(AmbiguousVR.first(DictionaryVR.lookup(0x7FE0_0010)) == VRCode.OB)  // PixelData
    #expect(AmbiguousVR.first(DictionaryVR.lookup(0x0010_0010)) == nil)
}
