import DicomBytes
import DicomParser
import Testing

@testable import DicomPixels

private let pixelDataTag: UInt32 = 0x7FE0_0010
private let rle = "1.2.840.10008.1.2.5"

// MARK: native layouts

@Test func native8BitUnsigned() throws {
    let px: [UInt8] = [0, 1, 2, 3, 250, 255]
    let ds = makeDataset(imagePixel(rows: 2, columns: 3, bitsAllocated: 8) + [(pixelDataTag, .bytes(px, vr: "OB"))])
    let (info, v) = try decodeArray(ds, as: UInt8.self)
    #expect(info.shape == [2, 3])
    #expect(info.dtypeKind == UInt8(ascii: "u") && info.itemsize == 1 && info.nbytes == 6)
    #expect(v == px)
}

@Test func native8BitSignedWithUnusedBits() throws {
    // Bits Stored 4: 0x0F -> -1, 0xF7 -> 7, 0x08 -> -8
    let ds = makeDataset(
        imagePixel(rows: 1, columns: 3, bitsAllocated: 8, bitsStored: 4, signed: true)
            + [(pixelDataTag, .bytes([0x0F, 0xF7, 0x08, 0], vr: "OB"))])
    let (info, v) = try decodeArray(ds, as: Int8.self)
    #expect(info.dtypeKind == UInt8(ascii: "i"))
    #expect(v == [-1, 7, -8])
}

@Test func native16BitSignedBitsStored12() throws {
    // 0x0FFF is -1 in 12 bits, 0xF7FF has garbage high bits: 0x7FF = 2047, 0x0800 = -2048.
    let raw: [UInt16] = [0x0FFF, 0xF7FF, 0x0800, 0x0005]
    let ds = makeDataset(
        imagePixel(rows: 2, columns: 2, bitsAllocated: 16, bitsStored: 12, signed: true)
            + [(pixelDataTag, .bytes(le16(raw)))])
    let (info, v) = try decodeArray(ds, as: Int16.self)
    #expect(info.shape == [2, 2] && info.itemsize == 2 && info.dtypeKind == UInt8(ascii: "i"))
    #expect(v == [-1, 2047, -2048, 5])
}

@Test func native16BitUnsignedIsMasked() throws {
    let raw: [UInt16] = [0xF123, 0x0FFF, 0x1000]
    let ds = makeDataset(
        imagePixel(rows: 1, columns: 3, bitsAllocated: 16, bitsStored: 12)
            + [(pixelDataTag, .bytes(le16(raw)))])
    let (_, v) = try decodeArray(ds, as: UInt16.self)
    #expect(v == [0x123, 0xFFF, 0])
}

@Test func native16BitFullRangeIsACopy() throws {
    let raw: [UInt16] = (0..<64).map { UInt16($0 * 1021 & 0xFFFF) }
    let ds = makeDataset(
        imagePixel(rows: 8, columns: 8, bitsAllocated: 16, signed: true)
            + [(pixelDataTag, .bytes(le16(raw)))])
    let (_, v) = try decodeArray(ds, as: Int16.self)
    #expect(v == raw.map { Int16(bitPattern: $0) })
}

@Test func native32BitSignedAndUnsigned() throws {
    let raw: [UInt32] = [0xFFFF_FFFF, 7, 0x8000_0000]
    let signed = makeDataset(
        imagePixel(rows: 1, columns: 3, bitsAllocated: 32, signed: true)
            + [(pixelDataTag, .bytes(le32(raw)))])
    let (info, s) = try decodeArray(signed, as: Int32.self)
    #expect(info.itemsize == 4 && info.nbytes == 12)
    #expect(s == [-1, 7, Int32.min])
    let unsigned = makeDataset(
        imagePixel(rows: 1, columns: 3, bitsAllocated: 32, bitsStored: 24)
            + [(pixelDataTag, .bytes(le32(raw)))])
    let (_, u) = try decodeArray(unsigned, as: UInt32.self)
    #expect(u == [0xFF_FFFF, 7, 0])
}

