import DicomBytes
import DicomCodecs
import DicomDictionary
import DicomParser
import PetctConcurrency

/// "(GGGG,EEEE) 'Name'", an element as pydicom's pixel messages name it (the name from the data dictionary).
func elementLabel(_ tag: UInt32) -> String {
    "\(formatTag(tag)) '\(DataDictionary.entry(for: tag)?.name ?? "")'"
}

/// Layout of a data set's pixel_array, as pydicom shapes it.
public struct PixelInfo: Sendable {
    public var frames = 1, rows = 0, columns = 0, samples = 1
    public var bitsAllocated = 0, bitsStored = 0, pixelRepresentation = 0, planarConfiguration = 0
    /// NumPy dtype kind of pixel_array: "u", "i" or "f".
    public var dtypeKind: UInt8 = UInt8(ascii: "u")
    public var itemsize = 1
    public var shape: [Int] = []
    public var nbytes = 0
    public var photometric = ""
    public var transferSyntax = ""
    public init() {}
}

/// Decodes pixel data to exactly what pydicom 3's `Dataset.pixel_array` returns (default options:
/// unused high bits corrected, YBR_FULL / YBR_FULL_422 converted to RGB, excess native frames kept),
/// except that the array is always in native byte order.
public enum PixelDecoder {
    /// Largest pixel_array we agree to produce.
    public static let maximumOutputBytes = 1 << 32

    public static func info(_ ds: Dataset) throws(DicomError) -> PixelInfo {
        try PixelLayout(ds).info
    }

    /// Decodes pixel_array into `out` (C order, native byte order, exactly `info(ds).nbytes` bytes).
    /// The frames of a multi-frame compressed object decode on at most `threads` threads (0 = all cores).
    public static func decode(
        _ ds: Dataset, into out: UnsafeMutableRawBufferPointer,
        threads: Int = 0, cancel: CancelFlag = .none
    ) throws(DicomError) {
        var layout = try PixelLayout(ds)
        layout.cancel = cancel
        guard out.count == layout.info.nbytes, let base = out.baseAddress else {
            throw DicomError(.argument, "pixel buffer is \(out.count) bytes, pixel_array needs \(layout.info.nbytes)")
        }
        try layout.decode(ds, into: base, threads: threads)
    }

    /// Decodes pixel_array converted to float32 as stored * slope + intercept, with the rescale of
    /// each frame (see `rescale(_:frames:)`). `out` holds frames * rows * columns * samples floats.
    public static func decodeRescaled(
        _ ds: Dataset, into out: UnsafeMutableBufferPointer<Float>,
        threads: Int = 0, cancel: CancelFlag = .none
    ) throws(DicomError) {
        var layout = try PixelLayout(ds)
        layout.cancel = cancel
        let count = layout.info.nbytes / layout.info.itemsize
        guard out.count == count, let base = out.baseAddress else {
            throw DicomError(.argument, "float buffer holds \(out.count) values, pixel_array has \(count)")
        }
        let params = try rescale(ds, frames: layout.info.frames)
        try layout.decodeRescaled(ds, into: base, rescale: params, threads: threads)
    }

    /// Whether the data set has a pixel data element (7FE0,0010), (7FE0,0008) or (7FE0,0009).
    public static func hasPixelData(_ ds: Dataset) -> Bool {
        ds.index(of: Tags.pixelData) != nil || ds.index(of: Tags.floatPixelData) != nil
            || ds.index(of: Tags.doubleFloatPixelData) != nil
    }
}

extension String {
    /// Without surrounding spaces and NULs.
    func trimmingCharacters() -> String { String(trimmingPadding()) }
}

enum PixelKeyword {
    case pixelData, floatPixelData, doubleFloatPixelData
    var tag: UInt32 {
        switch self {
        case .pixelData: return Tags.pixelData
        case .floatPixelData: return Tags.floatPixelData
        case .doubleFloatPixelData: return Tags.doubleFloatPixelData
        }
    }
}

