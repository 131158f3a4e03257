// Every Swift enum or option set that crosses the C ABI against its PETCT_* constant in petct.h, and the
// lists of petct_list against the Swift tables they come from.
import CPetct
import DicomBytes
import DicomParser
import PetctConcurrency
import PetctPairing
import PetctSUV
import Testing

@testable import PetctExport

@Test func errorKindsMatchTheHeader() {
    let pairs: [(DicomError.Kind, Int32)] = [
        (.invalidDicom, Int32(PETCT_E_INVALID_DICOM)), (.malformed, Int32(PETCT_E_MALFORMED)),
        (.unsupportedTransferSyntax, Int32(PETCT_E_UNSUPPORTED_TS)), (.io, Int32(PETCT_E_IO)),
        (.suv, Int32(PETCT_E_SUV)), (.geometry, Int32(PETCT_E_GEOMETRY)), (.argument, Int32(PETCT_E_ARGUMENT)),
        (.noPixels, Int32(PETCT_E_NO_PIXELS)), (.internalError, Int32(PETCT_E_INTERNAL)),
    ]
    for (kind, c) in pairs { #expect(kind.rawValue == c, "\(kind)") }
    #expect(Int32(PETCT_OK) == 0 && statusOK == 0)
}

@Test func valueKindsMatchTheHeader() {
    let pairs: [(ValueKind, Int32)] = [
        (.empty, Int32(PETCT_KIND_EMPTY)), (.text, Int32(PETCT_KIND_TEXT)), (.int, Int32(PETCT_KIND_INT)),
        (.uint, Int32(PETCT_KIND_UINT)), (.float, Int32(PETCT_KIND_FLOAT)), (.bytes, Int32(PETCT_KIND_BYTES)),
        (.tags, Int32(PETCT_KIND_TAGS)), (.sequence, Int32(PETCT_KIND_SEQUENCE)), (.item, Int32(PETCT_KIND_ITEM)),
        (.rawText, Int32(PETCT_KIND_RAW_TEXT)),
    ]
    for (kind, c) in pairs { #expect(Int32(kind.rawValue) == c, "\(kind)") }
    #expect(ValueKind(rawValue: UInt8(PETCT_KIND_RAW_TEXT + 1)) == nil)  // no kind the header lacks
}

@Test func flagsMatchTheHeader() {
    #expect(UInt32(ElementFlags.undefinedLength.rawValue) == PETCT_ELEM_UNDEFINED_LENGTH)
    #expect(UInt32(ElementFlags.encapsulated.rawValue) == PETCT_ELEM_ENCAPSULATED)
    #expect(UInt32(ElementFlags.vrFromDictionary.rawValue) == PETCT_ELEM_VR_FROM_DICT)
    #expect(UInt32(ElementFlags.invalidValue.rawValue) == PETCT_ELEM_INVALID_VALUE)
    #expect(DatasetFlags.preamble.rawValue == PETCT_DS_PREAMBLE)
    #expect(DatasetFlags.fileMeta.rawValue == PETCT_DS_FILE_META)
    #expect(DatasetFlags.implicitVR.rawValue == PETCT_DS_IMPLICIT_VR)
    #expect(DatasetFlags.bigEndian.rawValue == PETCT_DS_BIG_ENDIAN)
    #expect(DatasetFlags.deflated.rawValue == PETCT_DS_DEFLATED)
    #expect(DatasetFlags.stoppedBeforePixels.rawValue == PETCT_DS_STOPPED)
    #expect(ResampleMethod.linear.rawValue == PETCT_RESAMPLE_LINEAR)
    #expect(ResampleMethod.area.rawValue == PETCT_RESAMPLE_AREA)
    #expect(ResampleMethod(rawValue: PETCT_RESAMPLE_AREA + 1) == nil)
}

@Test func readFlagsMapToOptions() {
    let all = readOptions(PETCT_READ_STOP_BEFORE_PIXELS | PETCT_READ_FORCE | PETCT_READ_NO_CHARSET)
    #expect(all.stopBeforePixels && all.force && !all.decodeCharset)
    let none = readOptions(0)
    #expect(!none.stopBeforePixels && !none.force && none.decodeCharset)
    #expect(readOptions(PETCT_READ_FORCE).force && !readOptions(PETCT_READ_FORCE).stopBeforePixels)
    // petct_encode_read takes the read flags and PETCT_ENCODE_ONLY in one word: no bit is shared
    #expect(PETCT_ENCODE_ONLY & (PETCT_READ_STOP_BEFORE_PIXELS | PETCT_READ_FORCE | PETCT_READ_NO_CHARSET) == 0)
}

@Test func abiVersionAndNoTag() {
    let abi = PetctExport.petct_abi_version()
    #expect(abi == PETCT_ABI_VERSION)
    #expect(PETCT_NO_TAG == 0xFFFF_FFFF)
}

@Test func listsAreTheSwiftTables() throws {
    func list(_ which: Int32) throws -> [String] {
        let found = PetctExport.petct_list(which)
        let p = try #require(found)
        return String(cString: p).split(separator: "\\", omittingEmptySubsequences: false).map(String.init)
    }
    #expect(try list(Int32(PETCT_LIST_NATIVE_TRANSFER_SYNTAXES)) == TransferSyntax.native)
    #expect(try list(Int32(PETCT_LIST_SUV_KINDS)) == SUVKind.allCases.map(\.rawValue))
    #expect(try list(Int32(PETCT_LIST_SINGLE_VALUED_TEXT_VRS)) == ["LT", "ST", "UT", "UR"])
    let unknown = [PetctExport.petct_list(-1), PetctExport.petct_list(3)]
    #expect(unknown.allSatisfy { $0 == nil })
}

@Test func parallelPeakHookResets() {
    _ = PetctExport.petct_parallel_peak(1, nil)
    Parallel.chunks(count: 10, threads: 1) { _, _ in }
    var active: Int32 = -1
    let width = PetctExport.petct_parallel_peak(1, &active)
    // Other tests may run loops at the same time: only lower bounds hold here (exact values: test_threads.py).
    #expect(width >= 1 && active >= 1 && active <= max(width, Int32(Parallel.cpuCount)))
}