@Test func native1BitUnpacksLSBFirstAcrossFrames() throws {
    // Two 3x3 frames = 18 bits; frame boundaries are not byte aligned.
    let bits: [UInt8] = [
        1, 0, 0, 1, 1, 0, 1, 0, 1,
        0, 1, 1, 1, 0, 0, 0, 1, 1,
    ]
    var packed = [UInt8](repeating: 0, count: 3)
    for (i, b) in bits.enumerated() { packed[i / 8] |= b << UInt8(i % 8) }
    let ds = makeDataset(
        imagePixel(rows: 3, columns: 3, bitsAllocated: 1, frames: 2)
            + [(pixelDataTag, .bytes(packed + [0], vr: "OB"))])
    let (info, v) = try decodeArray(ds, as: UInt8.self)
    #expect(info.shape == [2, 3, 3] && info.dtypeKind == UInt8(ascii: "u") && info.itemsize == 1)
    #expect(v == bits)
}

@Test func nativeRGBPlanarConfigurations() throws {
    // 2x2 RGB: pixel k = (10k, 10k+1, 10k+2)
    var interleaved: [UInt8] = []
    for k in 0..<4 { for s in 0..<3 { interleaved.append(UInt8(10 * k + s)) } }
    var planar: [UInt8] = []
    for s in 0..<3 { for k in 0..<4 { planar.append(UInt8(10 * k + s)) } }
    let ds0 = makeDataset(
        imagePixel(rows: 2, columns: 2, bitsAllocated: 8, samples: 3, planar: 0)
            + [(pixelDataTag, .bytes(interleaved, vr: "OB"))])
    let ds1 = makeDataset(
        imagePixel(rows: 2, columns: 2, bitsAllocated: 8, samples: 3, planar: 1)
            + [(pixelDataTag, .bytes(planar, vr: "OB"))])
    let (i0, v0) = try decodeArray(ds0, as: UInt8.self)
    let (i1, v1) = try decodeArray(ds1, as: UInt8.self)
    #expect(i0.shape == [2, 2, 3] && i1.shape == [2, 2, 3])
    #expect(v0 == interleaved)
    #expect(v1 == interleaved)
}

@Test func nativeMultiFramePlanarRGB16() throws {
    // 2 frames of 1x2 RGB, 16-bit, planar.
    var planar: [UInt16] = []
    var expected: [UInt16] = []
    for f in 0..<2 {
        for s in 0..<3 { for p in 0..<2 { planar.append(UInt16(1000 * f + 100 * s + p)) } }
        for p in 0..<2 { for s in 0..<3 { expected.append(UInt16(1000 * f + 100 * s + p)) } }
    }
    let ds = makeDataset(
        imagePixel(rows: 1, columns: 2, bitsAllocated: 16, samples: 3, planar: 1, frames: 2)
            + [(pixelDataTag, .bytes(le16(planar)))])
    let (info, v) = try decodeArray(ds, as: UInt16.self)
    #expect(info.shape == [2, 1, 2, 3])
    #expect(v == expected)
}

@Test func numberOfFramesOneGivesTwoDimensions() throws {
    let ds = makeDataset(
        imagePixel(rows: 2, columns: 2, bitsAllocated: 8, frames: 1)
            + [(pixelDataTag, .bytes([1, 2, 3, 4], vr: "OB"))])
    #expect(try PixelDecoder.info(ds).shape == [2, 2])
    let ds3 = makeDataset(
        imagePixel(rows: 2, columns: 1, bitsAllocated: 8, frames: 3)
            + [(pixelDataTag, .bytes([1, 2, 3, 4, 5, 6], vr: "OB"))])
    let (info, v) = try decodeArray(ds3, as: UInt8.self)
    #expect(info.shape == [3, 2, 1] && info.frames == 3)
    #expect(v == [1, 2, 3, 4, 5, 6])
}

