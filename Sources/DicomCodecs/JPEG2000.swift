import COpenJPEG
import DicomBytes

#if canImport(Glibc)
import Glibc
#endif

/// JPEG 2000 (1.2.840.10008.1.2.4.90 / .91) and High-Throughput JPEG 2000 (.201 / .202 / .203),
/// decoded from memory with OpenJPEG 2.5 (system library, Debian package libopenjp2-7-dev).
/// The frame may be a raw codestream (FF 4F FF 51) or a JP2 file (signature box).
///
/// Output: interleaved samples, little-endian, 1 byte per sample for precision <= 8, 2 for <= 16,
/// 4 above. A multiple component transform (YBR_ICT / YBR_RCT) is undone by OpenJPEG, so colour
/// frames come out as RGB, as pydicom 3 + pylibjpeg-openjpeg return them (pydicom then reports
/// the photometric interpretation as RGB).
///
/// Sign, matching pydicom 3 + pylibjpeg-openjpeg: samples of signed components are sign-extended;
/// for single-component frames whose signedness differs from Pixel Representation, the values are
/// re-read as the data set says: sign-extended from the codestream precision (Pixel Representation
/// 1, unsigned codestream) or masked to it (Pixel Representation 0, signed codestream); "single
/// component" stands in for pydicom's MONOCHROME1/2 test. With Pixel Representation 1, when Bits
/// Allocated asks for a wider container than the precision does, the samples are written in that
/// container so the sign survives the pixel layer's zero-extending copy.
public enum JPEG2000Decoder {
    /// The bytes being decoded and the first error OpenJPEG reported.
    private final class Source {
        let base: UnsafeRawPointer
        let count: Int
        var position = 0
        var error: String? = nil
        init(base: UnsafeRawPointer, count: Int) { self.base = base; self.count = count }
    }

    public static func decode(_ data: UnsafeRawBufferPointer, _ expected: FrameExpectation) throws(DicomError)
        -> DecodedFrame
    {
        guard data.count >= 12, let base = data.baseAddress else {
            throw .malformed("JPEG 2000: stream too short (\(data.count) bytes)", offset: 0)
        }
        let format: CODEC_FORMAT
        if data[0] == 0xFF && data[1] == 0x4F && data[2] == 0xFF && data[3] == 0x51 {
            format = OPJ_CODEC_J2K
        } else if data[0] == 0 && data[1] == 0 && data[2] == 0 && data[3] == 0x0C && data[4] == 0x6A
            && data[5] == 0x50 && data[6] == 0x20 && data[7] == 0x20
        {
            format = OPJ_CODEC_JP2
        } else {
            throw .malformed("JPEG 2000: neither a codestream (FF4F FF51) nor a JP2 file signature", offset: 0)
        }
        try checkSIZ(data, expected)

        let source = Source(base: base, count: data.count)
        let context = Unmanaged.passUnretained(source).toOpaque()
        return try withExtendedLifetime(source) { () throws(DicomError) -> DecodedFrame in
            guard let stream = opj_stream_create(64 * 1024, 1) else {
                throw DicomError(.internalError, "JPEG 2000: cannot create an OpenJPEG stream")
            }
            defer { opj_stream_destroy(stream) }
            opj_stream_set_user_data(stream, context, nil)
            opj_stream_set_user_data_length(stream, UInt64(data.count))
            opj_stream_set_read_function(stream) { buffer, n, user in
                let s = Unmanaged<Source>.fromOpaque(user!).takeUnretainedValue()
                let left = s.count - s.position
                if left <= 0 { return -1 }  // (OPJ_SIZE_T)-1: end of stream
                let k = min(left, n)
                buffer!.copyMemory(from: s.base + s.position, byteCount: k)
                s.position += k
                return k
            }
            opj_stream_set_skip_function(stream) { n, user in
                let s = Unmanaged<Source>.fromOpaque(user!).takeUnretainedValue()
                if n < 0 {
                    let back = n < -Int64(s.position) ? -Int64(s.position) : n
                    s.position += Int(back)
                    return back
                }
                let left = Int64(s.count - s.position)
                if left <= 0 { return -1 }
                let k = min(left, n)
                s.position += Int(k)
                return k
            }
            opj_stream_set_seek_function(stream) { to, user in
                let s = Unmanaged<Source>.fromOpaque(user!).takeUnretainedValue()
                if to < 0 || to > Int64(s.count) { return 0 }
                s.position = Int(to)
                return 1
            }

            guard let codec = opj_create_decompress(format) else {
                throw DicomError(.internalError, "JPEG 2000: cannot create an OpenJPEG decoder")
            }
            defer { opj_destroy_codec(codec) }
            // Errors are collected (the first one is reported); warnings and information are dropped.
            _ = opj_set_error_handler(
                codec,
                { msg, user in
                    guard let msg, let user else { return }
                    let s = Unmanaged<Source>.fromOpaque(user).takeUnretainedValue()
                    if s.error == nil {
                        var m = String(cString: msg)
                        while m.last == "\n" || m.last == " " { m.removeLast() }
                        s.error = m
                    }
                }, context)
            _ = opj_set_warning_handler(codec, { _, _ in }, nil)
            _ = opj_set_info_handler(codec, { _, _ in }, nil)

            var parameters = opj_dparameters_t()
            opj_set_default_decoder_parameters(&parameters)
            guard opj_setup_decoder(codec, &parameters) != 0 else {
                throw failure(source, "setting up the decoder")
            }
            var imagePointer: UnsafeMutablePointer<opj_image_t>? = nil
            defer { if let imagePointer { opj_image_destroy(imagePointer) } }
            guard opj_read_header(stream, codec, &imagePointer) != 0, let image = imagePointer else {
                throw failure(source, "reading the header")
            }
            let header = try checkHeader(image.pointee, expected)
            // Large frames (radiographs) decode their code-blocks on several threads; the typical
            // CT/PET frame stays single-threaded since the pixel layer decodes frames in parallel.
            if expected.rows * expected.columns * expected.samples >= 1 << 20 && opj_has_thread_support() != 0 {
                let cpus = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
                if cpus > 1 { _ = opj_codec_set_threads(codec, Int32(min(cpus, 8))) }
            }
            guard opj_decode(codec, stream, image) != 0 else {
                throw failure(source, "decoding")
            }
            _ = opj_end_decompress(codec, stream)
            return try convert(image.pointee, header, expected)
        }
    }

