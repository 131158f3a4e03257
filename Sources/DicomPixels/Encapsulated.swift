import DicomBytes
import DicomCodecs
import DicomParser
import Glibc
import PetctConcurrency

@inline(__always)
func readLE16(_ a: [UInt8], _ i: Int) -> UInt32 { UInt32(a[i]) | UInt32(a[i + 1]) << 8 }
@inline(__always)
func readLE32(_ a: [UInt8], _ i: Int) -> UInt32 {
    UInt32(a[i]) | UInt32(a[i + 1]) << 8 | UInt32(a[i + 2]) << 16 | UInt32(a[i + 3]) << 24
}

/// Encapsulated pixel data (PS3.5 A.4): frame boundaries, as pydicom's `generate_frames` finds them.
enum Encapsulation {
    /// Splits the encapsulated value at `range` of `ds.source` into frames, each a list of fragment
    /// byte ranges (absolute in `ds.source`). `expectedFrames` is Number of Frames.
    static func frames(_ ds: Dataset, range: Range<Int>, expectedFrames: Int) throws(DicomError) -> [[Range<Int>]] {
        let src = ds.source
        let end = range.upperBound
        var pos = range.lowerBound
        let tag = Tags.pixelData

        // Basic Offset Table item.
        guard end - pos >= 8 else {
            throw DicomError.malformed(
                "encapsulated pixel data is too short for its Basic Offset Table item", offset: pos, tag: tag)
        }
        let botTag = readLE16(src, pos) << 16 | readLE16(src, pos + 2)
        guard botTag == Tags.item else {
            throw DicomError.malformed(
                "found tag \(formatTag(botTag)) instead of the (FFFE,E000) Basic Offset Table item",
                offset: pos, tag: tag)
        }
        let botLength = Int(readLE32(src, pos + 4))
        guard botLength % 4 == 0 else {
            throw DicomError.malformed(
                "the Basic Offset Table length \(botLength) is not a multiple of 4", offset: pos + 4, tag: tag)
        }
        pos += 8
        guard botLength <= end - pos else {
            throw DicomError.malformed(
                "the Basic Offset Table (\(botLength) bytes) runs past the end of the pixel data",
                offset: pos - 4, tag: tag)
        }
        var basicOffsets: [Int] = []
        basicOffsets.reserveCapacity(botLength / 4)
        for k in 0..<(botLength / 4) { basicOffsets.append(Int(readLE32(src, pos + 4 * k))) }
        pos += botLength
        let fragmentsStart = pos

        // Extended Offset Table, preferred when present and consistent.
        if let ie = ds.index(of: Tags.extendedOffsetTable) {
            guard let il = ds.index(of: Tags.extendedOffsetTableLengths) else {
                throw DicomError(
                    .malformed, "Extended Offset Table (7FE0,0001) without Extended Offset Table Lengths (7FE0,0002)",
                    tag: Tags.extendedOffsetTableLengths)
            }
            let offsets = uint64Values(ds, ie), lengths = uint64Values(ds, il)
            if offsets.count == lengths.count {
                var frames: [[Range<Int>]] = []
                frames.reserveCapacity(offsets.count)
                for (o, l) in zip(offsets, lengths) {
                    guard o <= UInt64(end - fragmentsStart), l <= UInt64(end - fragmentsStart) else {
                        throw DicomError.malformed(
                            "an Extended Offset Table entry (offset \(o), length \(l)) lies outside the pixel data",
                            offset: fragmentsStart, tag: Tags.extendedOffsetTable)
                    }
                    let start = fragmentsStart + Int(o) + 8
                    guard start <= end, Int(l) <= end - start else {
                        throw DicomError.malformed(
                            "an Extended Offset Table entry (offset \(o), length \(l)) lies outside the pixel data",
                            offset: fragmentsStart, tag: Tags.extendedOffsetTable)
                    }
                    frames.append([start..<(start + Int(l))])
                }
                return frames
            }
            // Counts differ: pydicom ignores the table.
        }

        // Fragment items, up to the sequence delimiter or the end of the value.
        var fragments: [Range<Int>] = []
        while end - pos >= 4 {
            let t = readLE16(src, pos) << 16 | readLE16(src, pos + 2)
            if t == Tags.item {
                guard end - pos >= 8 else {
                    throw DicomError.malformed(
                        "the item at the end of the pixel data has no length", offset: pos, tag: tag)
                }
                let raw = readLE32(src, pos + 4)
                guard raw != 0xFFFF_FFFF else {
                    throw DicomError.malformed(
                        "undefined item length in encapsulated pixel data", offset: pos + 4, tag: tag)
                }
                let length = Int(raw)
                pos += 8
                guard length <= end - pos else {
                    throw DicomError.malformed(
                        "pixel data fragment of \(length) bytes runs past the end of the data (\(end - pos) left)",
                        offset: pos - 4, tag: tag)
                }
                fragments.append(pos..<(pos + length))
                pos += length
            } else if t == Tags.sequenceDelimitationItem {
                break
            } else {
                throw DicomError.malformed(
                    "unexpected tag \(formatTag(t)) in encapsulated pixel data fragments", offset: pos, tag: tag)
            }
        }
        guard !fragments.isEmpty else {
            throw DicomError.malformed("encapsulated pixel data has no fragments", offset: fragmentsStart, tag: tag)
        }

        if !basicOffsets.isEmpty {
            // Group fragments by the offsets of each frame's first item from the first fragment.
            var frames: [[Range<Int>]] = []
            var frame: [Range<Int>] = []
            var index = 0
            var offset = 0
            let last = basicOffsets.count - 1
            for f in fragments {
                if index == last { frame.append(f); continue }
                if offset < basicOffsets[index + 1] {
                    frame.append(f)
                } else {
                    frames.append(frame)
                    index += 1
                    frame = [f]
                }
                offset += f.count + 8
            }
            frames.append(frame)
            return frames
        }

        let n = fragments.count
        if n == 1 { return [fragments] }
        if n == expectedFrames { return fragments.map { [$0] } }
        if expectedFrames == 1 { return [fragments] }
        if n > expectedFrames {
            // Frames end at fragments with a JPEG EOI marker in their last 10 bytes.
            var frames: [[Range<Int>]] = []
            var frame: [Range<Int>] = []
            for f in fragments {
                frame.append(f)
                if hasEOI(src, f) {
                    frames.append(frame)
                    frame = []
                }
            }
            if !frame.isEmpty { frames.append(frame) }
            return frames
        }
        throw DicomError.malformed(
            "there are fewer fragments (\(n)) than frames (\(expectedFrames)) and no offset table: "
                + "the data set may be corrupt or Number of Frames wrong", offset: fragmentsStart, tag: tag)
    }