@Test func bigEndianSwapsWords() throws {
    let raw: [UInt16] = [0x0102, 0xFFFE, 0x0800]
    let ds = makeDataset(
        imagePixel(rows: 1, columns: 3, bitsAllocated: 16, bitsStored: 12, signed: true)
            + [(pixelDataTag, .bytes(be16(raw)))],
        transferSyntax: "1.2.840.10008.1.2.2", bigEndian: true)
    let (_, v) = try decodeArray(ds, as: Int16.self)
    #expect(v == [0x102, -2, -2048])
    // 32-bit float pixel data, big endian.
    let f: [Float] = [1.5, -2.25]
    let bytes = f.flatMap { x in (0..<4).reversed().map { UInt8((x.bitPattern >> (8 * UInt32($0))) & 0xFF) } }
    let fds = makeDataset(
        [
            (0x0028_0002, .int([1])), (0x0028_0004, .text("MONOCHROME2")), (0x0028_0010, .int([1])),
            (0x0028_0011, .int([2])), (0x0028_0100, .int([32])), (0x7FE0_0008, .bytes(bytes, vr: "OF")),
        ],
        transferSyntax: "1.2.840.10008.1.2.2", bigEndian: true)
    let (finfo, fv) = try decodeArray(fds, as: Float.self)
    #expect(finfo.dtypeKind == UInt8(ascii: "f") && finfo.itemsize == 4)
    #expect(fv == f)
}

@Test func bigEndian8BitOWIsPairSwapped() throws {
    // 1x3 8-bit encoded as OW big endian: bytes 1,2,3,pad -> 02 01 00 03
    let ds = makeDataset(
        imagePixel(rows: 1, columns: 3, bitsAllocated: 8)
            + [(pixelDataTag, .bytes([2, 1, 0, 3], vr: "OW"))],
        transferSyntax: "1.2.840.10008.1.2.2", bigEndian: true)
    let (_, v) = try decodeArray(ds, as: UInt8.self)
    #expect(v == [1, 2, 3])
    // The same bytes as OB are taken as they are.
    let ob = makeDataset(
        imagePixel(rows: 1, columns: 3, bitsAllocated: 8)
            + [(pixelDataTag, .bytes([2, 1, 0, 3], vr: "OB"))],
        transferSyntax: "1.2.840.10008.1.2.2", bigEndian: true)
    #expect(try decodeArray(ob, as: UInt8.self).1 == [2, 1, 0])
}

@Test func doubleFloatPixelData() throws {
    let d: [Double] = [0.5, -1e300, 3]
    let ds = makeDataset([
        (0x0028_0002, .int([1])), (0x0028_0004, .text("MONOCHROME2")), (0x0028_0010, .int([3])),
        (0x0028_0011, .int([1])), (0x0028_0100, .int([64])),
        (0x7FE0_0009, .bytes(le64(d.map { $0.bitPattern }), vr: "OD")),
    ])
    let (info, v) = try decodeArray(ds, as: Double.self)
    #expect(info.itemsize == 8 && info.dtypeKind == UInt8(ascii: "f") && info.shape == [3, 1])
    #expect(v == d)
}

@Test func oddLengthPaddingAndExcessData() throws {
    // 3 bytes + pad byte: fine.
    let padded = makeDataset(
        imagePixel(rows: 1, columns: 3, bitsAllocated: 8)
            + [(pixelDataTag, .bytes([7, 8, 9, 0], vr: "OB"))])
    #expect(try decodeArray(padded, as: UInt8.self).1 == [7, 8, 9])
    // Extra bytes short of a whole frame are ignored.
    let longer = makeDataset(
        imagePixel(rows: 2, columns: 2, bitsAllocated: 8)
            + [(pixelDataTag, .bytes([1, 2, 3, 4, 5, 6], vr: "OB"))])
    let (li, lv) = try decodeArray(longer, as: UInt8.self)
    #expect(li.shape == [2, 2] && lv == [1, 2, 3, 4])
    // Whole excess frames are kept, as pydicom does.
    let excess = makeDataset(
        imagePixel(rows: 2, columns: 2, bitsAllocated: 8)
            + [(pixelDataTag, .bytes([1, 2, 3, 4, 5, 6, 7, 8], vr: "OB"))])
    let (ei, ev) = try decodeArray(excess, as: UInt8.self)
    #expect(ei.shape == [2, 2, 2] && ev == [1, 2, 3, 4, 5, 6, 7, 8])
}

@Test func truncatedPixelDataIsAnError() {
    let ds = makeDataset(
        imagePixel(rows: 4, columns: 4, bitsAllocated: 16)
            + [(pixelDataTag, .bytes([UInt8](repeating: 1, count: 30)))])
    let e = dicomError { _ = try decodeArray(ds, as: UInt16.self) }
    #expect(e?.kind == .malformed)
    #expect(e?.tag == pixelDataTag)
    #expect(e?.offset == 16)  // where the value starts in the source
}