    /// Reads the SIZ marker itself before OpenJPEG sees the stream: the image size and component count
    /// must be the data set's, and the tile grid at most the 65,535 tiles a codestream can index (Isot
    /// is 16 bits), so no allocation OpenJPEG makes from the header (per-tile and per-component tables)
    /// is sized by a claim the frame does not back.
    static func checkSIZ(_ data: UnsafeRawBufferPointer, _ expected: FrameExpectation) throws(DicomError) {
        var at = -1
        var i = 0
        while i + 4 <= data.count {
            if data[i] == 0xFF && data[i + 1] == 0x4F && data[i + 2] == 0xFF && data[i + 3] == 0x51 { at = i; break }
            i += 1
        }
        guard at >= 0, at + 4 + 40 <= data.count else {
            throw .malformed("JPEG 2000: no complete SIZ marker", offset: max(at, 0))
        }
        func u32(_ o: Int) -> Int {
            Int(data[o]) << 24 | Int(data[o + 1]) << 16 | Int(data[o + 2]) << 8 | Int(data[o + 3])
        }
        let s = at + 4  // Lsiz
        let xsiz = u32(s + 4), ysiz = u32(s + 8), xo = u32(s + 12), yo = u32(s + 16)
        let xt = u32(s + 20), yt = u32(s + 24), xto = u32(s + 28), yto = u32(s + 32)
        let csiz = Int(data[s + 36]) << 8 | Int(data[s + 37])
        let width = xsiz - xo, height = ysiz - yo
        guard width == expected.columns, height == expected.rows, csiz == expected.samples else {
            throw .malformed(
                "JPEG 2000: image is \(height)x\(width)x\(csiz) but the data set says "
                    + "\(expected.rows)x\(expected.columns)x\(expected.samples)", offset: at)
        }
        guard xt > 0, yt > 0, xto <= xo, yto <= yo else {
            throw .malformed("JPEG 2000: invalid tile grid in SIZ", offset: at)
        }
        let (tiles, overflow) = ((xsiz - xto + xt - 1) / xt).multipliedReportingOverflow(by: (ysiz - yto + yt - 1) / yt)
        guard !overflow, tiles <= 65535 else {
            throw .malformed("JPEG 2000: SIZ asks for \(tiles) tiles (at most 65535)", offset: at)
        }
    }

    private struct Header {
        var precision: Int
        var signed: Bool
    }

    /// Checks the image geometry against the data set before anything large is allocated.
    private static func checkHeader(_ image: opj_image_t, _ expected: FrameExpectation) throws(DicomError) -> Header {
        let columns = Int(image.x1) - Int(image.x0), rows = Int(image.y1) - Int(image.y0)
        let samples = Int(image.numcomps)
        if rows != expected.rows || columns != expected.columns || samples != expected.samples {
            throw .malformed(
                "JPEG 2000: image is \(rows)x\(columns)x\(samples) but the data set says "
                    + "\(expected.rows)x\(expected.columns)x\(expected.samples)", offset: 0)
        }
        guard samples >= 1, let comps = image.comps else {
            throw .malformed("JPEG 2000: image has no components", offset: 0)
        }
        var precision = 0
        for c in 0..<samples {
            let comp = comps[c]
            if comp.dx != 1 || comp.dy != 1 {
                throw DicomError(
                    .unsupportedTransferSyntax,
                    "JPEG 2000: component \(c) is subsampled (\(comp.dx)x\(comp.dy)), which is not supported", offset: 0
                )
            }
            if comp.prec < 1 || comp.prec > 32 {
                throw .malformed("JPEG 2000: component \(c) has precision \(comp.prec)", offset: 0)
            }
            precision = max(precision, Int(comp.prec))
        }
        return Header(precision: Int(comps[0].prec), signed: comps[0].sgnd != 0)
    }

