import DicomBytes

/// Options of one read; mirror the PETCT_READ_* flags.
public struct ReadOptions: Sendable {
    public var stopBeforePixels = false
    public var force = false
    public var decodeCharset = true
    public init(stopBeforePixels: Bool = false, force: Bool = false, decodeCharset: Bool = true) {
        self.stopBeforePixels = stopBeforePixels; self.force = force; self.decodeCharset = decodeCharset
    }
}

/// The transfer syntax table of DicomBytes, under the name the reader has used.
public typealias TransferSyntaxUID = TransferSyntax

/// Reads DICOM Part 10 files (and, with `force`, bare data sets) into a `Dataset`, following
/// pydicom 3.0.2's `dcmread` behaviour:
/// - no 'DICM' at offset 128 -> `.invalidDicom` unless `force` (then parsing starts at offset 0);
/// - file meta = every leading group 0002 element (the group length is not trusted), explicit VR LE
///   unless its first element looks implicit; then any group 0000 (command) elements, implicit VR LE;
/// - the data set's encoding comes from (0002,0010), or without it from the first element (explicit when
///   its VR bytes are a known VR, big endian when its group >= 0x0400); pydicom's check of the first
///   element's VR bytes then may switch implicit/explicit, for the data set and for each sequence item;
/// - Deflated Explicit VR LE: everything after the meta is inflated; `source` is meta + inflated bytes;
/// - a defined-length value or item running past the end of its region is cut there (pydicom reads a
///   short value); undefined-length sequences/items/values without their delimiter are `.malformed`;
/// - fewer than 8 bytes left at the top level end the data set silently; an item delimiter at the top
///   level ends it too.
///
/// Encapsulated pixel data convention (any element of undefined length that is not a sequence, normally
/// (7FE0,0010)): kind `.bytes`, flags `[.undefinedLength, .encapsulated]`, and `valueOffset..<valueOffset +
/// valueLength` in `source` covers the item stream exactly as pydicom's `ds.PixelData` bytes: it starts
/// at the Basic Offset Table item tag (FFFE,E000) and ends right before the Sequence Delimitation Item
/// (FFFE,E0DD), which is excluded. Every item header in it was checked to lie inside the range. When the
/// content is not a clean item stream, the range ends at the first delimiter byte pattern found by a scan
/// and `.encapsulated` is not set.
public enum DicomReader {
    /// First prefix read when only the header is wanted; doubled until the header fits.
    public static let headerPrefixBytes = 16 * 1024

    /// Reads a file from disk. With `stopBeforePixels` only a prefix of the file is read (16 KiB,
    /// doubled until the header before the pixel data fits).
    public static func read(path: String, options: ReadOptions = ReadOptions()) throws(DicomError) -> Dataset {
        try read(path: FilePath(path), options: options)
    }

    /// Reads a file given as path bytes. `regularOnly` refuses FIFOs, sockets and devices without
    /// opening them (folder scans); otherwise they are read as streams up to `Limits.maxStreamBytes`.
    /// The preamble / 'DICM' (and, with `force` on a stream, the first element) is checked on the
    /// first bytes, before the rest is read, so `/dev/zero` fails at once.
    public static func read(
        path: FilePath, options: ReadOptions = ReadOptions(),
        regularOnly: Bool = false, cancel: CancelFlag = .none
    ) throws(DicomError) -> Dataset {
        let file = try InputFile(path: path, regularOnly: regularOnly)
        file.cancel = cancel
        // The first read: a header prefix, or a whole small file, or just enough to see 'DICM' (a large
        // file, a stream) before anything more is read.
        let first =
            options.stopBeforePixels
            ? headerPrefixBytes
            : file.isRegular && file.size < 1 << 20 ? file.size &+ 1 : 132
        try file.fill(upTo: first)
        try checkStart(file.bytes, atEnd: file.atEnd, force: options.force, stream: !file.isRegular)
        if options.stopBeforePixels {
            var want = headerPrefixBytes
            while true {
                try file.fill(upTo: want)
                if file.atEnd { break }
                do {
                    let ds = try parse(file.bytes, options: options, partial: true)
                    if ds.flags.contains(.stoppedBeforePixels) { return ds.with(fileSize: file.size) }
                } catch {
                    // Not DICOM is final; other errors and data sets that ended early may be due to the
                    // prefix: read more. A limit reached on a prefix (a deflate bomb) goes straight to the
                    // whole file, so the bomb is inflated once, not once per prefix.
                    if error.kind == .invalidDicom { throw error }
                    if error.kind == .limit || error.kind == .outOfMemory || error.message == needsWholeFile {
                        try file.fillAll()
                        break
                    }
                }
                want = want &* 2
            }
        } else {
            try file.fillAll()
        }
        return try parse(file.bytes, options: options, partial: false).with(
            fileSize: file.isRegular ? file.size : file.bytes.count)
    }