@Test func missingAttributesAreNamed() {
    var entries = imagePixel(rows: 2, columns: 2, bitsAllocated: 8)
    entries.removeAll { $0.0 == 0x0028_0010 }
    let ds = makeDataset(entries + [(pixelDataTag, .bytes([1, 2, 3, 4], vr: "OB"))])
    let e = dicomError { _ = try PixelDecoder.info(ds) }
    #expect(e?.tag == 0x0028_0010)
    #expect(e?.message.contains("(0028,0010)") == true)

    var noBA = imagePixel(rows: 2, columns: 2, bitsAllocated: 8)
    noBA.removeAll { $0.0 == 0x0028_0100 }
    let e2 = dicomError {
        _ = try PixelDecoder.info(makeDataset(noBA + [(pixelDataTag, .bytes([1, 2, 3, 4], vr: "OB"))]))
    }
    #expect(e2?.tag == 0x0028_0100)

    let none = makeDataset(imagePixel(rows: 2, columns: 2, bitsAllocated: 8))
    #expect(dicomError { _ = try PixelDecoder.info(none) }?.kind == .noPixels)

    // Without file meta the syntax the data set was read with is used.
    let noMeta = makeDataset(
        imagePixel(rows: 2, columns: 2, bitsAllocated: 8) + [(pixelDataTag, .bytes([1, 2, 3, 4], vr: "OB"))],
        fileMeta: false)
    #expect((try? PixelDecoder.info(noMeta))?.transferSyntax == "1.2.840.10008.1.2.1")

    // A Number of Frames that is not a number (pydicom: int('1A') fails).
    let badFrames = makeDataset(
        imagePixel(rows: 2, columns: 2, bitsAllocated: 8) + [
            (0x0028_0008, .text("1A")),
            (pixelDataTag, .bytes([1, 2, 3, 4], vr: "OB")),
        ])
    #expect(dicomError { _ = try PixelDecoder.info(badFrames) }?.tag == 0x0028_0008)
}

@Test func absurdSizesAreRefused() {
    // 65535 x 65535 x 64-bit x 2 frames > 4 GiB.
    let ds = makeDataset(
        imagePixel(rows: 65535, columns: 65535, bitsAllocated: 64, frames: 2)
            + [(pixelDataTag, .bytes([1, 2, 3, 4]))])
    #expect(dicomError { _ = try PixelDecoder.info(ds) }?.kind == .malformed)
    // A frame count the encapsulated data cannot hold.
    let enc = makeDataset(
        imagePixel(rows: 2, columns: 2, bitsAllocated: 8, frames: 1_000_000)
            + [(pixelDataTag, .bytes(encapsulate([[[1, 2]]], basicOffsets: false), vr: "OB", encapsulated: true))],
        transferSyntax: rle)
    #expect(dicomError { _ = try PixelDecoder.info(enc) }?.kind == .malformed)
}

@Test func wrongOutputSizeIsAnArgumentError() {
    let ds = makeDataset(
        imagePixel(rows: 2, columns: 2, bitsAllocated: 8) + [(pixelDataTag, .bytes([1, 2, 3, 4], vr: "OB"))])
    var buf = [UInt8](repeating: 0, count: 3)
    let e = dicomError { try buf.withUnsafeMutableBytes { try PixelDecoder.decode(ds, into: $0) } }
    #expect(e?.kind == .argument)
}

// MARK: colour

@Test func ybrFullIsConvertedToRGBAsPydicom() throws {
    // Reference values from pydicom.pixels.processing.convert_color_space(..., "YBR_FULL", "RGB").
    let ybr: [[UInt8]] = [
        [128, 128, 128], [76, 85, 255], [150, 44, 21], [29, 255, 107], [0, 0, 0], [255, 255, 255], [100, 200, 50],
    ]
    let rgb: [[UInt8]] = [
        [128, 128, 128], [254, 0, 0], [0, 255, 1], [0, 0, 254], [0, 135, 0], [255, 121, 255], [0, 131, 228],
    ]
    let ds = makeDataset(
        imagePixel(rows: 1, columns: 7, bitsAllocated: 8, samples: 3, photometric: "YBR_FULL")
            + [(pixelDataTag, .bytes(ybr.flatMap { $0 } + [0], vr: "OB"))])
    let (_, v) = try decodeArray(ds, as: UInt8.self)
    #expect(v == rgb.flatMap { $0 })
}

