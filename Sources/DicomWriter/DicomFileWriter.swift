import DicomBytes
import DicomDictionary
import DicomParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

    /// Encodes and writes the file atomically: a temporary name in the same folder, then rename.
    public static func write(
        path: String, elements: UnsafeBufferPointer<WriteElement>,
        heap: UnsafeRawBufferPointer
    ) throws(DicomError) {
        let bytes = try encode(elements: elements, heap: heap)
        try writeAtomically(path: path, bytes: bytes)
    }

    public static func write(path: String, elements: [WriteElement], heap: [UInt8]) throws(DicomError) {
        try writeAtomically(path: path, bytes: try encode(elements: elements, heap: heap))
    }

    /// `path` with symbolic links followed (up to 40 hops), also when the last target does not exist
    /// yet: the writer replaces the link's target and keeps the link, as `open(path, "wb")` does.
    static func followLinks(_ path: String) -> String {
        var p = path
        for _ in 0..<40 {
            var st = stat()
            guard lstat(p, &st) == 0, UInt32(st.st_mode) & 0o170000 == 0o120000 else { return p }
            var buf = [CChar](repeating: 0, count: 4097)
            let n = readlink(p, &buf, 4096)
            guard n > 0 else { return p }
            let target = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.hasPrefix("/") {
                p = target
            } else if let slash = p.lastIndex(of: "/") {
                p = String(p[...slash]) + target
            } else {
                p = target
            }
        }
        return p
    }

    /// Writes `bytes` to a new temporary file next to `path` (unique name, `O_EXCL`), fsyncs it and
    /// renames it over `path`. A file being replaced keeps its mode (and, as root, its owner); a new
    /// file gets 0666 minus the umask. A symbolic link is written through (its target is replaced).
    public static func writeAtomically(path requested: String, bytes: [UInt8]) throws(DicomError) {
        let path = followLinks(requested)
        var old = stat()
        let replacing = stat(path, &old) == 0 && UInt32(old.st_mode) & 0o170000 == 0o100000
        var tmp = ""
        var fd: Int32 = -1
        // the temporary name: next to the file (same file system), short enough for NAME_MAX
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let stem = base.utf8.count <= 200 ? base : ""
        for _ in 0..<64 {
            tmp = dir + "." + stem + ".petct-tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 || errno != EEXIST { break }
        }
        if fd < 0 { throw DicomError(.io, "cannot create \(tmp): \(errnoText(errno))") }
        if replacing {
            // owner first (chown clears set-id bits), then the mode; a non-root user keeps the group
            // where they may (a group they belong to)
            _ = fchown(fd, geteuid() == 0 ? old.st_uid : uid_t.max, old.st_gid)
            _ = fchmod(fd, old.st_mode & 0o7777)
        }
        var failure: Int32 = 0
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, base + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                done += n
            }
        }
        if failure == 0 && fsync(fd) != 0 && errno != EINVAL && errno != EROFS { failure = errno }
        if close(fd) != 0 && failure == 0 { failure = errno }
        if failure != 0 {
            unlink(tmp)
            throw DicomError(.io, "cannot write \(path): \(errnoText(failure))")
        }
        if rename(tmp, path) != 0 {
            let e = errno
            unlink(tmp)
            throw DicomError(.io, "cannot rename \(tmp) to \(path): \(errnoText(e))")
        }
    }
}

// MARK: - encoder

struct Encoder {
    let elements: UnsafeBufferPointer<WriteElement>
    let heap: UnsafeRawBufferPointer
    var out: [UInt8] = []

    init(elements: UnsafeBufferPointer<WriteElement>, heap: UnsafeRawBufferPointer) {
        self.elements = elements
        self.heap = heap
    }

    static let maxDepth = 64

