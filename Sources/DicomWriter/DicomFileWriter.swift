import DicomBytes
import DicomDictionary
import DicomParser

/// One record of the element tree handed to the writer, in the same pre-order layout as the reader's
/// `Element` table: a `.sequence` record is followed by its `.item` records, an `.item` by its
/// elements; `descendants` counts the records below. Values live in a heap:
/// `.text` / `.rawText` bytes written as given (several values joined by '\'), `.int` Int64s,
/// `.uint` UInt64s, `.float` Float64s, `.tags` UInt32s, `.bytes` raw bytes.
public struct WriteElement: Sendable {
    public var tag: UInt32
    public var vr: UInt16
    public var kind: ValueKind
    public var count: UInt32
    public var descendants: UInt32
    public var valueOffset: Int
    public var valueLength: Int
    /// A (7FE0,0010) `.bytes` value that is an encapsulated item stream (offset table item, fragments).
    public var encapsulated: Bool

    public init(
        tag: UInt32, vr: UInt16, kind: ValueKind, count: UInt32 = 0, descendants: UInt32 = 0,
        valueOffset: Int = 0, valueLength: Int = 0, encapsulated: Bool = false
    ) {
        self.tag = tag; self.vr = vr; self.kind = kind; self.count = count; self.descendants = descendants
        self.valueOffset = valueOffset; self.valueLength = valueLength; self.encapsulated = encapsulated
    }
}

/// Writes DICOM Part 10 files in Explicit VR Little Endian: 128-byte preamble, "DICM", a file meta
/// group built here (group length, version, SOP class/instance from the data set, transfer syntax,
/// petct's implementation UID and version name), then the data set with every level sorted by tag.
/// Sequences and items are written with defined lengths.
public enum DicomFileWriter {
    public static var explicitVRLittleEndian: String { TransferSyntax.explicitVRLittleEndian }
    public static let implementationClassUID = "2.25.94823006377931618093611254726345215403"
    public static let implementationVersionName = "PETCT_010"

    /// The whole file as bytes.
    public static func encode(elements: [WriteElement], heap: [UInt8]) throws(DicomError) -> [UInt8] {
        var result: Result<[UInt8], DicomError> = .success([])
        elements.withUnsafeBufferPointer { ep in
            heap.withUnsafeBytes { hp in
                do throws(DicomError) {
                    result = .success(try encode(elements: ep, heap: hp))
                } catch {
                    result = .failure(error)
                }
            }
        }
        return try result.get()
    }

    public static func encode(
        elements given: UnsafeBufferPointer<WriteElement>,
        heap: UnsafeRawBufferPointer
    ) throws(DicomError) -> [UInt8] {
        let resolved = try resolvingAmbiguousVRs(given, heap: heap)
        return try resolved.withUnsafeBufferPointer { (elements) throws(DicomError) -> [UInt8] in
            try encodeResolved(elements: elements, heap: heap)
        }
    }

    /// The records with each ambiguous VR resolved for writing (`AmbiguousVR.forWriting`): the data
    /// set's Pixel Representation and Bits Allocated (top level) and the record's own values decide.
    static func resolvingAmbiguousVRs(
        _ elements: UnsafeBufferPointer<WriteElement>,
        heap: UnsafeRawBufferPointer
    ) throws(DicomError) -> [WriteElement] {
        let enc = Encoder(elements: elements, heap: heap)
        let top = try enc.children(0, elements.count)
        func topInteger(_ tag: UInt32) throws(DicomError) -> Int64? {
            guard let i = top.first(where: { elements[$0].tag == tag && elements[$0].kind == .int }) else { return nil }
            return try enc.integers(elements[i]).first
        }
        let signed = try topInteger(Tags.pixelRepresentation) == 1
        let bits = Int(clamping: try topInteger(Tags.bitsAllocated) ?? 8)
        var out = Array(elements)
        for i in out.indices where out[i].kind != .sequence && out[i].kind != .item {
            let code = DictionaryVR.lookup(out[i].tag)
            guard AmbiguousVR.first(code) != nil else { continue }
            var negative = false
            if out[i].kind == .int { negative = try enc.integers(out[i]).contains { $0 < 0 } }
            out[i].vr = AmbiguousVR.forWriting(
                code, vr: out[i].vr, signed: signed, anyNegative: negative,
                bitsAllocated: bits == 0 ? 8 : bits)
        }
        return out
    }