@Test func ybrFull422IsExpandedThenConverted() throws {
    // Y1 Y2 Cb Cr for two pixels with neutral chroma -> grey pixels Y1, Y2.
    let ds = makeDataset(
        imagePixel(rows: 1, columns: 2, bitsAllocated: 8, samples: 3, photometric: "YBR_FULL_422")
            + [(pixelDataTag, .bytes([10, 200, 128, 128], vr: "OB"))])
    let (info, v) = try decodeArray(ds, as: UInt8.self)
    #expect(info.shape == [1, 2, 3])
    #expect(v == [10, 10, 10, 200, 200, 200])
}

// MARK: rescale

@Test func rescaleTopLevel() throws {
    let ds = makeDataset(
        imagePixel(rows: 1, columns: 3, bitsAllocated: 16, signed: true)
            + [
                (0x0028_1052, .float([-1024])), (0x0028_1053, .float([0.5])),
                (pixelDataTag, .bytes(le16([0, 2048, 0xFFFE]))),
            ])
    #expect(try decodeFloats(ds) == [-1024, 0, -1025])
}

@Test func rescalePerFrameFunctionalGroups() throws {
    func transform(_ slope: Double, _ intercept: Double) -> TestValue {
        .sequence([[(0x0028_9145, .sequence([[(0x0028_1052, .float([intercept])), (0x0028_1053, .float([slope]))]]))]])
    }
    // Per-frame group for frames 0 and 1, frame 2's item has no transformation -> shared.
    let perFrame: TestValue = .sequence([
        [(0x0028_9145, .sequence([[(0x0028_1052, .float([1])), (0x0028_1053, .float([2]))]]))],
        [(0x0028_9145, .sequence([[(0x0028_1052, .float([-5])), (0x0028_1053, .float([10]))]]))],
        [(0x0020_9111, .sequence([[]]))],
    ])
    let ds = makeDataset(
        imagePixel(rows: 1, columns: 2, bitsAllocated: 16, frames: 3)
            + [
                (0x5200_9229, transform(3, 100)), (0x5200_9230, perFrame),
                (pixelDataTag, .bytes(le16([1, 2, 3, 4, 5, 6]))),
            ])
    #expect(
        try PixelDecoder.rescale(ds, frames: 3) == [
            Rescale(slope: 2, intercept: 1), Rescale(slope: 10, intercept: -5),
            Rescale(slope: 3, intercept: 100),
        ])
    #expect(try decodeFloats(ds) == [3, 5, 25, 35, 115, 118])
}

@Test func nonFiniteRescaleIsRefusedNamingTheElement() throws {
    // NaN / inf slope or intercept, top level or in a functional group: an error, never 1 / 0.
    for (tag, value) in [(UInt32(0x0028_1053), Double.nan), (0x0028_1052, .infinity), (0x0028_1053, -.infinity)] {
        let ds = makeDataset(
            imagePixel(rows: 1, columns: 2, bitsAllocated: 16)
                + [(tag, .float([value])), (pixelDataTag, .bytes(le16([1, 2])))])
        #expect(throws: DicomError.self) { _ = try decodeFloats(ds) }
        do {
            _ = try PixelDecoder.rescale(ds, frames: 1)
            Issue.record("no error for \(value)")
        } catch {
            #expect(error.kind == .malformed && error.tag == tag)
        }
    }
    let perFrame: TestValue = .sequence([[(0x0028_9145, .sequence([[(0x0028_1053, .float([.nan]))]]))]])
    let ds = makeDataset(
        imagePixel(rows: 1, columns: 2, bitsAllocated: 16, frames: 1)
            + [(0x5200_9230, perFrame), (pixelDataTag, .bytes(le16([1, 2])))])
    #expect(throws: DicomError.self) { _ = try decodeFloats(ds) }
}