    static func hasEOI(_ src: [UInt8], _ r: Range<Int>) -> Bool {
        let lo = max(r.lowerBound, r.upperBound - 10)
        var i = lo
        while i + 1 < r.upperBound {
            if src[i] == 0xFF && src[i + 1] == 0xD9 { return true }
            i += 1
        }
        return false
    }

    /// 64-bit little-endian values of an OV element (or decoded integer values).
    static func uint64Values(_ ds: Dataset, _ i: Int) -> [UInt64] {
        let e = ds.elements[i]
        switch e.kind {
        case .bytes:
            guard let r = ds.bytesRange(at: i), r.lowerBound >= 0, r.upperBound <= ds.source.count else { return [] }
            let n = r.count / 8
            var out: [UInt64] = []
            out.reserveCapacity(n)
            for k in 0..<n {
                var v: UInt64 = 0
                for b in 0..<8 { v |= UInt64(ds.source[r.lowerBound + 8 * k + b]) << (8 * UInt64(b)) }
                out.append(v)
            }
            return out
        default:
            return ds.ints(at: i).map { UInt64(bitPattern: $0) }
        }
    }
}

extension PixelLayout {
    /// `decoderOverride` replaces the registry's decoder (tests). Frames decode on at most `threads`
    /// threads (0 = all cores).
    func decodeEncapsulated(
        _ ds: Dataset, into out: UnsafeMutableRawPointer,
        decoderOverride: FrameDecoder? = nil, threads: Int = 0
    ) throws(DicomError) {
        let ts = info.transferSyntax
        guard let decoder = decoderOverride ?? CodecRegistry.decoder(for: ts) else {
            throw DicomError(
                .unsupportedTransferSyntax,
                "unable to decode the pixel data: \(CodecRegistry.name(of: ts)) (\(ts)) is not supported",
                tag: Tags.pixelData)
        }
        let all = try Encapsulation.frames(ds, range: dataRange, expectedFrames: info.frames)
        guard all.count >= info.frames else {
            throw DicomError.malformed(
                "found \(all.count) frame(s) in the encapsulated pixel data, Number of Frames is \(info.frames)",
                offset: dataRange.lowerBound, tag: Tags.pixelData)
        }
        for (k, f) in all.prefix(info.frames).enumerated() where f.isEmpty {
            throw DicomError.malformed(
                "frame \(k + 1) of the encapsulated pixel data has no fragments",
                offset: dataRange.lowerBound, tag: Tags.pixelData)
        }
        let frames = Array(all.prefix(info.frames))
        var conformed = self
        if jpegConform {
            let pi = conformedPhotometric(ds, frames: frames)
            if pi == "YBR_FULL" || pi == "YBR_FULL_422" {
                try checkConvertible(pi)
                conformed.toRGB = true
            }
        }
        let layout = conformed
        let n = frames.count
        if n == 1 {
            try layout.decodeFrame(ds, fragments: frames[0], index: 0, decoder: decoder, into: out)
            return
        }
        var errors = [DicomError?](repeating: nil, count: n)
        errors.withUnsafeMutableBufferPointer { errs in
            let box = SharedBox((out, errs))
            Parallel.forEach(count: n, threads: threads) { f in
                let (dst, errs) = box.value
                do throws(DicomError) {
                    try layout.decodeFrame(
                        ds, fragments: frames[f], index: f, decoder: decoder,
                        into: dst + f * layout.frameBytes)
                } catch {
                    errs[f] = error
                }
            }
        }
        for e in errors { if let e { throw e } }
    }