/// The syntaxes pixel decoding treats apart; the names of the basic ones come from `TransferSyntax`.
enum TransferSyntaxes {
    static var explicitBig: String { TransferSyntax.explicitVRBigEndian }
    static var rle: String { TransferSyntax.rleLossless }
    /// JPEG syntaxes whose colour space pydicom conforms to the codestream (JFIF / component ids).
    static let jpegFamily: Set<String> = [
        "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
        "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
    ]
    /// pydicom applies a codestream-dependent sign correction instead of the unused-bits correction.
    static let signCorrected: Set<String> = [
        "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
        "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203",
    ]
    static func isNative(_ uid: String) -> Bool { uid.isEmpty || TransferSyntax.isNative(uid) }
}

private let knownPhotometric: Set<String> = [
    "MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT",
    "YBR_RCT", "HSV", "ARGB", "CMYK", "YBR_PARTIAL_422", "YBR_PARTIAL_420",
]

/// Everything needed to decode, resolved and validated once from the data set.
struct PixelLayout {
    var info = PixelInfo()
    /// Checked between frames: set by the caller to stop a long multi-frame decode.
    var cancel = CancelFlag.none
    var keyword = PixelKeyword.pixelData
    var pixelIndex = 0
    /// Absolute range of the pixel data value in `ds.source`.
    var dataRange: Range<Int> = 0..<0
    var encapsulated = false
    /// Multi-byte samples of native data are big endian in the source.
    var swapBytes = false
    /// Big endian 8-bit data in an OW element: bytes are swapped pairwise.
    var swapPairs = false
    /// Native YBR_FULL_422 (4 values per 2 pixels) to expand.
    var ybr422 = false
    /// YBR_FULL / YBR_FULL_422 converted to RGB (pydicom's default as_rgb).
    var toRGB = false
    /// JPEG data with 3 samples: the colour space follows the codestream headers.
    var jpegConform = false
    /// Bits Allocated - Bits Stored when pydicom corrects the unused bits, else 0.
    var shift = 0
    /// Number of bytes pydicom reads from the native value.
    var nativeBytes = 0
    /// Whether the decoded (encapsulated) frame is interleaved, or must be read as planar.
    var decodedPlanar = false

    var pixelsPerFrame: Int { info.rows * info.columns }
    var valuesPerFrame: Int { info.rows * info.columns * info.samples }
    var frameBytes: Int { valuesPerFrame * info.itemsize }

