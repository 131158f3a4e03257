import DicomBytes
import DicomParser
import DicomPixels
import PetctPairing
import PetctSeries

typealias Vec3 = (Double, Double, Double)
@inline(__always) func dot(_ a: Vec3, _ b: Vec3) -> Double { a.0 * b.0 + a.1 * b.1 + a.2 * b.2 }
@inline(__always) func sub(_ a: Vec3, _ b: Vec3) -> Vec3 { (a.0 - b.0, a.1 - b.1, a.2 - b.2) }
@inline(__always) func cross(_ a: Vec3, _ b: Vec3) -> Vec3 {
    (a.1 * b.2 - a.2 * b.1, a.2 * b.0 - a.0 * b.2, a.0 * b.1 - a.1 * b.0)
}
func norm(_ a: Vec3) -> Double { dot(a, a).squareRoot() }

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

/// Index of the value in sorted `a` nearest to `x`.
func nearest(_ a: [Double], _ x: Double) -> Int {
    var lo = 0, hi = a.count
    while lo < hi {
        let m = (lo + hi) / 2
        if a[m] < x { lo = m + 1 } else { hi = m }
    }
    if lo == a.count { return a.count - 1 }
    if lo > 0 && x - a[lo - 1] <= a[lo] - x { return lo - 1 }
    return lo
}

/// Smallest distance between distinct values (closer than 1e-3 counts as the same), nil for < 2.
func smallestStep(_ values: [Double]) -> Double? {
    let s = values.sorted()
    var best: Double? = nil
    for i in 1..<max(1, s.count) {
        let d = s[i] - s[i - 1]
        if d > 1e-3 { best = min(best ?? d, d) }
    }
    return best
}

/// One closed planar contour of an RTSTRUCT ROI.
struct Contour {
    var points: [Vec3]
    var fileOffset: Int
    var index: Int  // 1-based within its ROI, for messages
}

final class StructObject: @unchecked Sendable {
    let path: String
    var rois: [(number: Int, name: String, contours: [Contour])] = []
    /// Every contour's plane along the normal of the ROI's first contour: filled per grid in fill.
    init(path: String, ds: Dataset) throws(DicomError) {
        self.path = path
        func fail(_ msg: String, _ tag: UInt32, at index: Int? = nil) -> DicomError {
            let off = index.map { ds.elements[$0].fileOffset } ?? -1
            return DicomError(.malformed, "\(path): RTSTRUCT \(msg)", offset: off, tag: tag)
        }
        var names: [Int: String] = [:]
        var order: [Int] = []
        for item in ds.items(Tags.structureSetROISequence) {
            guard let n = ds.int(Tags.roiNumber, in: item) else {
                throw fail("ROI without ROINumber", Tags.roiNumber, at: item)
            }
            let name = (ds.string(Tags.roiName, in: item) ?? "").trimmingCharacters()
            names[n] = name.isEmpty ? "ROI \(n)" : name
            order.append(n)
        }
        guard !order.isEmpty else { throw fail("has no StructureSetROISequence items", Tags.structureSetROISequence) }
        var contours: [Int: [Contour]] = [:]
        for item in ds.items(Tags.roiContourSequence) {
            guard let n = ds.int(Tags.referencedROINumber, in: item) else {
                throw fail("ROIContourSequence item without ReferencedROINumber", Tags.referencedROINumber, at: item)
            }
            guard names[n] != nil else {
                throw fail(
                    "ROIContourSequence refers to ROI \(n), which StructureSetROISequence does not define",
                    Tags.referencedROINumber, at: item)
            }
            var list: [Contour] = []
            for (ci, c) in ds.items(Tags.contourSequence, in: item).enumerated() {
                let type = (ds.string(Tags.contourGeometricType, in: c) ?? "").trimmingCharacters()
                guard type == "CLOSED_PLANAR" else { continue }  // POINT and open contours enclose nothing
                guard let di = ds.index(of: Tags.contourData, in: c) else {
                    throw fail("ROI \(n) contour \(ci + 1) has no ContourData", Tags.contourData, at: c)
                }
                let v = ds.doubles(at: di)
                guard v.count % 3 == 0, v.count >= 9, v.allSatisfy({ $0.isFinite }) else {
                    throw fail(
                        "ROI \(n) contour \(ci + 1): ContourData needs 3 or more finite (x, y, z) points, has \(v.count) values",
                        Tags.contourData, at: di)
                }
                let pts = stride(from: 0, to: v.count, by: 3).map { (v[$0], v[$0 + 1], v[$0 + 2]) }
                list.append(Contour(points: pts, fileOffset: ds.elements[di].fileOffset, index: ci + 1))
            }
            contours[n, default: []].append(contentsOf: list)
        }
        rois = order.map { ($0, names[$0]!, contours[$0] ?? []) }
    }

