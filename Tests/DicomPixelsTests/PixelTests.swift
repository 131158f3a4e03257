import Testing
import DicomPixels

@Test func pixelInfoDefaults() {
    #expect(PixelInfo().samples == 1)
}
