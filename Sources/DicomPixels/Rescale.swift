import DicomBytes
import DicomDictionary
import DicomParser

/// Modality LUT rescale of one frame: value = stored * slope + intercept.
public struct Rescale: Sendable, Equatable {
    public var slope: Double
    public var intercept: Double
    public init(slope: Double = 1, intercept: Double = 0) { self.slope = slope; self.intercept = intercept }
    public static let identity = Rescale()
}

extension PixelDecoder {
    /// Rescale of each of `frames` frames: Per-frame Functional Groups (5200,9230) item k ->
    /// Pixel Value Transformation (0028,9145), else Shared Functional Groups (5200,9229), else the
    /// top-level Rescale Slope (0028,1053) / Intercept (0028,1052); slope 1 / intercept 0 when absent.
    /// A RescaleSlope / RescaleIntercept that is present but not a finite number (NaN, inf) is refused
    /// with a `.malformed` error naming the element: it is never replaced by 1 / 0.
    public static func rescale(_ ds: Dataset, frames: Int) throws(DicomError) -> [Rescale] {
        let top = Rescale(
            slope: try finite(ds, Tags.rescaleSlope, nil) ?? 1,
            intercept: try finite(ds, Tags.rescaleIntercept, nil) ?? 0)
        var shared = top
        if let item = ds.items(Tags.sharedFunctionalGroupsSequence).first, let r = try transformation(ds, in: item) {
            shared = r
        }
        let perFrame = ds.items(Tags.perFrameFunctionalGroupsSequence)
        var out = [Rescale](repeating: shared, count: max(frames, 0))
        for k in 0..<min(frames, perFrame.count) {
            if let r = try transformation(ds, in: perFrame[k]) { out[k] = r }
        }
        return out
    }

    /// Slope/intercept of the Pixel Value Transformation Sequence in a functional group item.
    private static func transformation(_ ds: Dataset, in item: Int) throws(DicomError) -> Rescale? {
        guard let t = ds.items(Tags.pixelValueTransformationSequence, in: item).first else { return nil }
        let slope = try finite(ds, Tags.rescaleSlope, t)
        let intercept = try finite(ds, Tags.rescaleIntercept, t)
        if slope == nil && intercept == nil { return nil }
        return Rescale(slope: slope ?? 1, intercept: intercept ?? 0)
    }

    private static func finite(_ ds: Dataset, _ tag: UInt32, _ item: Int?) throws(DicomError) -> Double? {
        guard let v = ds.double(tag, in: item) else { return nil }
        guard v.isFinite else { throw nonFiniteRescale(tag, v) }
        return v
    }
}

/// The error for a RescaleSlope / RescaleIntercept that is NaN or infinite (shared with the volume code).
public func nonFiniteRescale(_ tag: UInt32, _ value: Double) -> DicomError {
    let name = DataDictionary.entry(for: tag)?.keyword ?? "Rescale"
    return DicomError(
        .malformed, "\(name) \(formatTag(tag)) is \(value), not a finite number: refusing to rescale",
        tag: tag)
}

extension PixelLayout {
    /// pixel_array as float32 stored * slope + intercept (computed in double, rounded once).
    func decodeRescaled(
        _ ds: Dataset, into out: UnsafeMutablePointer<Float>, rescale: [Rescale],
        threads: Int = 0
    ) throws(DicomError) {
        let direct = !encapsulated && !swapPairs && !ybr422 && !toRGB && info.bitsAllocated >= 8
        if direct {
            try withBytes(ds.source) { (raw: UnsafeRawBufferPointer) throws(DicomError) in
                guard let base = raw.baseAddress else {
                    throw DicomError.malformed("pixel data is empty", offset: 0, tag: keyword.tag)
                }
                rescaleValues(
                    base + dataRange.lowerBound, swap: swapBytes, shift: shift,
                    planar: info.samples > 1 && info.planarConfiguration == 1, into: out, rescale: rescale)
            }
            return
        }
        // Decode to pixel_array first, then convert.
        try Limits.probeAllocation(info.nbytes, what: "pixel_array", tag: keyword.tag)
        var tmp = [UInt8](repeating: 0, count: info.nbytes)
        try withMutableBytes(&tmp) { (t: UnsafeMutableRawBufferPointer) throws(DicomError) in
            try decode(ds, into: t.baseAddress!, threads: threads)
        }
        tmp.withUnsafeBytes { t in
            rescaleValues(t.baseAddress!, swap: false, shift: 0, planar: false, into: out, rescale: rescale)
        }
    }