    /// Rasterises ROI `number` on `grid`: each target slice takes the contours of the contour plane
    /// nearest to it, if within half the distance between the ROI's contour planes (an ROI on one plane:
    /// the structure set's smallest plane distance, else the grid's slice spacing),
    /// and a voxel is set when its centre is inside by the even-odd rule over that plane's contours.
    /// With `strict`, a contour lying off every slice of the grid is an error.
    func fill(number: Int, grid g: TargetGrid, sink: MaskSink, strict: Bool, threads: Int) throws(DicomError) {
        guard let roi = rois.first(where: { $0.number == number }) else { return }
        let n = g.normal
        // the ROI's plane spacing; for a single-plane ROI the whole structure set's
        let own = roi.contours.map { dot($0.points[0], n) }
        var all: [Double] = []
        for r in rois { for c in r.contours { all.append(dot(c.points[0], n)) } }
        let h = ((smallestStep(own) ?? smallestStep(all)).map { $0 / 2 } ?? g.halfSliceSpacing) + 1e-4
        let (lo, hi) = g.normalExtent
        // group this ROI's contours by plane
        var planes: [(offset: Double, contours: [Int])] = []
        for (ci, c) in roi.contours.enumerated() {
            var mn = Double.infinity, mx = -Double.infinity
            for p in c.points { let d = dot(p, n); mn = min(mn, d); mx = max(mx, d) }
            guard mx - mn < 1e-2 else {
                throw DicomError(
                    .geometry,
                    "\(path): ROI '\(roi.name)' contour \(c.index) is not in a plane parallel to "
                        + "the slices of the grid (spans \(mx - mn) mm along the slice normal)",
                    offset: c.fileOffset, tag: Tags.contourData)
            }
            let d = (mn + mx) / 2
            if d < lo - g.halfSliceSpacing - 1e-3 || d > hi + g.halfSliceSpacing + 1e-3 {
                if strict {
                    throw DicomError(
                        .geometry,
                        "\(path): ROI '\(roi.name)' contour \(c.index) lies at \(d) mm along the "
                            + "slice normal, off every slice of the grid (\(lo) to \(hi) mm)",
                        offset: c.fileOffset, tag: Tags.contourData)
                }
                continue
            }
            if let pi = planes.firstIndex(where: { abs($0.offset - d) < 1e-3 }) {
                planes[pi].contours.append(ci)
            } else {
                planes.append((d, [ci]))
            }
        }
        guard !planes.isEmpty else { return }
        planes.sort { $0.offset < $1.offset }
        let offs = planes.map { $0.offset }
        let contours = roi.contours
        Parallel.chunks(count: g.slices, threads: threads, granularity: 4) { _, range in
            for k in range {
                let o = g.sliceOrigin(k)
                let t = dot(o, n)
                let pi = nearest(offs, t)
                guard abs(offs[pi] - t) <= h else { continue }
                var polys: [[(Double, Double)]] = []
                for ci in planes[pi].contours {
                    polys.append(
                        contours[ci].points.map { p in
                            let q = sub(p, o)
                            return (snap(dot(q, g.rowDir) / g.colSpacing), snap(dot(q, g.colDir) / g.rowSpacing))
                        })
                }
                scanFill(polys, rows: g.rows, columns: g.columns) { i, j0, j1 in
                    for j in j0..<j1 { sink.set(k, i, j, 1) }
                }
            }
        }
    }
}

/// Rounds to 1e-6 voxel so that points meant to be on a voxel centre are exactly on it.
@inline(__always) func snap(_ x: Double) -> Double { abs(x) < 1e12 ? (x * 1e6).rounded() / 1e6 : x }