@Test func rescaleDefaultsAndNonDirectPaths() throws {
    // No rescale: identity; 1-bit and YBR go through pixel_array first.
    let ds = makeDataset(
        imagePixel(rows: 1, columns: 8, bitsAllocated: 1) + [(pixelDataTag, .bytes([0b1010_0101, 0], vr: "OB"))])
    #expect(try decodeFloats(ds) == [1, 0, 1, 0, 0, 1, 0, 1])
}

// MARK: encapsulated

private func rleDataset(
    _ frames: [[[UInt8]]], rows: Int, columns: Int, bitsAllocated: Int, samples: Int = 1,
    signed: Bool = false, bitsStored: Int? = nil, basicOffsets: Bool = true,
    extra: [(UInt32, TestValue)] = [], photometric: String? = nil,
    transferSyntax: String = rle
) -> Dataset {
    makeDataset(
        imagePixel(
            rows: rows, columns: columns, bitsAllocated: bitsAllocated, bitsStored: bitsStored, signed: signed,
            samples: samples, frames: frames.count, photometric: photometric)
            + extra + [
                (pixelDataTag, .bytes(encapsulate(frames, basicOffsets: basicOffsets), vr: "OB", encapsulated: true))
            ],
        transferSyntax: transferSyntax)
}

@Test func rle8BitSingleFrame() throws {
    let values: [UInt64] = [0, 0, 0, 0, 5, 6, 7, 255, 255, 255, 1, 2]
    let ds = rleDataset([[rleFrame(values, samples: 1, bytes: 1)]], rows: 3, columns: 4, bitsAllocated: 8)
    let (info, v) = try decodeArray(ds, as: UInt8.self)
    #expect(info.shape == [3, 4])
    #expect(v == values.map { UInt8($0) })
}

@Test func rle16BitSignedWithUnusedBits() throws {
    let raw: [UInt16] = [0x0FFF, 0x0800, 0x07FF, 0xF001, 0, 3]
    let ds = rleDataset(
        [[rleFrame(raw.map { UInt64($0) }, samples: 1, bytes: 2)]], rows: 2, columns: 3,
        bitsAllocated: 16, signed: true, bitsStored: 12)
    let (_, v) = try decodeArray(ds, as: Int16.self)
    #expect(v == [-1, -2048, 2047, 1, 0, 3])
}

@Test func rleRGBMultiFrameWithOffsetTableAndSplitFragments() throws {
    // 3 frames of 2x2 RGB; frame 1 is split over two fragments.
    var frames: [[[UInt8]]] = []
    var expected: [UInt8] = []
    for f in 0..<3 {
        let values: [UInt64] = (0..<12).map { UInt64((f * 40 + $0 * 3) & 0xFF) }
        expected += values.map { UInt8($0) }
        let data = rleFrame(values, samples: 3, bytes: 1)
        frames.append(f == 1 ? [Array(data[0..<30]), Array(data[30...])] : [data])
    }
    let ds = rleDataset(frames, rows: 2, columns: 2, bitsAllocated: 8, samples: 3)
    let (info, v) = try decodeArray(ds, as: UInt8.self)
    #expect(info.shape == [3, 2, 2, 3])
    #expect(v == expected)
}

@Test func rleOneFragmentPerFrameWithoutOffsets() throws {
    var frames: [[[UInt8]]] = []
    var expected: [UInt16] = []
    for f in 0..<5 {
        let values: [UInt16] = (0..<6).map { UInt16(f * 1000 + $0 * 300) }
        expected += values
        frames.append([rleFrame(values.map { UInt64($0) }, samples: 1, bytes: 2)])
    }
    let ds = rleDataset(frames, rows: 3, columns: 2, bitsAllocated: 16, basicOffsets: false)
    let (info, v) = try decodeArray(ds, as: UInt16.self)
    #expect(info.shape == [5, 3, 2])
    #expect(v == expected)
    // The same frames decoded rescaled (through a temporary pixel_array).
    let r = makeDataset(
        imagePixel(rows: 3, columns: 2, bitsAllocated: 16, frames: 5) + [(0x0028_1053, .float([2]))]
            + [(pixelDataTag, .bytes(encapsulate(frames, basicOffsets: false), vr: "OB", encapsulated: true))],
        transferSyntax: rle)
    #expect(try decodeFloats(r) == expected.map { Float($0) * 2 })
}