    /// The cheap checks made on the first 132 bytes before the rest of a file is read.
    static func checkStart(_ b: [UInt8], atEnd: Bool, force: Bool, stream: Bool) throws(DicomError) {
        let dicm = b.count >= 132 && b[128] == 0x44 && b[129] == 0x49 && b[130] == 0x43 && b[131] == 0x4D
        if dicm { return }
        if !force {
            throw DicomError(
                .invalidDicom, "not a DICOM file: no 'DICM' prefix at offset 128 (use force to read anyway)",
                offset: 128)
        }
        guard stream, b.count >= 8 else { return }
        if b.prefix(8).allSatisfy({ $0 == 0 }) {
            throw DicomError(
                .invalidDicom, "not a DICOM stream: it starts with 8 zero bytes, not a data element", offset: 0)
        }
        // A stream read with force (no preamble) must start like a data set: an element of group
        // 0000 (command), 0002 (file meta) or 0008, in either byte order; anything else (/dev/urandom)
        // is refused before the rest of an endless stream is read.
        let le = Int(b[0]) | Int(b[1]) << 8, be = Int(b[0]) << 8 | Int(b[1])
        if !(le <= 8 || be <= 8) {
            throw DicomError(
                .invalidDicom,
                "not a DICOM stream: it starts with group \(hex4(UInt16(le))), not 0000-0008 "
                    + "(read it from a file, or through a buffer, to parse it anyway)", offset: 0)
        }
    }

    /// Parses an in-memory DICOM stream.
    public static func read(bytes: [UInt8], options: ReadOptions = ReadOptions()) throws(DicomError) -> Dataset {
        try parse(bytes, options: options, partial: false)
    }