    init(_ ds: Dataset) throws(DicomError) {
        // Which pixel element.
        var found: [(PixelKeyword, Int)] = []
        for kw in [PixelKeyword.floatPixelData, .doubleFloatPixelData, .pixelData] {
            if let i = ds.index(of: kw.tag) { found.append((kw, i)) }
        }
        guard let (kw, index) = found.first else {
            if ds.flags.contains(.stoppedBeforePixels) {
                throw DicomError(.noPixels, "the data set was read without its pixel data")
            }
            throw DicomError(
                .noPixels,
                "the data set has no Pixel Data (7FE0,0010), Float Pixel Data (7FE0,0008) "
                    + "or Double Float Pixel Data (7FE0,0009) element")
        }
        guard found.count == 1 else {
            throw DicomError(
                .malformed, "only one of Pixel Data, Float Pixel Data or Double Float Pixel Data may be present",
                tag: found[1].0.tag)
        }
        keyword = kw
        pixelIndex = index
        let element = ds.elements[index]
        // pydicom decodes with the file meta's Transfer Syntax UID; without one, the syntax the data
        // set was read with.
        var ts = ds.string(Tags.transferSyntaxUID)?.trimmingCharacters() ?? ""
        if ts.isEmpty { ts = ds.transferSyntax }
        info.transferSyntax = ts
        encapsulated = element.flags.contains(.encapsulated) || !TransferSyntaxes.isNative(ts)
        if encapsulated && keyword != .pixelData {
            throw DicomError(.malformed, "float pixel data cannot be encapsulated", tag: keyword.tag)
        }

        // Image pixel module, validated as pydicom does.
        func required(_ tag: UInt32) throws(DicomError) -> Int {
            guard let v = ds.int(tag) else {
                throw DicomError(.malformed, "missing required element \(elementLabel(tag))", tag: tag)
            }
            return v
        }
        func invalid(_ tag: UInt32, _ value: some Any, _ rule: String = "") -> DicomError {
            DicomError(.malformed, "a \(elementLabel(tag)) value of '\(value)' is invalid" + rule, tag: tag)
        }
        let ba = try required(Tags.bitsAllocated)
        guard ba >= 1, ba <= 64, ba == 1 || ba % 8 == 0 else {
            throw invalid(Tags.bitsAllocated, ba, ", it must be 1 or a multiple of 8 and in the range (1, 64)")
        }
        info.bitsAllocated = ba
        if keyword == .pixelData {
            let bs = try required(Tags.bitsStored)
            guard bs >= 1, bs <= ba else {
                throw invalid(
                    Tags.bitsStored, bs,
                    ", it must be in the range (1, 64) and no greater than the \(elementLabel(Tags.bitsAllocated)) value of '\(ba)'"
                )
            }
            info.bitsStored = bs
        } else {
            info.bitsStored = ds.int(Tags.bitsStored) ?? ba
        }
        let columns = try required(Tags.columns)
        guard columns > 0, columns <= 65535 else {
            throw invalid(Tags.columns, columns)
        }
        var frames = 1
        if let i = ds.index(of: Tags.numberOfFrames), ds.ints(at: i).isEmpty,
            let text = ds.text(at: i)?.trimmingCharacters(), !text.isEmpty
        {
            throw DicomError(
                .malformed, "invalid \(elementLabel(Tags.numberOfFrames)) value '\(text)'", tag: Tags.numberOfFrames)
        }
        if let i = ds.index(of: Tags.numberOfFrames), let n = ds.ints(at: i).first {
            guard n >= 0 else {
                throw invalid(Tags.numberOfFrames, n)
            }
            guard n <= Int64(Int32.max) else {
                throw DicomError(
                    .malformed, "a \(elementLabel(Tags.numberOfFrames)) value of '\(n)' is too large",
                    tag: Tags.numberOfFrames)
            }
            frames = n == 0 ? 1 : Int(n)
        }
        guard let pi = ds.string(Tags.photometricInterpretation), !pi.isEmpty else {
            throw DicomError(
                .malformed, "missing required element \(elementLabel(Tags.photometricInterpretation))",
                tag: Tags.photometricInterpretation)
        }
        guard knownPhotometric.contains(pi) else {
            throw DicomError(
                .malformed, "unknown \(elementLabel(Tags.photometricInterpretation)) value '\(pi)'",
                tag: Tags.photometricInterpretation)
        }
        info.photometric = pi
        if keyword == .pixelData {
            let pr = try required(Tags.pixelRepresentation)
            guard pr == 0 || pr == 1 else {
                throw invalid(Tags.pixelRepresentation, pr, ", it must be 0 or 1")
            }
            info.pixelRepresentation = pr
        } else {
            info.pixelRepresentation = ds.int(Tags.pixelRepresentation) ?? 0
        }
        let rows = try required(Tags.rows)
        guard rows > 0, rows <= 65535 else {
            throw invalid(Tags.rows, rows)
        }
        let samples = try required(Tags.samplesPerPixel)
        guard samples == 1 || samples == 3 else {
            throw invalid(Tags.samplesPerPixel, samples, ", it must be 1 or 3")
        }
        var planar = 0
        if samples == 3 {
            planar = try required(Tags.planarConfiguration)
            guard planar == 0 || planar == 1 else {
                throw invalid(Tags.planarConfiguration, planar)
            }
        } else {
            planar = ds.int(Tags.planarConfiguration) ?? 0
        }
        info.rows = rows; info.columns = columns; info.samples = samples; info.planarConfiguration = planar

        // dtype
        switch keyword {
        case .floatPixelData:
            guard ba == 32 else {
                throw DicomError(
                    .malformed, "Float Pixel Data needs 32 bits allocated, not \(ba)", tag: Tags.bitsAllocated)
            }
            info.dtypeKind = UInt8(ascii: "f"); info.itemsize = 4
        case .doubleFloatPixelData:
            guard ba == 64 else {
                throw DicomError(
                    .malformed, "Double Float Pixel Data needs 64 bits allocated, not \(ba)", tag: Tags.bitsAllocated)
            }
            info.dtypeKind = UInt8(ascii: "f"); info.itemsize = 8
        case .pixelData:
            guard ba == 1 || ba == 8 || ba == 16 || ba == 32 || ba == 64 else {
                throw DicomError(
                    .malformed, "no NumPy data type holds pixel data with \(ba) bits allocated",
                    tag: Tags.bitsAllocated)
            }
            info.dtypeKind = ba == 1 || info.pixelRepresentation == 0 ? UInt8(ascii: "u") : UInt8(ascii: "i")
            info.itemsize = ba == 1 ? 1 : ba / 8
            if ba > info.bitsStored && !TransferSyntaxes.signCorrected.contains(ts) {
                shift = ba - info.bitsStored
            }
        }

        // The value's bytes.
        switch element.kind {
        case .bytes:
            let start = element.valueOffset, length = element.valueLength
            guard start >= 0, length >= 0, start <= ds.source.count, length <= ds.source.count - start else {
                throw DicomError.malformed("pixel data value lies outside the file", offset: start, tag: keyword.tag)
            }
            dataRange = start..<(start + length)
        case .empty:
            dataRange = 0..<0
        default:
            throw DicomError(
                .malformed, "pixel data element does not hold bytes", offset: element.fileOffset, tag: keyword.tag)
        }

        ybr422 = !encapsulated && pi == "YBR_FULL_422"
        if encapsulated && samples == 3 && TransferSyntaxes.jpegFamily.contains(ts) {
            // pydicom first conforms the colour space to the codestream (component ids, JFIF marker);
            // the conversion is decided per decode from the frame headers.
            jpegConform = true
        } else if pi == "YBR_FULL" || pi == "YBR_FULL_422" {
            guard samples == 3 else {
                throw DicomError(
                    .malformed, "photometric interpretation \(pi) needs 3 samples per pixel", tag: Tags.samplesPerPixel)
            }
            try checkConvertible(pi)
            toRGB = true
        }

        if encapsulated {
            guard ba != 1 else {
                throw DicomError(
                    .unsupportedTransferSyntax, "encapsulated bit-packed (1 bit allocated) pixel data is not supported",
                    tag: Tags.bitsAllocated)
            }
            // pydicom's RLE decoders return planar frames and its JPEG-LS plugin declares interleaved
            // ones; for the other codecs pydicom reshapes the decoded frame with the data set's value.
            decodedPlanar =
                samples == 3 && planar == 1 && ts != TransferSyntaxes.rle
                && ts != "1.2.840.10008.1.2.4.80" && ts != "1.2.840.10008.1.2.4.81"
            guard frames <= dataRange.count / 8 else {
                throw DicomError.malformed(
                    "\(frames) frames cannot fit in \(dataRange.count) bytes of encapsulated pixel data",
                    offset: dataRange.lowerBound, tag: keyword.tag)
            }
        } else {
            frames = try checkNativeLength(
                frames: frames, element: element, bigEndian: ts == TransferSyntaxes.explicitBig)
        }
        info.frames = frames

        // Shape and size.
        var shape = frames > 1 ? [frames, rows, columns] : [rows, columns]
        if samples > 1 { shape.append(samples) }
        info.shape = shape
        var total = info.itemsize
        for d in shape {
            let (p, o) = total.multipliedReportingOverflow(by: d)
            guard !o, p <= PixelDecoder.maximumOutputBytes else {
                throw DicomError(
                    .malformed, "pixel_array of shape \(shape) would exceed \(PixelDecoder.maximumOutputBytes) bytes",
                    tag: keyword.tag)
            }
            total = p
        }
        if encapsulated {
            // Bounded before anyone allocates the output: the decode limit relative to the bytes present.
            try Limits.checkDecoded(
                total, compressed: dataRange.count, what: "the encapsulated pixel data (shape \(shape))",
                offset: dataRange.lowerBound, tag: keyword.tag)
        }
        info.nbytes = total
    }