    private func rescaleValues(
        _ src: UnsafeRawPointer, swap: Bool, shift: Int, planar: Bool,
        into out: UnsafeMutablePointer<Float>, rescale: [Rescale]
    ) {
        let signed = info.dtypeKind == UInt8(ascii: "i")
        if info.dtypeKind == UInt8(ascii: "f") {
            if info.itemsize == 4 {
                rescaleTyped(UInt32.self, src, swap, 0, planar, out, rescale) { Double(Float(bitPattern: $0)) }
            } else {
                rescaleTyped(UInt64.self, src, swap, 0, planar, out, rescale) { Double(bitPattern: $0) }
            }
            return
        }
        switch (info.itemsize, signed) {
        case (1, false): rescaleTyped(UInt8.self, src, swap, shift, planar, out, rescale) { Double($0) }
        case (1, true): rescaleTyped(Int8.self, src, swap, shift, planar, out, rescale) { Double($0) }
        case (2, false): rescaleTyped(UInt16.self, src, swap, shift, planar, out, rescale) { Double($0) }
        case (2, true): rescaleTyped(Int16.self, src, swap, shift, planar, out, rescale) { Double($0) }
        case (4, false): rescaleTyped(UInt32.self, src, swap, shift, planar, out, rescale) { Double($0) }
        case (4, true): rescaleTyped(Int32.self, src, swap, shift, planar, out, rescale) { Double($0) }
        case (8, false): rescaleTyped(UInt64.self, src, swap, shift, planar, out, rescale) { Double($0) }
        default: rescaleTyped(Int64.self, src, swap, shift, planar, out, rescale) { Double($0) }
        }
    }

    /// The common case (native byte order, all bits stored): one straight loop the compiler vectorises.
    /// Same arithmetic as the general loop: Double(stored) * slope + intercept, rounded to Float once.
    @inline(__always)
    private func rescaleContiguous<T: FixedWidthInteger>(
        _: T.Type, _ src: UnsafeRawPointer, _ n: Int,
        _ out: UnsafeMutablePointer<Float>, _ slope: Double,
        _ intercept: Double, _ toDouble: (T) -> Double
    ) {
        let size = MemoryLayout<T>.size
        if T.bitWidth <= 16 && slope == 1 && intercept == intercept.rounded() && abs(intercept) <= Double(1 << 30) {
            // 8/16-bit integers with an integer intercept (CT: 1, -1024): stored + intercept is an exact
            // integer in Int32 as in Double, so Float(Int32 sum) rounds the same value the same way.
            let ic = Int32(intercept)
            for i in 0..<n {
                out[i] = Float(
                    Int32(truncatingIfNeeded: src.loadUnaligned(fromByteOffset: i &* size, as: T.self)) &+ ic)
            }
        } else if slope == 1 && intercept == 0 {
            for i in 0..<n {
                out[i] = Float(toDouble(src.loadUnaligned(fromByteOffset: i &* size, as: T.self)))
            }
        } else {
            for i in 0..<n {
                out[i] = Float(toDouble(src.loadUnaligned(fromByteOffset: i &* size, as: T.self)) * slope + intercept)
            }
        }
    }

    @inline(__always)
    private func rescaleTyped<T: FixedWidthInteger>(
        _: T.Type, _ src: UnsafeRawPointer, _ swap: Bool, _ shift: Int,
        _ planar: Bool, _ out: UnsafeMutablePointer<Float>,
        _ rescale: [Rescale], _ toDouble: (T) -> Double
    ) {
        let size = MemoryLayout<T>.size
        let vpf = valuesPerFrame, ppf = pixelsPerFrame, samples = info.samples
        for f in 0..<info.frames {
            let r = f < rescale.count ? rescale[f] : Rescale.identity
            let slope = r.slope, intercept = r.intercept
            let frameSrc = src + f * vpf * size
            let frameOut = out + f * vpf
            if !planar && !swap && shift == 0 {
                rescaleContiguous(T.self, frameSrc, vpf, frameOut, slope, intercept, toDouble)
            } else if !planar {
                if slope == 1 && intercept == 0 {
                    for i in 0..<vpf {
                        frameOut[i] = Float(
                            toDouble(
                                fixValue(
                                    frameSrc.loadUnaligned(fromByteOffset: i * size, as: T.self),
                                    swap: swap, shift: shift)))
                    }
                } else {
                    for i in 0..<vpf {
                        let v = toDouble(
                            fixValue(
                                frameSrc.loadUnaligned(fromByteOffset: i * size, as: T.self),
                                swap: swap, shift: shift))
                        frameOut[i] = Float(v * slope + intercept)
                    }
                }
            } else {
                for s in 0..<samples {
                    let plane = frameSrc + s * ppf * size
                    for p in 0..<ppf {
                        let v = toDouble(
                            fixValue(
                                plane.loadUnaligned(fromByteOffset: p * size, as: T.self),
                                swap: swap, shift: shift))
                        frameOut[p * samples + s] = Float(v * slope + intercept)
                    }
                }
            }
        }
    }
}