@Test func extendedOffsetTableIsPreferred() throws {
    let a = rleFrame([1, 2, 3, 4], samples: 1, bytes: 1)
    let b = rleFrame([9, 8, 7, 6], samples: 1, bytes: 1)
    // Fragments stored b, a; the extended table lists a first.
    let value = encapsulate([[b], [a]], basicOffsets: false)
    let bItem = 8 + b.count + b.count % 2
    let ds = makeDataset(
        imagePixel(rows: 2, columns: 2, bitsAllocated: 8, frames: 2)
            + [
                (0x7FE0_0001, .bytes(le64([UInt64(bItem), 0]), vr: "OV")),
                (0x7FE0_0002, .bytes(le64([UInt64(a.count), UInt64(b.count)]), vr: "OV")),
                (pixelDataTag, .bytes(value, vr: "OB", encapsulated: true)),
            ],
        transferSyntax: rle)
    let (_, v) = try decodeArray(ds, as: UInt8.self)
    #expect(v == [1, 2, 3, 4, 9, 8, 7, 6])
}

@Test func encapsulatedFramesSplitAtJPEGEndMarkers() throws {
    // No offset table, 4 fragments for 2 frames: frames end at fragments ending in FF D9.
    let frags: [[UInt8]] = [[1, 2, 3, 4], [5, 0xFF, 0xD9, 0], [6, 7], [8, 0xFF, 0xD9, 0]]
    let value = encapsulate([frags], basicOffsets: false)
    let ds = makeDataset(
        imagePixel(rows: 1, columns: 1, bitsAllocated: 8, frames: 2)
            + [(pixelDataTag, .bytes(value, vr: "OB", encapsulated: true))], transferSyntax: rle)
    let frames = try Encapsulation.frames(ds, range: ds.bytesRange(at: ds.index(of: pixelDataTag)!)!, expectedFrames: 2)
    #expect(frames.count == 2)
    #expect(frames.map { $0.count } == [2, 2])
    // Basic offset table grouping: 3 fragments, offsets [0, 16] -> frames of 1 and 2 fragments.
    let bot = encapsulate([[[1, 2, 3, 4, 5, 6, 7, 8]], [[9, 9], [8, 8]]], basicOffsets: true)
    let ds2 = makeDataset(
        imagePixel(rows: 1, columns: 1, bitsAllocated: 8, frames: 2)
            + [(pixelDataTag, .bytes(bot, vr: "OB", encapsulated: true))], transferSyntax: rle)
    let f2 = try Encapsulation.frames(ds2, range: ds2.bytesRange(at: ds2.index(of: pixelDataTag)!)!, expectedFrames: 2)
    #expect(f2.map { $0.count } == [1, 2])
}

@Test func malformedEncapsulationIsAnError() {
    let good = encapsulate([[rleFrame([1, 2, 3, 4], samples: 1, bytes: 1)]], basicOffsets: true)
    // Truncate inside the fragment.
    let cut = Array(good[0..<(good.count - 20)])
    let ds = makeDataset(
        imagePixel(rows: 2, columns: 2, bitsAllocated: 8)
            + [(pixelDataTag, .bytes(cut, vr: "OB", encapsulated: true))], transferSyntax: rle)
    let e = dicomError { _ = try decodeArray(ds, as: UInt8.self) }
    #expect(e?.kind == .malformed && e?.tag == pixelDataTag)
    // Not starting with an item.
    var bad = good
    bad[0] = 0x12
    let ds2 = makeDataset(
        imagePixel(rows: 2, columns: 2, bitsAllocated: 8)
            + [(pixelDataTag, .bytes(bad, vr: "OB", encapsulated: true))], transferSyntax: rle)
    #expect(dicomError { _ = try decodeArray(ds2, as: UInt8.self) }?.kind == .malformed)
    // Fewer frames than Number of Frames.
    let short = rleDataset(
        [[rleFrame([1, 2, 3, 4], samples: 1, bytes: 1)]], rows: 2, columns: 2, bitsAllocated: 8,
        extra: [])
    #expect((try? decodeArray(short, as: UInt8.self)) != nil)
    let two = makeDataset(
        imagePixel(rows: 2, columns: 2, bitsAllocated: 8, frames: 2)
            + [(pixelDataTag, .bytes(good, vr: "OB", encapsulated: true))], transferSyntax: rle)
    #expect(dicomError { _ = try decodeArray(two, as: UInt8.self) }?.kind == .malformed)
    // A frame whose RLE segment is short reports the frame.
    let shortSeg = rleDataset([[rleFrame([1, 2, 3], samples: 1, bytes: 1)]], rows: 2, columns: 2, bitsAllocated: 8)
    let e3 = dicomError { _ = try decodeArray(shortSeg, as: UInt8.self) }
    #expect(e3?.kind == .malformed && e3?.message.hasPrefix("frame 1") == true)
}