/// Even-odd scanline fill of polygons given as (x = column index, y = row index) points. A voxel
/// centre (j, i) is inside when a ray from it towards +x crosses the polygon edges an odd number of
/// times; an edge counts for rows y0 <= i < y1 (half-open), so a centre exactly on the boundary is
/// inside on the left and top edges (smaller column / row index) and outside on the right and bottom
/// ones. `span(i, j0, j1)` gets each run of inside voxels j0..<j1 of row i.
public func scanFill(_ polys: [[(Double, Double)]], rows: Int, columns: Int, _ span: (Int, Int, Int) -> Void) {
    var ymin = Double.infinity, ymax = -Double.infinity
    for p in polys { for (_, y) in p { ymin = min(ymin, y); ymax = max(ymax, y) } }
    guard ymin.isFinite, ymax.isFinite else { return }
    let i0 = max(0, Int(max(-1, ymin).rounded(.up)))
    let i1 = min(rows - 1, Int(min(Double(rows), ymax).rounded(.down)))
    guard i0 <= i1 else { return }
    var xs: [Double] = []
    for i in i0...i1 {
        let y = Double(i)
        xs.removeAll(keepingCapacity: true)
        for p in polys {
            let m = p.count
            for e in 0..<m {
                let (x0, y0) = p[e], (x1, y1) = p[(e + 1) % m]
                if (y0 <= y && y < y1) || (y1 <= y && y < y0) {
                    let x = snap(x0 + (y - y0) * (x1 - x0) / (y1 - y0))
                    if x.isFinite { xs.append(x) }  // absurd coordinates: the crossing is dropped
                }
            }
        }
        guard xs.count >= 2 else { continue }
        xs.sort()
        var a = 0
        while a + 1 < xs.count {
            let j0 = max(0, Int(max(-1, xs[a]).rounded(.up)))
            let j1 = min(columns, Int(min(Double(columns), xs[a + 1]).rounded(.up)))
            if j0 < j1 { span(i, j0, j1) }
            a += 2
        }
    }
}

/// The target grid with its axes as vectors.
public struct TargetGrid: Sendable {
    let slices: Int, rows: Int, columns: Int
    let origin: Vec3, normal: Vec3, colDir: Vec3, rowDir: Vec3
    let sliceSpacing: Double, rowSpacing: Double, colSpacing: Double
    let offsets: [Double]

    public init(_ g: Grid) throws(DicomError) {
        guard g.slices > 0, g.rows > 0, g.columns > 0, g.origin.count == 3, g.direction.count == 9,
            g.spacing.count == 3, g.spacing.allSatisfy({ $0.isFinite && $0 > 0 }),
            g.origin.allSatisfy({ $0.isFinite }), g.direction.allSatisfy({ $0.isFinite })
        else {
            throw DicomError(.argument, "mask grid: bad size, origin, direction or spacing")
        }
        let (rc, o1) = g.rows.multipliedReportingOverflow(by: g.columns)
        let (_, o2) = rc.multipliedReportingOverflow(by: g.slices)
        guard !o1, !o2 else { throw DicomError(.argument, "mask grid: size too large") }
        slices = g.slices; rows = g.rows; columns = g.columns
        origin = (g.origin[0], g.origin[1], g.origin[2])
        let d = g.direction
        // columns of direction: n (slice normal), c (increasing row index), r (increasing column index)
        normal = (d[0], d[3], d[6]); colDir = (d[1], d[4], d[7]); rowDir = (d[2], d[5], d[8])
        sliceSpacing = g.spacing[0]; rowSpacing = g.spacing[1]; colSpacing = g.spacing[2]
        if let o = g.sliceOffsets {
            guard o.count == g.slices, o.allSatisfy({ $0.isFinite }) else {
                throw DicomError(.argument, "mask grid: slice offsets need one finite value per slice")
            }
            offsets = o
        } else {
            offsets = (0..<g.slices).map { Double($0) * g.spacing[0] }
        }
    }