    /// pydicom converts only unsigned 8-bit YBR data to RGB and raises for anything else.
    func checkConvertible(_ pi: String) throws(DicomError) {
        guard info.dtypeKind == UInt8(ascii: "u"), info.itemsize == 1 else {
            throw DicomError(
                .malformed,
                "cannot convert \(pi) pixel data with \(info.bitsAllocated) bits allocated to RGB "
                    + "(only unsigned 8-bit data can be converted)", tag: Tags.bitsAllocated)
        }
    }

    /// Checks the native value length as pydicom does and returns the number of frames (pydicom
    /// keeps whole excess frames). Sets nativeBytes, swapBytes and swapPairs.
    private mutating func checkNativeLength(frames nominal: Int, element: Element, bigEndian big: Bool)
        throws(DicomError) -> Int
    {
        var frames = nominal
        let actual = dataRange.count
        // Frame length in bits (bit-packed data need not end on a byte).
        let valuesPerFrame = info.rows * info.columns * info.samples
        var frameBits = valuesPerFrame * info.bitsAllocated
        if ybr422 {
            guard info.bitsAllocated >= 8 else {
                throw DicomError(.malformed, "YBR_FULL_422 pixel data cannot be bit-packed", tag: Tags.bitsAllocated)
            }
            frameBits = (valuesPerFrame * (info.bitsAllocated / 8)) / 3 * 2 * 8
        }
        guard frameBits > 0 else {
            throw DicomError(.malformed, "empty frame", tag: keyword.tag)
        }
        func expectedBytes(_ n: Int) throws(DicomError) -> Int {
            let (bits, o) = frameBits.multipliedReportingOverflow(by: n)
            guard !o, bits / 8 <= PixelDecoder.maximumOutputBytes * 2 else {
                throw DicomError(
                    .malformed, "pixel data of \(n) frames of \(info.rows) x \(info.columns) is too large",
                    tag: keyword.tag)
            }
            return (bits + 7) / 8
        }
        let expected = try expectedBytes(frames)
        let padded = expected + expected % 2
        if actual < padded && actual != expected {
            throw DicomError.malformed(
                "the pixel data is \(actual) bytes long, less than the \(padded) bytes expected for \(frames) frame(s) of "
                    + "\(info.rows) x \(info.columns) x \(info.samples) with \(info.bitsAllocated) bits allocated",
                offset: dataRange.lowerBound, tag: keyword.tag)
        }
        if actual > padded {
            if ybr422 {
                let ybrLength = expected / 2 * 3
                if actual >= ybrLength + ybrLength % 2 {
                    throw DicomError.malformed(
                        "the pixel data is \(actual) bytes long, a third larger than expected (\(expected)): "
                            + "the photometric interpretation YBR_FULL_422 is probably wrong",
                        offset: dataRange.lowerBound, tag: Tags.photometricInterpretation)
                }
            } else {
                // pydicom keeps whole excess frames.
                let whole = actual * 8 / frameBits
                if whole > frames {
                    guard frameBits % 8 == 0 else {
                        throw DicomError.malformed(
                            "bit-packed pixel data holds excess frames that are not byte-aligned",
                            offset: dataRange.lowerBound, tag: keyword.tag)
                    }
                    frames = whole
                }
            }
        }
        nativeBytes = try expectedBytes(frames)
        if ybr422 && (frames * info.rows * info.columns) % 2 != 0 {
            throw DicomError(
                .malformed, "YBR_FULL_422 pixel data needs an even number of pixels",
                tag: Tags.photometricInterpretation)
        }
        swapBytes = big && info.itemsize > 1 && info.bitsAllocated > 8
        swapPairs = big && info.bitsAllocated == 8 && keyword == .pixelData && element.vr == vrCode("OW")
        if swapPairs && actual < nativeBytes + nativeBytes % 2 {
            throw DicomError.malformed(
                "big endian OW pixel data of odd length \(actual) lacks its padding byte",
                offset: dataRange.lowerBound, tag: keyword.tag)
        }
        return frames
    }
}