    /// Decodes frame `index` from its fragments and stores it at `dst` (frameBytes bytes).
    func decodeFrame(
        _ ds: Dataset, fragments: [Range<Int>], index: Int, decoder: FrameDecoder,
        into dst: UnsafeMutableRawPointer
    ) throws(DicomError) {
        let start = fragments[0].lowerBound
        try cancel.check()
        do throws(DicomError) {
            let compressed = fragments.reduce(0) { $0 + $1.count }
            try Limits.checkDecoded(frameBytes, compressed: compressed, what: "this frame")
            if fragments.count == 1 {
                try withBytes(ds.source) { (raw: UnsafeRawBufferPointer) throws(DicomError) in
                    try decodeFrameBytes(
                        UnsafeRawBufferPointer(rebasing: raw[fragments[0]]), decoder: decoder, into: dst)
                }
            } else {
                var joined: [UInt8] = []
                joined.reserveCapacity(fragments.reduce(0) { $0 + $1.count })
                for r in fragments { joined.append(contentsOf: ds.source[r]) }
                try withBytes(joined) { (raw: UnsafeRawBufferPointer) throws(DicomError) in
                    try decodeFrameBytes(raw, decoder: decoder, into: dst)
                }
            }
        } catch {
            var e = error
            e.message = "frame \(index + 1): " + e.message
            if e.tag == nil { e.tag = Tags.pixelData }
            e.offset = e.offset >= 0 && fragments.count == 1 ? start + e.offset : start
            throw e
        }
        postProcessFrame(dst)
    }

    private func decodeFrameBytes(
        _ bytes: UnsafeRawBufferPointer, decoder: FrameDecoder,
        into dst: UnsafeMutableRawPointer
    ) throws(DicomError) {
        if info.transferSyntax == TransferSyntaxes.rle && !decodedPlanar {
            // Straight into the output: interleaved little-endian samples of itemsize bytes.
            try RLEDecoder.decode(
                bytes, into: UnsafeMutableRawBufferPointer(start: dst, count: frameBytes),
                pixels: pixelsPerFrame, samples: info.samples, bytesPerSample: info.itemsize)
            return
        }
        let expectation = FrameExpectation(
            rows: info.rows, columns: info.columns, samples: info.samples,
            bitsAllocated: info.bitsAllocated, bitsStored: info.bitsStored,
            pixelRepresentation: info.pixelRepresentation)
        let frame = try decoder(bytes, expectation)
        try store(frame, into: dst)
    }