    static func parse(_ bytes: [UInt8], options: ReadOptions, partial: Bool) throws(DicomError) -> Dataset {
        var result: Result<Dataset, DicomError>
        result = bytes.withUnsafeBytes { raw in
            do throws(DicomError) {
                return .success(try parseBuffer(bytes, raw, options: options, partial: partial))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Thrown for a prefix of a deflated file: the deflate stream is inflated once, from the whole file.
    static let needsWholeFile = "deflated data set: read the whole file"

    static func parseBuffer(
        _ bytes: [UInt8], _ raw: UnsafeRawBufferPointer, options: ReadOptions,
        partial: Bool = false
    ) throws(DicomError) -> Dataset {
        var parser = Parser(p: raw, options: options)
        var flags: DatasetFlags = []
        var pos = 0
        let n = raw.count
        if n >= 132 && raw[128] == 0x44 && raw[129] == 0x49 && raw[130] == 0x43 && raw[131] == 0x4D {
            flags.insert(.preamble)
            pos = 132
        } else if !options.force {
            throw DicomError(
                .invalidDicom, "not a DICOM file: no 'DICM' prefix at offset 128 (use force to read anyway)",
                offset: 128)
        }
        let defaultCtx = Context(
            implicit: false, bigEndian: false,
            decoder: CharacterSetDecoder(specificCharacterSet: []), pixelRep: -1)
        // File meta information: explicit VR little endian, every group 0002 element (the group length
        // is not trusted, as pydicom).
        var metaCtx = defaultCtx
        metaCtx.implicit = parser.detectImplicit(at: pos, assumed: false, inSequence: false)
        let metaStartIndex = parser.elements.count
        let meta = try parser.parseDataset(from: pos, limit: n, level: .meta, ctx: metaCtx, depth: 0)
        pos = meta.pos
        if meta.count > 0 { flags.insert(.fileMeta) }
        var ts: String? = nil
        for i in metaStartIndex..<parser.elements.count where parser.elements[i].tag == Tags.transferSyntaxUID {
            let e = parser.elements[i]
            if e.kind == .text {
                ts = parser.heap.withUnsafeBufferPointer {
                    String(
                        decoding: UnsafeBufferPointer(rebasing: $0[e.valueOffset..<(e.valueOffset + e.valueLength)]),
                        as: UTF8.self)
                }
            } else if e.kind == .empty {
                ts = nil
            }
        }
        // Command set (group 0000), implicit VR little endian.
        var cmdCtx = defaultCtx
        cmdCtx.implicit = parser.detectImplicit(at: pos, assumed: true, inSequence: false)
        pos = try parser.parseDataset(from: pos, limit: n, level: .command, ctx: cmdCtx, depth: 0).pos

        var implicit = true
        var bigEndian = false
        var deflated = false
        if pos >= n {
            // nothing left
        } else if let ts {
            switch ts {
            case TransferSyntaxUID.implicitVRLittleEndian: implicit = true
            case TransferSyntaxUID.explicitVRBigEndian: implicit = false; bigEndian = true
            case TransferSyntaxUID.deflatedExplicitVRLittleEndian: implicit = false; deflated = true
            default: implicit = false
            }
        } else if n - pos >= 6 {
            let group = raw.loadUnaligned(fromByteOffset: pos, as: UInt16.self)
            let vr = VRCode.pack(raw[pos + 4], raw[pos + 5])
            if VRCode.isKnown(vr) {
                implicit = false
                if group >= 1024 { bigEndian = true }
            }
        }

        if deflated {
            if partial { throw DicomError(.malformed, needsWholeFile) }
            flags.insert(.deflated)
            let inflated = try inflateRaw(
                UnsafeRawBufferPointer(rebasing: raw[pos..<n]),
                prefix: UnsafeRawBufferPointer(rebasing: raw[0..<pos]), offset: pos)
            let r: Result<Dataset, DicomError> = inflated.withUnsafeBytes { raw2 in
                do throws(DicomError) {
                    var p2 = parser
                    p2.p = raw2
                    p2.n = raw2.count
                    return .success(
                        try finish(
                            &p2, source: inflated, start: pos, implicit: implicit,
                            bigEndian: bigEndian, flags: flags, ts: ts))
                } catch {
                    return .failure(error)
                }
            }
            return try r.get()
        }
        return try finish(
            &parser, source: bytes, start: pos, implicit: implicit, bigEndian: bigEndian, flags: flags, ts: ts)
    }

    static func finish(
        _ parser: inout Parser, source: [UInt8], start: Int, implicit assumedImplicit: Bool,
        bigEndian: Bool, flags inFlags: DatasetFlags, ts: String?
    ) throws(DicomError) -> Dataset {
        var flags = inFlags
        let implicit = parser.detectImplicit(at: start, assumed: assumedImplicit, inSequence: false)
        let ctx = Context(
            implicit: implicit, bigEndian: bigEndian,
            decoder: CharacterSetDecoder(specificCharacterSet: []), pixelRep: -1)
        let top = try parser.parseDataset(from: start, limit: parser.n, level: .top, ctx: ctx, depth: 0)
        if implicit { flags.insert(.implicitVR) }
        if bigEndian { flags.insert(.bigEndian) }
        if parser.stopped { flags.insert(.stoppedBeforePixels) }
        let tsText =
            ts
            ?? (implicit
                ? TransferSyntaxUID.implicitVRLittleEndian
                : bigEndian ? TransferSyntaxUID.explicitVRBigEndian : TransferSyntaxUID.explicitVRLittleEndian)
        if parser.stopped {
            // A header: callers keep hundreds of them (a scan), so keep only the bytes parsed, in arrays
            // sized to fit. Fresh memory is touched once instead of a read prefix per file.
            let end = min(max(top.pos, 0), source.count)
            let header = Dataset(
                source: fitted(source[..<end]), heap: fitted(parser.heap[...]),
                elements: fitted(parser.elements[...]), flags: flags, transferSyntax: tsText,
                characterSet: parser.topCharacterSet ?? "")
            header.pixelDataOffset = parser.stoppedAt
            return header
        }
        let ds = Dataset(
            source: source, heap: parser.heap, elements: parser.elements, flags: flags,
            transferSyntax: tsText, characterSet: parser.topCharacterSet ?? "")
        ds.pixelDataOffset = parser.stoppedAt
        return ds
    }
}

/// A copy of `s` in storage of its own size (`Array(slice)` may keep the whole original buffer).
func fitted<T>(_ s: ArraySlice<T>) -> [T] {
    [T](unsafeUninitializedCapacity: s.count) { buf, n in
        n = s.withUnsafeBufferPointer { src in
            guard let from = src.baseAddress, let to = buf.baseAddress else { return 0 }
            to.initialize(from: from, count: src.count)
            return src.count
        }
    }
}
