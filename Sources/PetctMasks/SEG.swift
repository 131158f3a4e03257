import DicomBytes
import DicomParser
import DicomPixels
import PetctPairing
import PetctSeries

/// One frame of a SEG: where it lies and which segment it belongs to.
struct SegFrame {
    var position: Vec3
    var segment: Int
    var offset: Double = 0  // position projected on the SEG normal
}

/// A parsed DICOM SEG: decoded frames (one byte per pixel) and their geometry.
final class SegObject: @unchecked Sendable {
    let path: String
    let rows: Int, columns: Int
    let fractional: Bool
    let maxFractional: Double
    let rowDir: Vec3, colDir: Vec3, normal: Vec3
    let rowSpacing: Double, colSpacing: Double  // between rows, between columns
    let halfThickness: Double?
    var frames: [SegFrame]
    let pixels: [UInt8]
    var segments: [(number: Int, label: String)] = []

    init(path: String, ds: Dataset) throws(DicomError) {
        self.path = path
        func fail(_ msg: String, _ tag: UInt32, at index: Int? = nil) -> DicomError {
            let off = index.map { ds.elements[$0].fileOffset } ?? -1
            return DicomError(.malformed, "\(path): SEG \(msg)", offset: off, tag: tag)
        }
        let type = (ds.string(Tags.segmentationType) ?? "").trimmingCharacters()
        guard type == "BINARY" || type == "FRACTIONAL" else {
            throw fail(
                "SegmentationType is \(type.isEmpty ? "missing" : "'\(type)'"), not BINARY or FRACTIONAL",
                Tags.segmentationType)
        }
        fractional = type == "FRACTIONAL"
        maxFractional = fractional ? Double(ds.int(Tags.maximumFractionalValue) ?? 255) : 1
        guard maxFractional > 0 else { throw fail("MaximumFractionalValue must be > 0", Tags.maximumFractionalValue) }
        for item in ds.items(Tags.segmentSequence) {
            guard let n = ds.int(Tags.segmentNumber, in: item) else {
                throw fail("segment without SegmentNumber", Tags.segmentNumber, at: item)
            }
            let label = (ds.string(Tags.segmentLabel, in: item) ?? "").trimmingCharacters()
            segments.append((n, label.isEmpty ? "segment \(n)" : label))
        }
        guard !segments.isEmpty else { throw fail("has no SegmentSequence items", Tags.segmentSequence) }

        let info = try PixelDecoder.info(ds)
        guard info.itemsize == 1, info.samples == 1, info.rows > 0, info.columns > 0 else {
            throw fail(
                "pixel data must be 1 or 8 bits, one sample (has \(info.bitsAllocated) bits, \(info.samples) samples)",
                Tags.pixelData)
        }
        rows = info.rows; columns = info.columns
        var buf = [UInt8](repeating: 0, count: info.nbytes)
        let decoded: Result<Void, DicomError> = buf.withUnsafeMutableBytes { raw in
            do throws(DicomError) { try PixelDecoder.decode(ds, into: raw); return .success(()) } catch {
                return .failure(error)
            }
        }
        try decoded.get()
        pixels = buf
        let frameCount = info.frames

        let shared = ds.items(Tags.sharedFunctionalGroupsSequence).first
        let perFrame = ds.items(Tags.perFrameFunctionalGroupsSequence)
        guard perFrame.count == frameCount else {
            throw fail(
                "has \(perFrame.count) PerFrameFunctionalGroupsSequence items for \(frameCount) frames",
                Tags.perFrameFunctionalGroupsSequence)
        }
        /// The first item of `seq` in the frame's group, else in the shared group.
        func group(_ seq: UInt32, _ frame: Int) -> Int? {
            if let it = ds.items(seq, in: perFrame[frame]).first { return it }
            if let shared, let it = ds.items(seq, in: shared).first { return it }
            return nil
        }
        guard let orientItem = group(Tags.planeOrientationSequence, 0) else {
            throw fail("frame 1 has no PlaneOrientationSequence (per-frame or shared)", Tags.planeOrientationSequence)
        }
        let iop = ds.doubles(Tags.imageOrientationPatient, in: orientItem)
        guard iop.count == 6, iop.allSatisfy({ $0.isFinite }) else {
            throw fail("ImageOrientationPatient needs 6 finite values", Tags.imageOrientationPatient, at: orientItem)
        }
        let rd = (iop[0], iop[1], iop[2]), cd = (iop[3], iop[4], iop[5])
        guard abs(norm(rd) - 1) < 1e-3, abs(norm(cd) - 1) < 1e-3, abs(dot(rd, cd)) < 1e-3 else {
            throw fail(
                "ImageOrientationPatient is not two orthonormal vectors", Tags.imageOrientationPatient, at: orientItem)
        }
        rowDir = rd; colDir = cd; normal = cross(rd, cd)
        guard let measures = group(Tags.pixelMeasuresSequence, 0) else {
            throw fail("has no PixelMeasuresSequence (per-frame or shared)", Tags.pixelMeasuresSequence)
        }
        let ps = ds.doubles(Tags.pixelSpacing, in: measures)
        guard ps.count == 2, ps.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw fail("PixelSpacing needs 2 positive values", Tags.pixelSpacing, at: measures)
        }
        rowSpacing = ps[0]; colSpacing = ps[1]
        let between = ds.double(Tags.spacingBetweenSlices, in: measures)
        let thickness = ds.double(Tags.sliceThickness, in: measures)