    private static func convert(_ image: opj_image_t, _ header: Header, _ expected: FrameExpectation) throws(DicomError)
        -> DecodedFrame
    {
        let rows = expected.rows, columns = expected.columns, samples = expected.samples
        guard let comps = image.comps else {
            throw .malformed("JPEG 2000: image has no components", offset: 0)
        }
        var maxPrecision = 0
        var anySigned = false
        for c in 0..<samples {
            let comp = comps[c]
            // After decoding the component sizes must still be the image's (no reduction asked).
            guard Int(comp.w) == columns, Int(comp.h) == rows, comp.data != nil else {
                throw .malformed(
                    "JPEG 2000: component \(c) decoded to \(comp.h)x\(comp.w), expected \(rows)x\(columns)", offset: 0)
            }
            maxPrecision = max(maxPrecision, Int(comp.prec))
            anySigned = anySigned || comp.sgnd != 0
        }
        let bytes = maxPrecision <= 8 ? 1 : maxPrecision <= 16 ? 2 : 4
        // pydicom's sign correction: single-component (monochrome) frames whose codestream signedness
        // differs from Pixel Representation, with unused bits in the precision's container.
        let wantSigned = expected.pixelRepresentation == 1
        let precision = header.precision
        let correct = samples == 1 && header.signed != wantSigned && precision < 8 * bytes
        // Negative values are widened to the Bits Allocated container only for a signed data set; for
        // an unsigned one pydicom keeps the bit pattern in the precision's container (zero-extended).
        let mayBeNegative = correct ? wantSigned : anySigned
        var outBytes = bytes
        if mayBeNegative && wantSigned {
            let container = expected.bitsAllocated / 8
            if (container == 2 || container == 4) && container > bytes { outBytes = container }
        }
        let pixels = rows * columns
        let (count, o1) = pixels.multipliedReportingOverflow(by: samples)
        let (outSize, o2) = count.multipliedReportingOverflow(by: outBytes)
        guard !o1 && !o2 else {
            throw .malformed("JPEG 2000: image of \(rows)x\(columns)x\(samples) is too large", offset: 0)
        }
        try Limits.probeAllocation(outSize, what: "the JPEG 2000 frame")
        let out = [UInt8](unsafeUninitializedCapacity: outSize) { buf, initialized in
            guard let dst = buf.baseAddress else { initialized = 0; return }
            let raw = UnsafeMutableRawPointer(dst)
            for c in 0..<samples {
                let src = comps[c].data!
                if correct {
                    let shift = Int32(32 - precision)
                    if wantSigned {
                        store(raw, outBytes, c, samples, pixels) { (src[$0] << shift) >> shift }
                    } else {
                        let mask = Int32(bitPattern: UInt32.max >> UInt32(shift))
                        store(raw, outBytes, c, samples, pixels) { src[$0] & mask }
                    }
                } else {
                    store(raw, outBytes, c, samples, pixels) { src[$0] }
                }
            }
            initialized = outSize
        }
        return DecodedFrame(
            rows: rows, columns: columns, samples: samples, precision: maxPrecision,
            bytesPerSample: outBytes, data: out)
    }

    /// Writes component `c` (values from `value(p)` for pixel p) interleaved into `dst`.
    @inline(__always)
    private static func store(
        _ dst: UnsafeMutableRawPointer, _ bytes: Int, _ c: Int, _ samples: Int, _ pixels: Int,
        _ value: (Int) -> Int32
    ) {
        switch bytes {
        case 1:
            let d = dst.assumingMemoryBound(to: UInt8.self)
            if samples == 1 {
                for p in 0..<pixels { d[p] = UInt8(truncatingIfNeeded: value(p)) }
            } else {
                for p in 0..<pixels { d[p &* samples &+ c] = UInt8(truncatingIfNeeded: value(p)) }
            }
        case 2:
            let d = dst.assumingMemoryBound(to: UInt16.self)
            if samples == 1 {
                for p in 0..<pixels { d[p] = UInt16(truncatingIfNeeded: value(p)).littleEndian }
            } else {
                for p in 0..<pixels { d[p &* samples &+ c] = UInt16(truncatingIfNeeded: value(p)).littleEndian }
            }
        default:
            let d = dst.assumingMemoryBound(to: UInt32.self)
            for p in 0..<pixels { d[p &* samples &+ c] = UInt32(bitPattern: value(p)).littleEndian }
        }
    }

    private static func failure(_ source: Source, _ what: String) -> DicomError {
        var message = "JPEG 2000: OpenJPEG failed while \(what)"
        if let e = source.error { message += ": " + e }
        return .malformed(message, offset: 0)
    }
}
