// libFuzzer target over the petct Swift core: reader, pixel decoders, series geometry and SUV.
// Built and run by .ci/fuzz (swiftc -sanitize=fuzzer,address over the module objects); not a
// SwiftPM target. Every input must end in a value or a thrown DicomError: a trap, an ASan report,
// a leak or a timeout is a finding.
import DicomBytes
import DicomParser
import DicomPixels
import PetctSeries
import PetctSUV

/// Largest pixel_array the fuzzer decodes (bigger claims are only checked by `info`).
let maxDecodeBytes = 8 << 20

@inline(never)
func exercise(_ bytes: [UInt8], options: ReadOptions) {
    let ds: Dataset
    do { ds = try DicomReader.read(bytes: bytes, options: options) } catch { return }
    if !options.stopBeforePixels && PixelDecoder.hasPixelData(ds) {
        if let info = try? PixelDecoder.info(ds), info.nbytes > 0, info.nbytes <= maxDecodeBytes {
            let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: info.nbytes, alignment: 16)
            defer { raw.deallocate() }
            _ = try? PixelDecoder.decode(ds, into: raw)
            if info.itemsize > 0 {
                let count = info.nbytes / info.itemsize
                let floats = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
                defer { floats.deallocate() }
                _ = try? PixelDecoder.decodeRescaled(ds, into: floats)
            }
        }
    }
    // Encoded value ranges (DS/IS text for Python): every element, any header, stays inside the source.
    for i in -1...ds.elements.count {
        if let r = ds.encodedValueRange(at: i) {
            precondition(r.lowerBound >= 0 && r.upperBound <= ds.source.count, "encoded range outside the source")
        }
    }
    // Series geometry from this one header (and twice: duplicate positions) and SUV factors.
    _ = try? VolumePlan.open(datasets: [ds], paths: ["fuzz"])
    _ = try? VolumePlan.open(datasets: [ds, ds], paths: ["fuzz-a", "fuzz-b"])
    _ = try? SUVCalculator.compute(slices: [ds], kind: "bw")
    _ = try? SUVCalculator.compute(slices: [ds], kind: "lbm")
    _ = try? SUVCalculator.compute(slices: [ds, ds], kind: "bsa")   // the cross-slice consistency check
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes: [UInt8] = (data != nil && size > 0) ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    let hasPrefix = size >= 132 && bytes[128] == 0x44 && bytes[129] == 0x49 && bytes[130] == 0x43 && bytes[131] == 0x4D
    if !hasPrefix { exercise(bytes, options: ReadOptions()) }   // with a prefix this is the forced read
    exercise(bytes, options: ReadOptions(force: true))
    exercise(bytes, options: ReadOptions(stopBeforePixels: true, force: true))
    return 0
}