    static func encodeResolved(
        elements: UnsafeBufferPointer<WriteElement>,
        heap: UnsafeRawBufferPointer
    ) throws(DicomError) -> [UInt8] {
        let enc = Encoder(elements: elements, heap: heap)
        let top = try enc.children(0, elements.count)
        // SOP class / instance: from the data set, else from file meta elements the caller passed.
        func uid(_ tag: UInt32, _ fallback: UInt32) throws(DicomError) -> [UInt8] {
            for want in [tag, fallback] {
                for i in top
                where elements[i].tag == want && (elements[i].kind == .text || elements[i].kind == .rawText) {
                    var b = Array(try enc.heapBytes(elements[i]))
                    while let last = b.last, last == 0 || last == 0x20 { b.removeLast() }
                    if !b.isEmpty { return b }
                }
            }
            throw DicomError(
                .argument,
                "cannot write a DICOM file without "
                    + (tag == Tags.sopClassUID ? "SOPClassUID (0008,0016)" : "SOPInstanceUID (0008,0018)"), tag: tag)
        }
        let sopClass = try uid(Tags.sopClassUID, Tags.mediaStorageSOPClassUID)
        let sopInstance = try uid(Tags.sopInstanceUID, Tags.mediaStorageSOPInstanceUID)
        let transferSyntax = try chosenTransferSyntax(elements, top: top, enc: enc)

        var meta = Encoder(elements: elements, heap: heap)
        meta.out.reserveCapacity(256)
        meta.header(Tags.fileMetaInformationVersion, VRCode.OB, length: 2)
        meta.out += [0x00, 0x01]
        meta.textElement(Tags.mediaStorageSOPClassUID, VRCode.UI, sopClass)
        meta.textElement(Tags.mediaStorageSOPInstanceUID, VRCode.UI, sopInstance)
        meta.textElement(Tags.transferSyntaxUID, VRCode.UI, Array(transferSyntax.utf8))
        meta.textElement(Tags.implementationClassUID, VRCode.UI, Array(implementationClassUID.utf8))
        meta.textElement(Tags.implementationVersionName, VRCode.SH, Array(implementationVersionName.utf8))

        var total = 128 + 4 + 12 + meta.out.count
        var body = enc
        body.out.reserveCapacity(estimate(elements))
        for i in top {
            let g = elements[i].tag >> 16
            if g == 0x0000 || g == 0x0002 { continue }
            try body.element(i, depth: 0)
        }
        total += body.out.count
        var out: [UInt8] = []
        out.reserveCapacity(total)
        out += repeatElement(0, count: 128)
        out += [0x44, 0x49, 0x43, 0x4D]  // DICM
        var group = Encoder(elements: elements, heap: heap)
        group.header(Tags.fileMetaInformationGroupLength, VRCode.UL, length: 4)
        group.le32(UInt32(meta.out.count))
        out += group.out
        out += meta.out
        out += body.out
        return out
    }

    /// Explicit VR Little Endian, or the encapsulated syntax a (0002,0010) record names; the pixel data
    /// record must agree (encapsulated exactly when the syntax is).
    static func chosenTransferSyntax(
        _ elements: UnsafeBufferPointer<WriteElement>, top: [Int],
        enc: Encoder
    ) throws(DicomError) -> String {
        var ts = explicitVRLittleEndian
        if let i = top.first(where: { elements[$0].tag == Tags.transferSyntaxUID }) {
            var b = Array(try enc.heapBytes(elements[i]))
            while let last = b.last, last == 0 || last == 0x20 { b.removeLast() }
            let named = String(decoding: b, as: UTF8.self)
            guard !named.isEmpty, b.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E }) else {
                throw DicomError(
                    .argument, "transfer syntax UID \(named.debugDescription) is not a UID", tag: Tags.transferSyntaxUID
                )
            }
            if named != explicitVRLittleEndian {
                guard !TransferSyntax.isNative(named) else {
                    throw DicomError(
                        .argument,
                        "petct writes Explicit VR Little Endian, not \(named); only encapsulated "
                            + "transfer syntaxes may be named", tag: Tags.transferSyntaxUID)
                }
                ts = named
            }
        }
        let pixels = top.first { elements[$0].tag == Tags.pixelData }
        let encapsulated = pixels.map { elements[$0].encapsulated } ?? false
        if ts != explicitVRLittleEndian && pixels != nil && !encapsulated {
            throw DicomError(.argument, "transfer syntax \(ts) needs encapsulated pixel data", tag: Tags.pixelData)
        }
        if ts == explicitVRLittleEndian && encapsulated {
            throw DicomError(
                .argument,
                "encapsulated pixel data needs its encapsulated transfer syntax in a (0002,0010) "
                    + "record", tag: Tags.pixelData)
        }
        return ts
    }

    static func estimate(_ elements: UnsafeBufferPointer<WriteElement>) -> Int {
        var n = 512
        for e in elements { n &+= 12 &+ max(0, min(e.valueLength, 1 << 30)) }
        return min(n, 1 << 31)
    }
}
