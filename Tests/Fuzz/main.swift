// libFuzzer target over the petct Swift core: reader, pixel decoders, series geometry, SUV and
// segmentations (SEG / RTSTRUCT onto grids), and the write round trip: read -> flatten -> encode ->
// read gives the same elements (RoundTrip.swift).
// Built and run by .ci/fuzz (swiftc -sanitize=fuzzer,address over the module objects); not a
// SwiftPM target. Every input must end in a value or a thrown DicomError: a trap, an ASan report,
// a leak or a timeout is a finding.
import DicomBytes
import DicomParser
import DicomPixels
import PetctMasks
import PetctPairing
import PetctSUV
import PetctSeries

/// Two small target grids for masks: axial, and oblique with non-uniform slices.
let maskGrids: [Grid] = [
    Grid(
        slices: 4, rows: 8, columns: 8, origin: [0, 0, 0], direction: [0, 0, 1, 0, 1, 0, 1, 0, 0], spacing: [3, 2, 2]),
    Grid(
        slices: 3, rows: 7, columns: 9, origin: [-5, 3, -2],
        direction: [0.6, 0.8, 0, 0, 0, 1, 0.8, -0.6, 0], spacing: [2.5, 1.5, 1.1], sliceOffsets: [0, 2, 7]),
]

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
    _ = try? SUVCalculator.compute(slices: [ds, ds], kind: "bsa")  // the cross-slice consistency check
    // SEG / RTSTRUCT: parse, then every segment onto both grids, bytes and fractions, strict and not
    // (a SEG decodes its frames whole: only claims the fuzzer may allocate, as for pixel_array above)
    let segBytes = PixelDecoder.hasPixelData(ds) ? ((try? PixelDecoder.info(ds))?.nbytes ?? 0) : 0
    if !options.stopBeforePixels, segBytes <= maxDecodeBytes, let set = try? MaskSet(datasets: [("fuzz", ds)]) {
        for g in maskGrids {
            let n = g.slices * g.rows * g.columns
            var bytes = [UInt8](repeating: 0, count: n)
            var floats = [Float](repeating: 0, count: n)
            for index in 0..<min(set.count, 8) {
                bytes.withUnsafeMutableBufferPointer { b in
                    let sink = MaskSink(
                        bytes: b.baseAddress, floats: nil, rows: g.rows, columns: g.columns, threshold: 0.5)
                    _ = try? set.fill(index, grid: g, sink: sink, strict: true, threads: 1)
                }
                floats.withUnsafeMutableBufferPointer { f in
                    let sink = MaskSink(
                        bytes: nil, floats: f.baseAddress, rows: g.rows, columns: g.columns, threshold: 0.5)
                    _ = try? set.fill(index, grid: g, sink: sink, strict: false, threads: 1)
                }
            }
            precondition(bytes.allSatisfy { $0 <= 1 }, "mask bytes must be 0 or 1")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes: [UInt8] = (data != nil && size > 0) ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    let hasPrefix = size >= 132 && bytes[128] == 0x44 && bytes[129] == 0x49 && bytes[130] == 0x43 && bytes[131] == 0x4D
    if !hasPrefix { exercise(bytes, options: ReadOptions()) }  // with a prefix this is the forced read
    exercise(bytes, options: ReadOptions(force: true))
    if let ds = try? DicomReader.read(bytes: bytes, options: ReadOptions(force: true)) { roundTrip(ds) }
    exercise(bytes, options: ReadOptions(stopBeforePixels: true, force: true))
    return 0
}
