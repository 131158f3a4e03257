import DicomBytes
import Testing

@testable import DicomCodecs

@Suite struct JPEGColorAndInspection {
    @Test func ybrToRGBMatchesPydicom() {
        // Inputs and pydicom 3.0.2 `convert_color_space(..., "YBR_FULL", "RGB")` outputs; the first six
        // triplets are ones where plain (non-fused) float32 arithmetic rounds differently.
        var data: [UInt8] = [
            0, 178, 78, 7, 178, 78, 19, 78, 178, 26, 78, 178, 33, 78, 178, 40, 78, 178,
            0, 0, 0, 255, 128, 128, 76, 85, 255, 29, 255, 107, 150, 44, 21,
        ]
        let expected: [UInt8] = [
            0, 19, 89, 0, 26, 96, 89, 0, 0, 96, 7, 0, 103, 14, 0, 110, 21, 0,
            0, 135, 0, 255, 255, 255, 254, 0, 0, 0, 0, 254, 0, 255, 1,
        ]
        JPEGColor.ybrFullToRGB(&data)
        #expect(data == expected)
    }

    @Test func inspectReportsComponentIDsAndJFIF() throws {
        let f = baselineFixtures.first { $0.name == "rgb420_19x17" }!
        let info = try #require(f.bytes.withUnsafeBytes { JPEGInspector.inspect($0) })
        #expect(info.frameMarker == 0xC0 && info.precision == 8 && info.rows == 17 && info.columns == 19)
        #expect(info.componentIDs == [1, 2, 3])
        #expect(info.hasJFIF)
        #expect(!info.hasRGBComponentIDs)

        // A lossless stream from the test encoder: no APP segment, ids 10, 11, 12.
        let ll = encodeLossless([Int](repeating: 5, count: 12), rows: 2, cols: 2, nf: 3, LosslessEncodeOptions())
        let li = try #require(ll.withUnsafeBytes { JPEGInspector.inspect($0) })
        #expect(li.frameMarker == 0xC3 && li.componentIDs == [10, 11, 12] && !li.hasJFIF)

        // RGB component ids.
        var rgb = ll
        let sof = JPEGLosslessErrors.markerOffset(rgb, 0xC3)
        rgb[sof + 10] = 82; rgb[sof + 13] = 71; rgb[sof + 16] = 66
        #expect(rgb.withUnsafeBytes { JPEGInspector.inspect($0) }?.hasRGBComponentIDs == true)

        // Garbage and truncated headers give nil rather than trapping.
        #expect([UInt8]([0xFF, 0xD8, 0xFF]).withUnsafeBytes { JPEGInspector.inspect($0) } == nil)
        #expect(Array(f.bytes[0..<30]).withUnsafeBytes { JPEGInspector.inspect($0) } == nil)
    }
}