    func sliceOrigin(_ k: Int) -> Vec3 {
        let t = offsets[k]
        return (origin.0 + t * normal.0, origin.1 + t * normal.1, origin.2 + t * normal.2)
    }
    @inline(__always) func point(_ o: Vec3, _ i: Double, _ j: Double) -> Vec3 {
        let y = i * rowSpacing, x = j * colSpacing
        return (o.0 + y * colDir.0 + x * rowDir.0, o.1 + y * colDir.1 + x * rowDir.1, o.2 + y * colDir.2 + x * rowDir.2)
    }
    var halfSliceSpacing: Double {
        (smallestStep(offsets) ?? sliceSpacing) / 2
    }
    /// Min / max of the slice planes along the normal (patient coordinates projected on it).
    var normalExtent: (Double, Double) {
        let base = dot(origin, normal)
        let ts = offsets.map { base + $0 }
        return (ts.min()!, ts.max()!)
    }
}

/// Where mask values go: one byte per voxel (value >= threshold -> 1) or one float per voxel.
public final class MaskSink: @unchecked Sendable {
    let bytes: UnsafeMutablePointer<UInt8>?
    let floats: UnsafeMutablePointer<Float>?
    let rows: Int, columns: Int
    let threshold: Double
    public init(
        bytes: UnsafeMutablePointer<UInt8>?, floats: UnsafeMutablePointer<Float>?, rows: Int, columns: Int,
        threshold: Double
    ) {
        self.bytes = bytes; self.floats = floats; self.rows = rows; self.columns = columns; self.threshold = threshold
    }
    @inline(__always) func set(_ k: Int, _ i: Int, _ j: Int, _ v: Double) {
        let at = (k * rows + i) * columns + j
        if let floats { floats[at] = Float(v) } else if let bytes, v >= threshold { bytes[at] = 1 }
    }
}

/// What the masks document (petct_masks_json) says of one SEG or RTSTRUCT file (encoded by PetctExport).
public struct MaskObjectInfo: Equatable, Sendable {
    public var path: String
    public var modality: String
    public var sopInstanceUID: String?
    public var seriesUID: String?
    /// "BINARY" / "FRACTIONAL" for SEG, nil for RTSTRUCT.
    public var segmentationType: String? = nil
    public var segments: [MaskSegmentInfo] = []
    public var referencedSeries: [String] = []
    public var referencedInstances: [String] = []
    public var frameOfReferenceUIDs: [String] = []
}

/// One segment (SEG) or ROI (RTSTRUCT): its number, name, owning object and planes (frames / contours).
public struct MaskSegmentInfo: Equatable, Sendable {
    public var number: Int
    public var name: String
    public var object: Int
    public var planes: Int
}

/// Every segment / ROI of a list of SEG and RTSTRUCT files.
public final class MaskSet: @unchecked Sendable {
    enum Object {
        case seg(SegObject)
        case rt(StructObject)
    }
    let objects: [Object]
    /// (object index, segment or ROI number)
    let entries: [(object: Int, number: Int)]
    /// One entry per file, in order: the masks JSON document.
    public let infos: [MaskObjectInfo]

    public var count: Int { entries.count }

    /// Reads every file (whole, pixels included) and lists its segments / ROIs.
    public convenience init(paths: [String]) throws(DicomError) {
        var list: [(String, Dataset)] = []
        for path in paths {
            do throws(DicomError) {
                list.append((path, try DicomReader.read(path: path)))
            } catch {
                var e = error
                e.message = "\(path): " + e.message
                throw e
            }
        }
        try self.init(datasets: list)
    }