        var fr: [SegFrame] = []
        fr.reserveCapacity(frameCount)
        let known = Set(segments.map { $0.number })
        for f in 0..<frameCount {
            guard let pos = group(Tags.planePositionSequence, f) else {
                throw DicomError(
                    .malformed, "\(path): SEG frame \(f + 1) has no PlanePositionSequence: its position is unknown",
                    offset: ds.elements[perFrame[f]].fileOffset, tag: Tags.planePositionSequence)
            }
            let ipp = ds.doubles(Tags.imagePositionPatient, in: pos)
            guard ipp.count == 3, ipp.allSatisfy({ $0.isFinite }) else {
                throw fail(
                    "frame \(f + 1): ImagePositionPatient needs 3 finite values", Tags.imagePositionPatient, at: pos)
            }
            if let o = ds.items(Tags.planeOrientationSequence, in: perFrame[f]).first {
                let v = ds.doubles(Tags.imageOrientationPatient, in: o)
                guard v.count == 6, zip(v, iop).allSatisfy({ abs($0 - $1) < 1e-4 }) else {
                    throw DicomError(
                        .geometry,
                        "\(path): SEG frame \(f + 1) has another orientation than frame 1; "
                            + "frames of one SEG must share their orientation", offset: ds.elements[o].fileOffset,
                        tag: Tags.imageOrientationPatient)
                }
            }
            guard let idItem = group(Tags.segmentIdentificationSequence, f),
                let seg = ds.int(Tags.referencedSegmentNumber, in: idItem)
            else {
                throw fail(
                    "frame \(f + 1) has no SegmentIdentificationSequence / ReferencedSegmentNumber",
                    Tags.referencedSegmentNumber, at: perFrame[f])
            }
            guard known.contains(seg) else {
                throw fail(
                    "frame \(f + 1) refers to segment \(seg), which SegmentSequence does not define",
                    Tags.referencedSegmentNumber, at: idItem)
            }
            let p = (ipp[0], ipp[1], ipp[2])
            fr.append(SegFrame(position: p, segment: seg, offset: dot(p, normal)))
        }
        frames = fr
        // Half the distance between SEG planes: SpacingBetweenSlices, else the smallest distance between
        // distinct frame planes, else SliceThickness; nil when none is known (one plane, no thickness).
        if let between, between > 0 {
            halfThickness = between / 2
        } else if let d = smallestStep(fr.map { $0.offset }) {
            halfThickness = d / 2
        } else if let thickness, thickness > 0 {
            halfThickness = thickness / 2
        } else {
            halfThickness = nil
        }
    }

    /// Nearest-neighbour sampling of segment `number` on `grid`: each target voxel centre takes the
    /// value of the SEG pixel whose cell contains it, on the SEG plane nearest to it if that plane
    /// is within half the SEG's slice spacing; elsewhere 0.
    func fill(number: Int, grid g: TargetGrid, sink: MaskSink, threads: Int) {
        let mine = frames.enumerated().filter { $0.element.segment == number }
            .sorted { $0.element.offset < $1.element.offset }
        guard !mine.isEmpty else { return }
        let offs = mine.map { $0.element.offset }
        let h = (halfThickness ?? g.halfSliceSpacing) + 1e-4
        let plane = rows * columns
        let rowsD = Double(rows), colsD = Double(columns)
        Parallel.chunks(count: g.slices, threads: threads, granularity: 4) { _, range in
            for k in range {
                let o = g.sliceOrigin(k)
                // skip slices whose corners are all farther than h from every SEG plane
                var lo = Double.infinity, hi = -Double.infinity
                for (ci, cj) in [
                    (0.0, 0.0), (Double(g.rows - 1), 0.0), (0.0, Double(g.columns - 1)),
                    (Double(g.rows - 1), Double(g.columns - 1)),
                ] {
                    let u = dot(g.point(o, ci, cj), normal)
                    lo = min(lo, u); hi = max(hi, u)
                }
                if hi < offs[0] - h || lo > offs[offs.count - 1] + h { continue }
                let step = (g.rowDir.0 * g.colSpacing, g.rowDir.1 * g.colSpacing, g.rowDir.2 * g.colSpacing)
                let du = dot(step, normal), dr = dot(step, colDir) / rowSpacing, dc = dot(step, rowDir) / colSpacing
                for i in 0..<g.rows {
                    let p0 = g.point(o, Double(i), 0)
                    let u0 = dot(p0, normal)
                    if abs(du) * Double(g.columns) < 1e-6 {
                        // the row lies in one plane parallel to the SEG's: one frame for the whole row,
                        // row / column indices linear in j
                        let n = nearest(offs, u0)
                        guard abs(offs[n] - u0) <= h else { continue }
                        let f = mine[n]
                        let q = sub(p0, f.element.position)
                        let r0 = dot(q, colDir) / rowSpacing + 0.5, c0 = dot(q, rowDir) / colSpacing + 0.5
                        let base = f.offset * plane
                        for j in 0..<g.columns {
                            let r = (r0 + Double(j) * dr).rounded(.down)
                            let c = (c0 + Double(j) * dc).rounded(.down)
                            guard r >= 0, r < rowsD, c >= 0, c < colsD else { continue }
                            let v = pixels[base + Int(r) * columns + Int(c)]
                            if v != 0 { sink.set(k, i, j, Double(v) / maxFractional) }
                        }
                        continue
                    }
                    for j in 0..<g.columns {
                        let p = g.point(o, Double(i), Double(j))
                        let u = dot(p, normal)
                        let n = nearest(offs, u)
                        guard abs(offs[n] - u) <= h else { continue }
                        let f = mine[n]
                        let q = sub(p, f.element.position)
                        let r = (dot(q, colDir) / rowSpacing + 0.5).rounded(.down)
                        let c = (dot(q, rowDir) / colSpacing + 0.5).rounded(.down)
                        guard r >= 0, r < rowsD, c >= 0, c < colsD else { continue }
                        let v = pixels[f.offset * plane + Int(r) * columns + Int(c)]
                        if v != 0 { sink.set(k, i, j, Double(v) / maxFractional) }
                    }
                }
            }
        }
    }
}