    /// Copies a decoded frame into the output type, checking it against the data set.
    func store(_ frame: DecodedFrame, into dst: UnsafeMutableRawPointer) throws(DicomError) {
        guard frame.rows == info.rows, frame.columns == info.columns, frame.samples == info.samples else {
            throw DicomError(
                .malformed,
                "the decoded frame is \(frame.rows) x \(frame.columns) x \(frame.samples), the data set "
                    + "says \(info.rows) x \(info.columns) x \(info.samples)")
        }
        let bps = frame.bytesPerSample
        guard bps == 1 || bps == 2 || bps == 4 || bps == 8 else {
            throw DicomError(.internalError, "decoder returned \(bps) bytes per sample")
        }
        let count = valuesPerFrame
        guard frame.data.count >= count * bps else {
            throw DicomError(.malformed, "the decoded frame has \(frame.data.count) bytes, expected \(count * bps)")
        }
        frame.data.withUnsafeBytes { raw in
            let src = raw.baseAddress!
            if bps == info.itemsize && !decodedPlanar {
                memcpy(dst, src, count * bps)
                return
            }
            switch info.itemsize {
            case 1: widen(UInt8.self, src, bps, dst)
            case 2: widen(UInt16.self, src, bps, dst)
            case 4: widen(UInt32.self, src, bps, dst)
            default: widen(UInt64.self, src, bps, dst)
            }
        }
    }

    /// Converts little-endian samples of `bps` bytes to T (truncating or zero-extending), reading the
    /// source as planar when pydicom would.
    private func widen<T: FixedWidthInteger>(
        _: T.Type, _ src: UnsafeRawPointer, _ bps: Int, _ dst: UnsafeMutableRawPointer
    ) {
        let d = dst.assumingMemoryBound(to: T.self)
        let count = valuesPerFrame
        let ppf = pixelsPerFrame, samples = info.samples
        for i in 0..<count {
            // Output index i = p * samples + s; with a planar source it reads s * ppf + p.
            let j = decodedPlanar ? (i % samples) * ppf + i / samples : i
            let v: UInt64
            switch bps {
            case 1: v = UInt64(src.load(fromByteOffset: j, as: UInt8.self))
            case 2: v = UInt64(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: j * 2, as: UInt16.self)))
            case 4: v = UInt64(UInt32(littleEndian: src.loadUnaligned(fromByteOffset: j * 4, as: UInt32.self)))
            default: v = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: j * 8, as: UInt64.self))
            }
            d[i] = T(truncatingIfNeeded: v)
        }
    }

    /// Unused-bits correction and colour conversion of one stored frame, as pydicom does after decoding.
    func postProcessFrame(_ dst: UnsafeMutableRawPointer) {
        if shift > 0 {
            let n = valuesPerFrame
            let signed = info.dtypeKind == UInt8(ascii: "i")
            switch (info.itemsize, signed) {
            case (1, false): shiftInPlace(UInt8.self, dst, n)
            case (1, true): shiftInPlace(Int8.self, dst, n)
            case (2, false): shiftInPlace(UInt16.self, dst, n)
            case (2, true): shiftInPlace(Int16.self, dst, n)
            case (4, false): shiftInPlace(UInt32.self, dst, n)
            case (4, true): shiftInPlace(Int32.self, dst, n)
            case (8, false): shiftInPlace(UInt64.self, dst, n)
            default: shiftInPlace(Int64.self, dst, n)
            }
        }
        if toRGB {
            convertYBRFullToRGB(dst.assumingMemoryBound(to: UInt8.self), pixels: pixelsPerFrame)
        }
    }

    private func shiftInPlace<T: FixedWidthInteger>(_: T.Type, _ dst: UnsafeMutableRawPointer, _ n: Int) {
        let p = dst.assumingMemoryBound(to: T.self)
        let s = shift
        for i in 0..<n { p[i] = (p[i] << s) >> s }
    }
}
