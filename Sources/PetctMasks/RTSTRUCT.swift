import DicomBytes
import DicomParser
import DicomPixels
import PetctPairing
import PetctSeries

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
