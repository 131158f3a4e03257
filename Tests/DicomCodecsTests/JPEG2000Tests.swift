import Testing
import DicomBytes
import COpenJPEG
@testable import DicomCodecs

// JPEG 2000: streams made with OpenJPEG's own encoder, decoded by JPEG2000Decoder.

private final class Sink {
    var bytes: [UInt8] = []
    var position = 0
}

/// Encodes interleaved `values` with OpenJPEG: raw codestream or JP2, lossless (5/3) or lossy (9/7).
func encodeJ2K(_ values: [Int], rows: Int, cols: Int, nf: Int, bits: Int, signed: Bool = false,
               jp2: Bool = false, lossy: Bool = false, mct: Bool = true) -> [UInt8] {
    var parms = [opj_image_cmptparm_t](repeating: opj_image_cmptparm_t(), count: nf)
    for c in 0..<nf {
        parms[c].dx = 1; parms[c].dy = 1; parms[c].w = UInt32(cols); parms[c].h = UInt32(rows)
        parms[c].prec = UInt32(bits); parms[c].sgnd = signed ? 1 : 0
    }
    let image = opj_image_create(UInt32(nf), &parms, nf == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY)!
    defer { opj_image_destroy(image) }
    image.pointee.x0 = 0; image.pointee.y0 = 0
    image.pointee.x1 = UInt32(cols); image.pointee.y1 = UInt32(rows)
    for c in 0..<nf {
        let d = image.pointee.comps[c].data!
        for p in 0..<(rows * cols) { d[p] = Int32(values[p * nf + c]) }
    }
    var params = opj_cparameters_t()
    opj_set_default_encoder_parameters(&params)
    // Up to 3 resolution levels; tiny images need fewer (each level halves the size).
    var levels: Int32 = 1
    while levels < 3 && (1 << levels) <= min(rows, cols) { levels += 1 }
    params.numresolution = levels
    params.tcp_numlayers = 1
    params.cp_disto_alloc = 1
    params.tcp_rates.0 = lossy ? 4 : 0
    params.irreversible = lossy ? 1 : 0
    params.tcp_mct = nf == 3 && mct ? 1 : 0
    let codec = opj_create_compress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K)!
    defer { opj_destroy_codec(codec) }
    precondition(opj_setup_encoder(codec, &params, image) != 0)
    let sink = Sink()
    let stream = opj_stream_create(64 * 1024, 0)!
    defer { opj_stream_destroy(stream) }
    let context = Unmanaged.passUnretained(sink).toOpaque()
    opj_stream_set_user_data(stream, context, nil)
    opj_stream_set_write_function(stream) { buf, n, user in
        let s = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
        let src = UnsafeRawBufferPointer(start: buf!, count: n)
        let end = s.position + n
        if end > s.bytes.count { s.bytes += [UInt8](repeating: 0, count: end - s.bytes.count) }
        s.bytes.replaceSubrange(s.position..<end, with: src)
        s.position = end
        return n
    }
    opj_stream_set_skip_function(stream) { n, user in
        let s = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
        s.position += Int(n)
        if s.position > s.bytes.count { s.bytes += [UInt8](repeating: 0, count: s.position - s.bytes.count) }
        return n
    }
    opj_stream_set_seek_function(stream) { to, user in
        let s = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
        s.position = Int(to)
        if s.position > s.bytes.count { s.bytes += [UInt8](repeating: 0, count: s.position - s.bytes.count) }
        return 1
    }
    precondition(opj_start_compress(codec, image, stream) != 0)
    precondition(opj_encode(codec, stream) != 0)
    precondition(opj_end_compress(codec, stream) != 0)
    return withExtendedLifetime(sink) { sink.bytes }
}

private func j2kExpectation(_ rows: Int, _ cols: Int, _ nf: Int, _ bits: Int, ba: Int? = nil, signed: Bool = false) -> FrameExpectation {
    FrameExpectation(rows: rows, columns: cols, samples: nf, bitsAllocated: ba ?? (bits <= 8 ? 8 : 16), bitsStored: bits,
                     pixelRepresentation: signed ? 1 : 0)
}