    /// The same from parsed data sets (`path` names each in messages).
    public init(datasets: [(String, Dataset)]) throws(DicomError) {
        var objs: [Object] = []
        var ents: [(Int, Int)] = []
        var infos: [MaskObjectInfo] = []
        for (path, ds) in datasets {
            let modality = (ds.string(Tags.modality) ?? "").trimmingCharacters()
            let oi = objs.count
            var info = MaskObjectInfo(
                path: path, modality: modality, sopInstanceUID: ds.string(Tags.sopInstanceUID)?.trimmingCharacters(),
                seriesUID: ds.string(Tags.seriesInstanceUID)?.trimmingCharacters())
            var refSeries: [String] = [], refInstances: [String] = [], forUIDs: [String] = []
            switch modality {
            case "SEG":
                let seg = try SegObject(path: path, ds: ds)
                objs.append(.seg(seg))
                let refs = ds.items(Tags.referencedSeriesSequence)
                guard !refs.isEmpty else {
                    throw DicomError(
                        .malformed, "\(path): SEG has no ReferencedSeriesSequence: the series it segments is unknown",
                        tag: Tags.referencedSeriesSequence)
                }
                for r in refs {
                    if let s = ds.string(Tags.seriesInstanceUID, in: r)?.trimmingCharacters() { refSeries.append(s) }
                    for inst in ds.items(Tags.referencedInstanceSequence, in: r) {
                        if let u = ds.string(Tags.referencedSOPInstanceUID, in: inst)?.trimmingCharacters() {
                            refInstances.append(u)
                        }
                    }
                }
                if let f = ds.string(Tags.frameOfReferenceUID)?.trimmingCharacters(), !f.isEmpty { forUIDs.append(f) }
                info.segmentationType = seg.fractional ? "FRACTIONAL" : "BINARY"
                for s in seg.segments {
                    ents.append((oi, s.number))
                    info.segments.append(
                        MaskSegmentInfo(
                            number: s.number, name: s.label, object: oi,
                            planes: seg.frames.filter { $0.segment == s.number }.count))
                }
            case "RTSTRUCT":
                let rt = try StructObject(path: path, ds: ds)
                objs.append(.rt(rt))
                let refs = ds.items(Tags.referencedFrameOfReferenceSequence)
                for r in refs {
                    if let f = ds.string(Tags.frameOfReferenceUID, in: r)?.trimmingCharacters(), !f.isEmpty {
                        forUIDs.append(f)
                    }
                    for st in ds.items(Tags.rtReferencedStudySequence, in: r) {
                        for se in ds.items(Tags.rtReferencedSeriesSequence, in: st) {
                            if let s = ds.string(Tags.seriesInstanceUID, in: se)?.trimmingCharacters() {
                                refSeries.append(s)
                            }
                            for ci in ds.items(Tags.contourImageSequence, in: se) {
                                if let u = ds.string(Tags.referencedSOPInstanceUID, in: ci)?.trimmingCharacters() {
                                    refInstances.append(u)
                                }
                            }
                        }
                    }
                }
                guard !refSeries.isEmpty else {
                    throw DicomError(
                        .malformed,
                        "\(path): RTSTRUCT has no ReferencedFrameOfReferenceSequence > "
                            + "RTReferencedStudySequence > RTReferencedSeriesSequence: the series it contours is unknown",
                        tag: refs.isEmpty ? Tags.referencedFrameOfReferenceSequence : Tags.rtReferencedSeriesSequence)
                }
                for r in rt.rois {
                    ents.append((oi, r.number))
                    info.segments.append(
                        MaskSegmentInfo(number: r.number, name: r.name, object: oi, planes: r.contours.count))
                }
            default:
                throw DicomError(
                    .invalidDicom, "\(path): Modality is '\(modality)', not SEG or RTSTRUCT", tag: Tags.modality)
            }
            info.referencedSeries = refSeries
            info.referencedInstances = refInstances
            info.frameOfReferenceUIDs = forUIDs
            infos.append(info)
        }
        objects = objs
        entries = ents
        self.infos = infos
    }

    /// Fills entry `index` (in the order of `infos` and their segments) on `grid` into `sink`. `strict`: an RTSTRUCT contour
    /// off every slice of the grid raises instead of being left out.
    public func fill(_ index: Int, grid: Grid, sink: MaskSink, strict: Bool, threads: Int) throws(DicomError) {
        guard index >= 0, index < entries.count else { throw DicomError(.argument, "mask index \(index) out of range") }
        let g = try TargetGrid(grid)
        let e = entries[index]
        switch objects[e.object] {
        case .seg(let s): s.fill(number: e.number, grid: g, sink: sink, threads: threads)
        case .rt(let r): try r.fill(number: e.number, grid: g, sink: sink, strict: strict, threads: threads)
        }
    }
}

extension String {
    func trimmingCharacters() -> String {
        var u = Substring(self)
        while let f = u.first, f == " " || f == "\0" { u.removeFirst() }
        while let l = u.last, l == " " || l == "\0" { u.removeLast() }
        return String(u)
    }
}
