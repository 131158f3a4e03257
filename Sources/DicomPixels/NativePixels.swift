import DicomBytes
import DicomParser
import Glibc

/// Runs `body` on the bytes of `array`, passing typed errors through.
@inline(__always)
func withBytes<R>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(DicomError) -> R) throws(DicomError) -> R {
    let result: Result<R, DicomError> = array.withUnsafeBytes { raw in
        do throws(DicomError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}

@inline(__always)
func withMutableBytes<R>(_ array: inout [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws(DicomError) -> R)
    throws(DicomError) -> R
{
    let result: Result<R, DicomError> = array.withUnsafeMutableBytes { raw in
        do throws(DicomError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}

/// One stored value: optionally byte-swapped, then with the unused high bits corrected as pydicom
/// does (shift left then right in the output type: masks unsigned, sign-extends signed values).
@inline(__always)
func fixValue<T: FixedWidthInteger>(_ v: T, swap: Bool, shift: Int) -> T {
    var v = v
    if swap { v = v.byteSwapped }
    if shift > 0 { v = (v << shift) >> shift }
    return v
}

extension PixelLayout {
    /// Decodes pixel_array into `out` (info.nbytes bytes).
    func decode(_ ds: Dataset, into out: UnsafeMutableRawPointer, threads: Int = 0) throws(DicomError) {
        if encapsulated {
            try decodeEncapsulated(ds, into: out, threads: threads)
            return
        }
        try withBytes(ds.source) { (raw: UnsafeRawBufferPointer) throws(DicomError) in
            guard let base = raw.baseAddress else {
                throw DicomError.malformed("pixel data is empty", offset: 0, tag: keyword.tag)
            }
            try decodeNative(base + dataRange.lowerBound, into: out)
        }
    }

    /// Native pixel data at `src` (at least nativeBytes, plus the pad byte when swapPairs).
    func decodeNative(_ src: UnsafeRawPointer, into out: UnsafeMutableRawPointer) throws(DicomError) {
        if swapPairs {
            // Big endian 8-bit OW: undo the pairwise swap into a scratch copy.
            let n = nativeBytes + nativeBytes % 2
            var tmp = [UInt8](repeating: 0, count: n)
            tmp.withUnsafeMutableBytes { t in
                let s = src.assumingMemoryBound(to: UInt8.self)
                let d = t.baseAddress!.assumingMemoryBound(to: UInt8.self)
                var i = 0
                while i + 1 < n { d[i] = s[i + 1]; d[i + 1] = s[i]; i += 2 }
            }
            var copy = self
            copy.swapPairs = false
            try withBytes(tmp) { (t: UnsafeRawBufferPointer) throws(DicomError) in
                try copy.decodeNative(t.baseAddress!, into: out)
            }
            return
        }
        let total = info.frames * valuesPerFrame
        let transposed = info.samples > 1 && info.planarConfiguration == 1
        if info.bitsAllocated == 1 {
            if transposed {
                var tmp = [UInt8](repeating: 0, count: total)
                tmp.withUnsafeMutableBytes { unpackBits(src, into: $0.baseAddress!, count: total) }
                tmp.withUnsafeBytes {
                    copyValues(UInt8.self, src: $0.baseAddress!, into: out, planar: true, swap: false, shift: 0)
                }
            } else {
                unpackBits(src, into: out, count: total)
            }
            return
        }
        if ybr422 {
            // 8-bit unsigned only (checked in PixelLayout): Y1 Y2 Cb Cr -> Y1 Cb Cr Y2 Cb Cr.
            if transposed {
                var tmp = [UInt8](repeating: 0, count: total)
                tmp.withUnsafeMutableBytes { expand422(src, into: $0.baseAddress!, outputCount: total, shift: shift) }
                tmp.withUnsafeBytes {
                    copyValues(UInt8.self, src: $0.baseAddress!, into: out, planar: true, swap: false, shift: 0)
                }
            } else {
                expand422(src, into: out, outputCount: total, shift: shift)
            }
        } else {
            let signed = info.dtypeKind == UInt8(ascii: "i")
            switch (info.itemsize, signed) {
            case (1, false): copyValues(UInt8.self, src: src, into: out, planar: transposed, swap: false, shift: shift)
            case (1, true): copyValues(Int8.self, src: src, into: out, planar: transposed, swap: false, shift: shift)
            case (2, false):
                copyValues(UInt16.self, src: src, into: out, planar: transposed, swap: swapBytes, shift: shift)
            case (2, true):
                copyValues(Int16.self, src: src, into: out, planar: transposed, swap: swapBytes, shift: shift)
            case (4, false):
                copyValues(UInt32.self, src: src, into: out, planar: transposed, swap: swapBytes, shift: shift)
            case (4, true):
                copyValues(Int32.self, src: src, into: out, planar: transposed, swap: swapBytes, shift: shift)
            case (8, false):
                copyValues(UInt64.self, src: src, into: out, planar: transposed, swap: swapBytes, shift: shift)
            case (8, true):
                copyValues(Int64.self, src: src, into: out, planar: transposed, swap: swapBytes, shift: shift)
            default:
                throw DicomError(.internalError, "unexpected item size \(info.itemsize)")
            }
        }
        if toRGB {
            convertYBRFullToRGB(out.assumingMemoryBound(to: UInt8.self), pixels: info.frames * pixelsPerFrame)
        }
    }

    /// Copies frames * valuesPerFrame values to `out` (interleaved), reading planar frames when
    /// `planar` (per frame: all of sample 0, then sample 1, ...).
    @inline(__always)
    func copyValues<T: FixedWidthInteger>(
        _: T.Type, src: UnsafeRawPointer, into out: UnsafeMutableRawPointer,
        planar: Bool, swap: Bool, shift: Int
    ) {
        let size = MemoryLayout<T>.size
        let total = info.frames * valuesPerFrame
        let dst = out.assumingMemoryBound(to: T.self)
        if !planar {
            if !swap && shift == 0 {
                memcpy(out, src, total * size)
                return
            }
            for i in 0..<total {
                dst[i] = fixValue(src.loadUnaligned(fromByteOffset: i * size, as: T.self), swap: swap, shift: shift)
            }
            return
        }
        let ppf = pixelsPerFrame
        let samples = info.samples
        for f in 0..<info.frames {
            for s in 0..<samples {
                let plane = src + ((f * samples + s) * ppf) * size
                var d = dst + (f * ppf * samples + s)
                for p in 0..<ppf {
                    d.pointee = fixValue(
                        plane.loadUnaligned(fromByteOffset: p * size, as: T.self), swap: swap, shift: shift)
                    d += samples
                }
            }
        }
    }

    /// LSB-first bit unpacking, as numpy.unpackbits(bitorder="little").
    func unpackBits(_ src: UnsafeRawPointer, into out: UnsafeMutableRawPointer, count: Int) {
        let s = src.assumingMemoryBound(to: UInt8.self)
        let d = out.assumingMemoryBound(to: UInt8.self)
        let whole = count / 8
        for b in 0..<whole {
            let v = s[b]
            let o = d + b * 8
            o[0] = v & 1; o[1] = (v >> 1) & 1; o[2] = (v >> 2) & 1; o[3] = (v >> 3) & 1
            o[4] = (v >> 4) & 1; o[5] = (v >> 5) & 1; o[6] = (v >> 6) & 1; o[7] = (v >> 7) & 1
        }
        var i = whole * 8
        while i < count {
            d[i] = (s[i >> 3] >> UInt8(i & 7)) & 1
            i += 1
        }
    }

    /// YBR_FULL_422 expansion of 8-bit data: every 4 values Y1 Y2 Cb Cr become Y1 Cb Cr Y2 Cb Cr.
    func expand422(_ src: UnsafeRawPointer, into out: UnsafeMutableRawPointer, outputCount: Int, shift: Int) {
        let s = src.assumingMemoryBound(to: UInt8.self)
        let d = out.assumingMemoryBound(to: UInt8.self)
        let groups = outputCount / 6
        for g in 0..<groups {
            let i = s + g * 4, o = d + g * 6
            let y1 = fixValue(i[0], swap: false, shift: shift), y2 = fixValue(i[1], swap: false, shift: shift)
            let cb = fixValue(i[2], swap: false, shift: shift), cr = fixValue(i[3], swap: false, shift: shift)
            o[0] = y1; o[1] = cb; o[2] = cr; o[3] = y2; o[4] = cb; o[5] = cr
        }
    }
}

/// In-place YBR_FULL -> RGB of interleaved 8-bit triplets, with pydicom's float32 arithmetic:
/// rgb = floor([y, cb-128, cr-128] x M + 0.5) clipped to 0...255.
func convertYBRFullToRGB(_ p: UnsafeMutablePointer<UInt8>, pixels: Int) {
    let gCb = Float(-0.114 * 1.772 / 0.587)
    let gCr = Float(-0.299 * 1.402 / 0.587)
    let bCb = Float(1.772)
    let rCr = Float(1.402)
    @inline(__always) func clamp(_ v: Float) -> UInt8 {
        let f = (v + 0.5).rounded(.down)
        return f <= 0 ? 0 : (f >= 255 ? 255 : UInt8(f))
    }
    for i in 0..<pixels {
        let q = p + i * 3
        let y = Float(q[0]), cb = Float(q[1]) - 128, cr = Float(q[2]) - 128
        // Summed in the order of the matrix product: y*m0j + cb*m1j + cr*m2j.
        let r = (y + cb * 0) + cr * rCr
        let g = (y + cb * gCb) + cr * gCr
        let b = (y + cb * bCb) + cr * 0
        q[0] = clamp(r); q[1] = clamp(g); q[2] = clamp(b)
    }
}