private func signed16(_ f: DecodedFrame) -> [Int] { samples(f).map { Int(Int16(truncatingIfNeeded: $0)) } }

@Suite struct JPEG2000DecoderTests {
    @Test(arguments: [(1, 8, false), (1, 12, false), (1, 16, false), (3, 8, false), (3, 8, true), (1, 12, true), (1, 7, false)])
    func losslessRoundTrip(nf: Int, bits: Int, jp2: Bool) throws {
        let values = randomImage(rows: 19, cols: 26, nf: nf, bits: bits, seed: UInt64(nf * 100 + bits), smooth: true)
        let stream = encodeJ2K(values, rows: 19, cols: 26, nf: nf, bits: bits, jp2: jp2)
        #expect(jp2 ? stream[4] == 0x6A : stream[0] == 0xFF && stream[1] == 0x4F)
        let f = try decodeWith(JPEG2000Decoder.decode, stream, j2kExpectation(19, 26, nf, bits))
        #expect(f.rows == 19 && f.columns == 26 && f.samples == nf && f.precision == bits)
        #expect(f.bytesPerSample == (bits <= 8 ? 1 : 2))
        #expect(samples(f) == values)
    }

    @Test func colourWithoutMCTRoundTrips() throws {
        let values = randomImage(rows: 8, cols: 8, nf: 3, bits: 8, seed: 5)
        let stream = encodeJ2K(values, rows: 8, cols: 8, nf: 3, bits: 8, mct: false)
        #expect(samples(try decodeWith(JPEG2000Decoder.decode, stream, j2kExpectation(8, 8, 3, 8))) == values)
    }

    @Test func lossyIsClose() throws {
        let values = randomImage(rows: 32, cols: 32, nf: 1, bits: 12, seed: 21, smooth: true)
        let stream = encodeJ2K(values, rows: 32, cols: 32, nf: 1, bits: 12, lossy: true)
        let got = samples(try decodeWith(JPEG2000Decoder.decode, stream, j2kExpectation(32, 32, 1, 12)))
        #expect(got.count == values.count)
        let meanError = Double(zip(got, values).map { abs($0 - $1) }.reduce(0, +)) / Double(values.count)
        #expect(meanError > 0 && meanError < 128)
    }

    @Test func signedCodestreamIsSignExtended() throws {
        let values = [-2048, -1, 0, 1, 2047, -300]
        let stream = encodeJ2K(values, rows: 2, cols: 3, nf: 1, bits: 12, signed: true)
        let f = try decodeWith(JPEG2000Decoder.decode, stream, j2kExpectation(2, 3, 1, 12, signed: true))
        #expect(f.bytesPerSample == 2)
        #expect(signed16(f) == values)
        // 8-bit signed in 16 bits allocated: written in the 16-bit container, sign intact.
        let s8 = encodeJ2K([-128, -1, 0, 127], rows: 2, cols: 2, nf: 1, bits: 8, signed: true)
        let f8 = try decodeWith(JPEG2000Decoder.decode, s8, j2kExpectation(2, 2, 1, 8, ba: 16, signed: true))
        #expect(f8.bytesPerSample == 2)
        #expect(signed16(f8) == [-128, -1, 0, 127])
    }

    @Test func signednessMismatchFollowsPydicom() throws {
        // Unsigned codestream, Pixel Representation 1: sign-extended from the precision.
        let u = encodeJ2K([0, 1, 4095, 2048], rows: 2, cols: 2, nf: 1, bits: 12)
        let fu = try decodeWith(JPEG2000Decoder.decode, u, j2kExpectation(2, 2, 1, 12, signed: true))
        #expect(signed16(fu) == [0, 1, -1, -2048])
        // Signed codestream, Pixel Representation 0: masked to the precision.
        let s = encodeJ2K([-1, 0, -2048, 5], rows: 2, cols: 2, nf: 1, bits: 12, signed: true)
        let fs = try decodeWith(JPEG2000Decoder.decode, s, j2kExpectation(2, 2, 1, 12))
        #expect(samples(fs) == [4095, 0, 2048, 5])
        // Signed 8-bit codestream, unsigned data set with 16 bits allocated: pydicom keeps the 8-bit
        // pattern (no unused bits in the 1-byte container, nothing to correct), zero-extended.
        let s8 = encodeJ2K([-128, -1, 0, 127], rows: 2, cols: 2, nf: 1, bits: 8, signed: true)
        let f8 = try decodeWith(JPEG2000Decoder.decode, s8, j2kExpectation(2, 2, 1, 8, ba: 16))
        #expect(f8.bytesPerSample == 1)
        #expect(samples(f8) == [128, 255, 0, 127])
    }