    @inline(__always) mutating func le16(_ v: UInt16) {
        out.append(UInt8(truncatingIfNeeded: v)); out.append(UInt8(truncatingIfNeeded: v >> 8))
    }
    @inline(__always) mutating func le32(_ v: UInt32) {
        le16(UInt16(truncatingIfNeeded: v)); le16(UInt16(truncatingIfNeeded: v >> 16))
    }
    @inline(__always) mutating func le64(_ v: UInt64) {
        le32(UInt32(truncatingIfNeeded: v)); le32(UInt32(truncatingIfNeeded: v >> 32))
    }

    /// Writes tag, VR and a length field; returns the offset of the length field (for patching).
    @discardableResult
    mutating func header(_ tag: UInt32, _ vr: UInt16, length: UInt32) -> Int {
        le16(UInt16(truncatingIfNeeded: tag >> 16)); le16(UInt16(truncatingIfNeeded: tag))
        le16(vr)
        if VRCode.hasLongLength(vr) {
            le16(0)
            let at = out.count
            le32(length)
            return at
        }
        let at = out.count
        le16(UInt16(truncatingIfNeeded: length))
        return at
    }

    mutating func patch(at offset: Int, vr: UInt16, length: Int, tag: UInt32) throws(DicomError) {
        if VRCode.hasLongLength(vr) || vr == 0 {
            guard length < 0xFFFF_FFFF else { throw DicomError(.argument, "value longer than 4 GiB", tag: tag) }
            let v = UInt32(length)
            out[offset] = UInt8(truncatingIfNeeded: v); out[offset + 1] = UInt8(truncatingIfNeeded: v >> 8)
            out[offset + 2] = UInt8(truncatingIfNeeded: v >> 16); out[offset + 3] = UInt8(truncatingIfNeeded: v >> 24)
        } else {
            guard length <= 0xFFFF else {
                throw DicomError(
                    .argument, "value of \(length) bytes does not fit VR \(VRCode.string(vr)) (at most 65534 bytes)",
                    tag: tag)
            }
            out[offset] = UInt8(truncatingIfNeeded: length); out[offset + 1] = UInt8(truncatingIfNeeded: length >> 8)
        }
    }

    /// A text element from ready bytes (file meta).
    mutating func textElement(_ tag: UInt32, _ vr: UInt16, _ bytes: [UInt8]) {
        let padded = bytes.count % 2 == 1
        header(tag, vr, length: UInt32(bytes.count + (padded ? 1 : 0)))
        out += bytes
        if padded { out.append(vr == VRCode.UI ? 0 : 0x20) }
    }