@Test func unsupportedSyntaxNamesIt() {
    // MPEG2 Main Profile / Main Level: encapsulated, no decoder.
    let ds = rleDataset(
        [[[0, 0, 1, 0xB3]]], rows: 1, columns: 1, bitsAllocated: 8,
        transferSyntax: "1.2.840.10008.1.2.4.100")
    let e = dicomError { _ = try decodeArray(ds, as: UInt8.self) }
    #expect(e?.kind == .unsupportedTransferSyntax)
    #expect(e?.message.contains("not supported") == true)
    #expect(e?.message.contains("1.2.840.10008.1.2.4.100") == true)
}

@Test func rleYBRIsConvertedToRGB() throws {
    let ybr: [UInt64] = [76, 85, 255, 128, 128, 128]
    let ds = rleDataset(
        [[rleFrame(ybr, samples: 3, bytes: 1)]], rows: 1, columns: 2, bitsAllocated: 8, samples: 3,
        photometric: "YBR_FULL")
    let (_, v) = try decodeArray(ds, as: UInt8.self)
    #expect(v == [254, 0, 0, 128, 128, 128])
}

// MARK: JPEG colour space (pydicom's _conform_jpg_colorspace)

private func jpegHeader(app0: [UInt8]?, ids: [UInt8]) -> [UInt8] {
    var b: [UInt8] = [0xFF, 0xD8]
    if let app0 { b += [0xFF, 0xE0, 0, UInt8(app0.count + 2)] + app0 }
    b += [0xFF, 0xDB, 0, 4, 0, 0]  // a segment to skip
    b += [0xFF, 0xC0, 0, UInt8(8 + 3 * ids.count), 8, 0, 2, 0, 2, UInt8(ids.count)]
    for id in ids { b += [id, 0x11, 0] }
    return b + [0xFF, 0xDA]
}

@Test func jpegHeaderColourInformation() {
    func parse(_ b: [UInt8]) -> JPEGHeaderParse { b.withUnsafeBytes { JPEGColorSpace.parse($0) } }
    let jfif = parse(jpegHeader(app0: Array("JFIF\0".utf8) + [1, 1], ids: [1, 2, 3]))
    #expect(jfif == .parsed(JPEGHeaderColorInfo(rgbComponentIDs: false, jfif: true)))
    let rgb = parse(jpegHeader(app0: nil, ids: [82, 71, 66]))
    #expect(rgb == .parsed(JPEGHeaderColorInfo(rgbComponentIDs: true, jfif: false)))
    #expect(parse([0x00, 0x01, 0x02]) == .invalid)
    #expect(parse(Array(jpegHeader(app0: nil, ids: [1, 2, 3]).prefix(12))) == .truncated)

    let yes = JPEGHeaderColorInfo(rgbComponentIDs: false, jfif: true)
    #expect(JPEGColorSpace.conform("RGB", yes, baseline8Bit: true) == "YBR_FULL_422")
    #expect(JPEGColorSpace.conform("RGB", yes, baseline8Bit: false) == "YBR_FULL")
    #expect(JPEGColorSpace.conform("YBR_FULL", yes, baseline8Bit: true) == "YBR_FULL")
    #expect(
        JPEGColorSpace.conform(
            "YBR_FULL_422", JPEGHeaderColorInfo(rgbComponentIDs: true, jfif: true), baseline8Bit: true) == "RGB")
}