    @Test func geometryMismatchIsMalformed() throws {
        let stream = encodeJ2K([Int](repeating: 3, count: 12), rows: 3, cols: 4, nf: 1, bits: 8)
        for e in [j2kExpectation(4, 3, 1, 8), j2kExpectation(3, 4, 3, 8), j2kExpectation(3, 5, 1, 8)] {
            do {
                _ = try decodeWith(JPEG2000Decoder.decode, stream, e)
                Issue.record("geometry mismatch did not throw")
            } catch {
                #expect(error.kind == .malformed)
            }
        }
    }

    @Test func truncatedAndCorruptStreamsThrow() throws {
        let values = randomImage(rows: 40, cols: 40, nf: 1, bits: 12, seed: 17)
        let stream = encodeJ2K(values, rows: 40, cols: 40, nf: 1, bits: 12)
        let e = j2kExpectation(40, 40, 1, 12)
        for cut in [0, 2, 11, 40, stream.count / 2, stream.count - 10] {
            do {
                _ = try decodeWith(JPEG2000Decoder.decode, Array(stream.prefix(cut)), e)
                Issue.record("truncation at \(cut) did not throw")
            } catch {
                #expect(error.kind == .malformed)
                #expect(error.message.hasPrefix("JPEG 2000"))
            }
        }
        #expect(throws: DicomError.self) { try decodeWith(JPEG2000Decoder.decode, [UInt8](repeating: 0x42, count: 64), e) }
        var rng = SplitMix64(5)
        for _ in 0..<200 {
            var s = stream
            let k = rng.below(s.count)
            s[k] = UInt8(truncatingIfNeeded: rng.below(256))
            if let f = try? decodeWith(JPEG2000Decoder.decode, s, e) { #expect(f.data.count == 40 * 40 * 2) }
        }
    }
}

// HTJ2K (OpenJPEG's encoder cannot write it): codestreams made once with OpenJPH's ojph_compress
// (openjph-tools) from synthetic images; each carries a CAP marker (FF50). The lossless ones must
// give the source image back; the lossy one must equal what pylibjpeg-openjpeg 2.6 decodes.
private let htj2k_g12: [UInt8] = [
    0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x40, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x0B, 0x01, 0x01, 0xFF, 0x50, 0x00, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x07, 0xFF, 0x52,
    0x00, 0x0C, 0x00, 0x02, 0x00, 0x01, 0x00, 0x02, 0x04, 0x04, 0x40, 0x01, 0xFF, 0x5C, 0x00, 0x0A, 0x20, 0x70, 0x78,
    0x78, 0x78, 0x70, 0x70, 0x78, 0xFF, 0x64, 0x00, 0x16, 0x00, 0x01, 0x4F, 0x70, 0x65, 0x6E, 0x4A, 0x50, 0x48, 0x20,
    0x56, 0x65, 0x72, 0x20, 0x30, 0x2E, 0x39, 0x2E, 0x30, 0x2E, 0xFF, 0x90, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x7D, 0x00, 0x01, 0xFF, 0x93, 0xC0, 0x01, 0x6C, 0x80, 0xFF, 0x3F, 0xD2, 0xD7, 0xFE, 0xB5, 0xD7, 0x5E, 0xA6, 0x8B,
    0x8F, 0x4F, 0x4F, 0xDA, 0xD7, 0x39, 0xA1, 0x00, 0x6D, 0xFC, 0x84, 0x02, 0xA9, 0xB8, 0x00, 0xC0, 0x00, 0xA9, 0x80,
    0x01, 0x57, 0x00, 0x02, 0x60, 0xA6, 0x00, 0x66, 0xA0, 0x18, 0x8C, 0x62, 0x56, 0x00, 0x98, 0xE5, 0x33, 0x29, 0xEB,
    0xC0, 0x41, 0x81, 0xBE, 0xB6, 0x00, 0xC0, 0xA0, 0x00, 0x47, 0xE5, 0x00, 0xC0, 0x01, 0x5F, 0x00, 0x05, 0xA5, 0x00,
    0x02, 0x50, 0x08, 0x07, 0x27, 0x00, 0x03, 0xFB, 0xE6, 0x02, 0x5C, 0xA5, 0x94, 0x70, 0x82, 0x79, 0x00, 0xB4, 0x48,
    0x2E, 0x9C, 0x00, 0x83, 0x45, 0xE8, 0xFA, 0x0C, 0x60, 0x7B, 0xF6, 0x21, 0x01, 0xEC, 0xBA, 0x00, 0xF8, 0xFD, 0x08,
    0x54, 0x00, 0xFF, 0xD9
]
private let htj2k_rgb8: [UInt8] = [
    0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x2F, 0x40, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x03, 0x07, 0x01, 0x01, 0x07, 0x01, 0x01, 0x07, 0x01, 0x01, 0xFF, 0x50, 0x00, 0x08, 0x00, 0x02,
    0x00, 0x00, 0x00, 0x04, 0xFF, 0x52, 0x00, 0x0C, 0x00, 0x02, 0x00, 0x01, 0x01, 0x02, 0x04, 0x04, 0x40, 0x01, 0xFF,
    0x5C, 0x00, 0x0A, 0x20, 0x58, 0x60, 0x60, 0x60, 0x58, 0x58, 0x60, 0xFF, 0x64, 0x00, 0x16, 0x00, 0x01, 0x4F, 0x70,
    0x65, 0x6E, 0x4A, 0x50, 0x48, 0x20, 0x56, 0x65, 0x72, 0x20, 0x30, 0x2E, 0x39, 0x2E, 0x30, 0x2E, 0xFF, 0x90, 0x00,
    0x0A, 0x00, 0x00, 0x00, 0x00, 0x00, 0xA5, 0x00, 0x01, 0xFF, 0x93, 0xC0, 0x0A, 0x80, 0x81, 0x7E, 0xB8, 0xFB, 0x00,
    0x83, 0x34, 0x00, 0xC0, 0x0A, 0x90, 0x02, 0x04, 0x0B, 0x16, 0xF8, 0x01, 0x03, 0x34, 0x00, 0xC0, 0x09, 0xC0, 0x04,
    0xCA, 0xC0, 0x00, 0x42, 0xB4, 0x00, 0xC0, 0x04, 0xB0, 0x01, 0x20, 0x33, 0xAA, 0x62, 0xB3, 0x00, 0xFC, 0x00, 0x13,
    0x00, 0xC0, 0x04, 0xF0, 0x01, 0x28, 0x86, 0x71, 0x5D, 0x00, 0x42, 0xB4, 0x00, 0x7D, 0x00, 0x03, 0x54, 0x00, 0xC0,
    0x04, 0xB0, 0x01, 0x28, 0x36, 0xF0, 0x22, 0xB3, 0x00, 0x10, 0xFE, 0x33, 0x53, 0x00, 0xC0, 0x0A, 0xA8, 0x01, 0x3C,
    0x00, 0x4E, 0x9F, 0x90, 0x9F, 0x90, 0x01, 0x3B, 0x48, 0xB5, 0xB6, 0x00, 0x00, 0x00, 0x00, 0x68, 0xAD, 0xB5, 0x00,
    0xFF, 0x7F, 0x00, 0x68, 0xAD, 0xB5, 0x00, 0xC0, 0x0A, 0xC8, 0x01, 0x38, 0x00, 0xC0, 0x5A, 0x00, 0xC0, 0x5A, 0x13,
    0xB4, 0x00, 0xB5, 0xB6, 0x00, 0x7B, 0x77, 0xC1, 0xC9, 0xEC, 0xB5, 0x00, 0xC0, 0x09, 0xE0, 0x04, 0xA0, 0x00, 0xF0,
    0x07, 0x6A, 0xFD, 0xB5, 0x00, 0x56, 0xD5, 0xEC, 0xB4, 0x00, 0xFF, 0xD9
]
private let htj2k_g8lossy: [UInt8] = [
    0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x40, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x01, 0xFF, 0x50, 0x00, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x20, 0xFF, 0x52,
    0x00, 0x0C, 0x00, 0x02, 0x00, 0x01, 0x00, 0x02, 0x04, 0x04, 0x40, 0x00, 0xFF, 0x5C, 0x00, 0x11, 0x22, 0x3C, 0x6B,
    0x3C, 0xD2, 0x3C, 0xD2, 0x3D, 0x3C, 0x34, 0xA8, 0x34, 0xA8, 0x34, 0x4E, 0xFF, 0x64, 0x00, 0x16, 0x00, 0x01, 0x4F,
    0x70, 0x65, 0x6E, 0x4A, 0x50, 0x48, 0x20, 0x56, 0x65, 0x72, 0x20, 0x30, 0x2E, 0x39, 0x2E, 0x30, 0x2E, 0xFF, 0x90,
    0x00, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x31, 0x00, 0x01, 0xFF, 0x93, 0xC0, 0x9C, 0xC1, 0xF4, 0x29, 0x00, 0x43,
    0x34, 0x00, 0xC0, 0x92, 0x04, 0x80, 0xFA, 0x22, 0x73, 0x00, 0x88, 0x13, 0x53, 0x00, 0xC1, 0x2C, 0x12, 0x80, 0xF0,
    0xA0, 0x0B, 0xE4, 0x00, 0xF0, 0xC0, 0x3A, 0x94, 0x00, 0xFF, 0xD9
]
private let htj2k_g8lossy_pylibjpeg: [Int] = [
    5, 16, 33, 47, 61, 78, 90, 110, 19, 30, 47, 62, 76, 93, 104, 125, 43, 54, 71, 85, 99, 116, 128, 148, 63, 73, 91,
    105, 119, 136, 147, 168, 82, 93, 110, 124, 139, 155, 167, 187, 104, 115, 132, 146, 160, 177, 189, 209, 119, 130,
    147, 161, 175, 192, 203, 224, 140, 151, 168, 182, 197, 213, 225, 245
]

@Suite struct HTJ2KDecoderTests {
    @Test func lossless12BitGreyscale() throws {
        // Raw codestream with a CAP marker segment right after SIZ (Lsiz = 0x29): HTJ2K.
        #expect(htj2k_g12[0] == 0xFF && htj2k_g12[1] == 0x4F && htj2k_g12[0x2D] == 0xFF && htj2k_g12[0x2E] == 0x50)
        var source: [Int] = []
        for y in 0..<12 { for x in 0..<16 { source.append((x * 37 + y * 91 + x * y * 5) % 4096) } }
        let f = try decodeWith(JPEG2000Decoder.decode, htj2k_g12, j2kExpectation(12, 16, 1, 12))
        #expect(f.precision == 12 && f.bytesPerSample == 2)
        #expect(samples(f) == source)
    }

    @Test func losslessRGBWithColourTransform() throws {
        var source: [Int] = []
        for y in 0..<8 {
            for x in 0..<8 { source += [(x * 13 + y * 7) % 256, (x * x + y * 3) % 256, (255 - x * 9 - y * 11) & 0xFF] }
        }
        let f = try decodeWith(JPEG2000Decoder.decode, htj2k_rgb8, j2kExpectation(8, 8, 3, 8))
        #expect(f.samples == 3 && f.bytesPerSample == 1)
        #expect(samples(f) == source)
    }

    @Test func lossyMatchesPylibjpeg() throws {
        let f = try decodeWith(JPEG2000Decoder.decode, htj2k_g8lossy, j2kExpectation(8, 8, 1, 8))
        #expect(samples(f) == htj2k_g8lossy_pylibjpeg)
    }

    @Test func truncatedThrows() throws {
        for cut in [20, htj2k_g12.count / 2] {
            #expect(throws: DicomError.self) {
                try decodeWith(JPEG2000Decoder.decode, Array(htj2k_g12.prefix(cut)), j2kExpectation(12, 16, 1, 12))
            }
        }
    }
}