    func heapBytes(_ e: WriteElement) throws(DicomError) -> UnsafeRawBufferPointer {
        guard e.valueOffset >= 0, e.valueLength >= 0, e.valueOffset <= heap.count,
            e.valueLength <= heap.count - e.valueOffset
        else {
            throw DicomError(
                .argument, "value range \(e.valueOffset)+\(e.valueLength) outside the heap of \(heap.count) bytes",
                tag: e.tag)
        }
        if e.valueLength == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: heap[e.valueOffset..<(e.valueOffset + e.valueLength)])
    }

    /// Indices of the direct children in [start, end), sorted by tag (stable), duplicates rejected.
    func children(_ start: Int, _ end: Int) throws(DicomError) -> [Int] {
        var out: [Int] = []
        var i = start
        while i < end {
            out.append(i)
            let d = Int(elements[i].descendants)
            guard d <= end - i - 1 else {
                throw DicomError(
                    .argument, "record \(i) claims \(d) descendants past the end of its parent",
                    tag: elements[i].tag)
            }
            i += 1 + d
        }
        var sorted = true
        for k in out.indices.dropFirst() where elements[out[k - 1]].tag >= elements[out[k]].tag {
            sorted = false; break
        }
        if !sorted {
            out = out.enumerated().sorted { a, b in
                let ta = elements[a.element].tag, tb = elements[b.element].tag
                return ta != tb ? ta < tb : a.offset < b.offset
            }.map { $0.element }
            for k in out.indices.dropFirst() where elements[out[k - 1]].tag == elements[out[k]].tag {
                throw DicomError(
                    .argument, "element \(formatTag(elements[out[k]].tag)) appears twice in one data set",
                    tag: elements[out[k]].tag)
            }
        }
        return out
    }

    mutating func element(_ i: Int, depth: Int) throws(DicomError) {
        let e = elements[i]
        guard e.kind != .item else {
            throw DicomError(.argument, "item record outside a sequence (record \(i))", tag: e.tag)
        }
        if e.kind == .sequence || e.vr == VRCode.SQ {
            guard depth < Encoder.maxDepth else { throw DicomError(.argument, "sequences nested too deep", tag: e.tag) }
            let end = i + 1 + Int(e.descendants)
            let lengthAt = header(e.tag, VRCode.SQ, length: 0)
            let start = out.count
            var j = i + 1
            while j < end {
                let item = elements[j]
                guard item.kind == .item else {
                    throw DicomError(.argument, "sequence record \(i) holds a non-item record \(j)", tag: e.tag)
                }
                let itemEnd = j + 1 + Int(item.descendants)
                guard itemEnd <= end else {
                    throw DicomError(.argument, "item record \(j) runs past its sequence", tag: e.tag)
                }
                le32(0xE000_FFFE)  // (FFFE,E000) little endian: group then element
                let itemLengthAt = out.count
                le32(0)
                let itemStart = out.count
                for c in try children(j + 1, itemEnd) { try element(c, depth: depth + 1) }
                try patch(at: itemLengthAt, vr: 0, length: out.count - itemStart, tag: e.tag)
                j = itemEnd
            }
            try patch(at: lengthAt, vr: VRCode.SQ, length: out.count - start, tag: e.tag)
            return
        }
        guard VRCode.isKnown(e.vr) else {
            throw DicomError(.argument, "unknown VR \(VRCode.string(e.vr).debugDescription)", tag: e.tag)
        }
        if e.encapsulated {
            try encapsulatedPixels(e, topLevel: depth == 0)
            return
        }
        let lengthAt = header(e.tag, e.vr, length: 0)
        let start = out.count
        try value(e)
        if (out.count - start) % 2 == 1 {
            let vr = e.vr
            out.append(vr == VRCode.UI || vr == VRCode.OB || vr == VRCode.UN ? 0 : 0x20)
        }
        try patch(at: lengthAt, vr: e.vr, length: out.count - start, tag: e.tag)
    }

    /// (7FE0,0010) OB of undefined length: the item stream as given, after checking that it is one
    /// (items only, each inside the value, the first being the Basic Offset Table), then the delimiter.
    mutating func encapsulatedPixels(_ e: WriteElement, topLevel: Bool) throws(DicomError) {
        guard topLevel, e.tag == Tags.pixelData, e.kind == .bytes else {
            throw DicomError(.argument, "only top-level (7FE0,0010) bytes can be encapsulated", tag: e.tag)
        }
        let raw = try heapBytes(e)
        var pos = 0
        var items = 0
        while pos < raw.count {
            guard raw.count - pos >= 8 else {
                throw DicomError(.argument, "encapsulated pixel data: truncated item header", offset: pos, tag: e.tag)
            }
            let tag =
                UInt32(raw[pos + 2]) | UInt32(raw[pos + 3]) << 8 | UInt32(raw[pos]) << 16 | UInt32(raw[pos + 1]) << 24
            let length = Int(
                UInt32(raw[pos + 4]) | UInt32(raw[pos + 5]) << 8 | UInt32(raw[pos + 6]) << 16
                    | UInt32(raw[pos + 7]) << 24)
            guard tag == Tags.item else {
                throw DicomError(
                    .argument, "encapsulated pixel data: \(formatTag(tag)) where an item was expected",
                    offset: pos, tag: e.tag)
            }
            guard length <= raw.count - pos - 8 else {
                throw DicomError(
                    .argument, "encapsulated pixel data: an item of \(length) bytes runs past the value",
                    offset: pos, tag: e.tag)
            }
            pos += 8 + length
            items += 1
        }
        guard items >= 1 else {
            throw DicomError(
                .argument, "encapsulated pixel data needs at least the Basic Offset Table item", tag: e.tag)
        }
        _ = header(e.tag, VRCode.OB, length: 0xFFFF_FFFF)
        out += raw
        le32(0xE0DD_FFFE)  // (FFFE,E0DD) sequence delimitation item, little endian
        le32(0)
    }

    func numbers<T>(_ e: WriteElement, _: T.Type) throws(DicomError) -> [T] {
        let raw = try heapBytes(e)
        let size = MemoryLayout<T>.size
        guard raw.count % size == 0 else {
            throw DicomError(
                .argument, "value of \(raw.count) bytes is not a whole number of \(size)-byte values", tag: e.tag)
        }
        var r: [T] = []
        r.reserveCapacity(raw.count / size)
        var o = 0
        while o < raw.count { r.append(raw.loadUnaligned(fromByteOffset: o, as: T.self)); o += size }
        return r
    }

    /// Values of a numeric element as Int64 (from .int, .uint, .tags or integral .float).
    func integers(_ e: WriteElement) throws(DicomError) -> [Int64] {
        switch e.kind {
        case .int: return try numbers(e, Int64.self)
        case .uint:
            var r: [Int64] = []
            for v in try numbers(e, UInt64.self) {
                guard v <= UInt64(Int64.max) else { throw DicomError(.argument, "value \(v) out of range", tag: e.tag) }
                r.append(Int64(v))
            }
            return r
        case .tags: return try numbers(e, UInt32.self).map { Int64($0) }
        case .float:
            var r: [Int64] = []
            for v in try numbers(e, Double.self) {
                guard v.isFinite, v == v.rounded(), abs(v) < 9.2e18 else {
                    throw DicomError(.argument, "value \(v) is not an integer", tag: e.tag)
                }
                r.append(Int64(v))
            }
            return r
        case .empty: return []
        default:
            throw DicomError(
                .argument, "VR \(VRCode.string(e.vr)) needs numbers, not value kind \(e.kind.rawValue)", tag: e.tag)
        }
    }

    func doubles(_ e: WriteElement) throws(DicomError) -> [Double] {
        switch e.kind {
        case .float: return try numbers(e, Double.self)
        case .int: return try numbers(e, Int64.self).map { Double($0) }
        case .uint: return try numbers(e, UInt64.self).map { Double($0) }
        case .empty: return []
        default:
            throw DicomError(
                .argument, "VR \(VRCode.string(e.vr)) needs numbers, not value kind \(e.kind.rawValue)", tag: e.tag)
        }
    }

    mutating func ranged(_ e: WriteElement, _ lo: Int64, _ hi: Int64, bytes: Int) throws(DicomError) {
        for v in try integers(e) {
            guard v >= lo && v <= hi else {
                throw DicomError(.argument, "value \(v) out of range for VR \(VRCode.string(e.vr))", tag: e.tag)
            }
            switch bytes {
            case 2: le16(UInt16(truncatingIfNeeded: v))
            case 4: le32(UInt32(truncatingIfNeeded: v))
            default: le64(UInt64(bitPattern: v))
            }
        }
    }

    mutating func value(_ e: WriteElement) throws(DicomError) {
        if e.kind == .empty { return }
        let vr = e.vr
        switch vr {
        case VRCode.US: try ranged(e, 0, 0xFFFF, bytes: 2)
        case VRCode.SS: try ranged(e, -0x8000, 0x7FFF, bytes: 2)
        case VRCode.UL: try ranged(e, 0, 0xFFFF_FFFF, bytes: 4)
        case VRCode.SL: try ranged(e, -0x8000_0000, 0x7FFF_FFFF, bytes: 4)
        case VRCode.SV: try ranged(e, Int64.min, Int64.max, bytes: 8)
        case VRCode.UV:
            if e.kind == .uint {
                for v in try numbers(e, UInt64.self) { le64(v) }
            } else {
                try ranged(e, 0, Int64.max, bytes: 8)
            }
        case VRCode.AT:
            for v in try integers(e) {
                guard v >= 0 && v <= 0xFFFF_FFFF else {
                    throw DicomError(.argument, "tag value \(v) out of range", tag: e.tag)
                }
                le16(UInt16(truncatingIfNeeded: v >> 16)); le16(UInt16(truncatingIfNeeded: v))
            }
        case VRCode.FL:
            for v in try doubles(e) { le32(Float(v).bitPattern) }
        case VRCode.FD:
            for v in try doubles(e) { le64(v.bitPattern) }
        case VRCode.DS, VRCode.IS:
            if e.kind == .text || e.kind == .rawText {
                out += try heapBytes(e)
                return
            }
            var first = true
            if vr == VRCode.IS {
                for v in try integers(e) {
                    guard v >= -0x8000_0000 && v <= 0x7FFF_FFFF else {
                        throw DicomError(.argument, "IS value \(v) out of range", tag: e.tag)
                    }
                    if !first { out.append(0x5C) }
                    first = false
                    out += String(v).utf8
                }
            } else {
                for v in try doubles(e) {
                    if !first { out.append(0x5C) }
                    first = false
                    guard let s = formatDS(v) else {
                        throw DicomError(.argument, "DS cannot hold \(v)", tag: e.tag)
                    }
                    out += s
                }
            }
        case VRCode.OB, VRCode.OW, VRCode.OF, VRCode.OD, VRCode.OL, VRCode.OV, VRCode.UN:
            switch e.kind {
            case .bytes, .text, .rawText:
                let raw = try heapBytes(e)
                let unit =
                    vr == VRCode.OW
                    ? 2 : vr == VRCode.OF || vr == VRCode.OL ? 4 : vr == VRCode.OD || vr == VRCode.OV ? 8 : 1
                guard raw.count % unit == 0 else {
                    throw DicomError(
                        .argument, "\(raw.count) bytes is not a whole number of \(VRCode.string(vr)) words", tag: e.tag)
                }
                out += raw
            case .float where vr == VRCode.OF:
                for v in try doubles(e) { le32(Float(v).bitPattern) }
            case .float where vr == VRCode.OD:
                for v in try doubles(e) { le64(v.bitPattern) }
            default:
                throw DicomError(
                    .argument, "VR \(VRCode.string(vr)) needs bytes, not value kind \(e.kind.rawValue)", tag: e.tag)
            }
        default:
            // text VRs
            guard e.kind == .text || e.kind == .rawText else {
                throw DicomError(
                    .argument, "VR \(VRCode.string(vr)) needs text, not value kind \(e.kind.rawValue)", tag: e.tag)
            }
            out += try heapBytes(e)
        }
    }
}

/// A DS string of at most 16 characters for `v` (shortest round-trip form when it fits), or nil for
/// NaN and infinities.
public func formatDS(_ v: Double) -> [UInt8]? {
    guard v.isFinite else { return nil }
    if v == v.rounded() && abs(v) < 1e15 {
        return Array(String(Int64(v)).utf8)
    }
    var s = Array(v.description.utf8)
    if s.count <= 16 { return s }
    // Too long: the most significant digits that fit.
    var buf = [CChar](repeating: 0, count: 40)
    var precision: Int32 = 15
    while precision > 0 {
        let n = buf.withUnsafeMutableBufferPointer { p in
            withVaList([precision, v]) { vsnprintf(p.baseAddress, 40, "%.*G", $0) }
        }
        if n > 0 && n <= 16 {
            s = buf.prefix(Int(n)).map { UInt8(bitPattern: $0) }
            return s
        }
        precision -= 1
    }
    return nil
}
