import DicomBytes
import DicomParser
import DicomPixels

/// What a volume needs from one slice: a single-frame file, or one frame of a multi-frame file.
struct SliceRecord {
    var placement: SlicePlacement
    var fileIndex: Int
    /// Frame in the file (0 for single-frame files).
    var frame: Int
    var rows: Int?
    var columns: Int?
    var pixelSpacing: [Double]?
    var thickness: Double?
    var spacingBetween: Double?
    var slope: Double
    var intercept: Double
    var acquisitionTime: String
}

/// Upper bound on NumberOfFrames accepted from a header (records are allocated per frame).
let maximumFrames = 1 << 16

extension SliceRecord {
    /// The slices of one data set: one record, or one per frame for multi-frame objects (positions and
    /// orientations from the per-frame / shared functional groups). Adds warnings for guessed values.
    static func records(of ds: Dataset, path: String, fileIndex: Int, warnings: inout [String]) throws(DicomError) -> [SliceRecord] {
        let rows = ds.int(Tag.rows), columns = ds.int(Tag.columns)
        let instance = ds.int(Tag.instanceNumber)
        let topSpacing = ds.doubles(Tag.pixelSpacing)
        let topThickness = ds.double(Tag.sliceThickness)
        let between = ds.double(Tag.spacingBetweenSlices)
        let topSlope = ds.double(Tag.rescaleSlope) ?? 1
        let topIntercept = ds.double(Tag.rescaleIntercept) ?? 0
        let topIPP = ds.doubles(Tag.imagePositionPatient)
        let topIOP = ds.doubles(Tag.imageOrientationPatient)
        var topTime = ds.nonEmptyString(Tag.acquisitionDateTime) ?? ""
        if topTime.isEmpty {
            topTime = (ds.nonEmptyString(Tag.acquisitionDate) ?? "") + (ds.nonEmptyString(Tag.acquisitionTime) ?? "")
        }
        let frames = max(1, ds.int(Tag.numberOfFrames) ?? 1)
        guard frames <= maximumFrames else {
            throw DicomError(.geometry, "\(path): NumberOfFrames \(frames) exceeds \(maximumFrames)", tag: Tag.numberOfFrames)
        }
        if frames == 1 {
            return [SliceRecord(placement: SlicePlacement(position: topIPP.count >= 3 ? topIPP : nil,
                                                          orientation: topIOP.count >= 6 ? topIOP : nil,
                                                          instanceNumber: instance, name: path),
                                fileIndex: fileIndex, frame: 0, rows: rows, columns: columns,
                                pixelSpacing: topSpacing.count >= 2 ? topSpacing : nil, thickness: topThickness,
                                spacingBetween: between, slope: topSlope, intercept: topIntercept, acquisitionTime: topTime)]
        }
        // Multi-frame: functional groups (enhanced objects) or a legacy stack with one position.
        let shared = ds.firstItem(Tag.sharedFunctionalGroups)
        let perFrame = ds.items(Tag.perFrameFunctionalGroups)
        let pf = perFrame.count == frames ? perFrame : []
        func macro(_ seq: UInt32, _ f: Int) -> [Int] {
            var found: [Int] = []
            if !pf.isEmpty, let it = ds.firstItem(seq, in: pf[f]) { found.append(it) }
            if let shared, let it = ds.firstItem(seq, in: shared) { found.append(it) }
            return found
        }
        func firstDoubles(_ tag: UInt32, _ items: [Int], min count: Int) -> [Double]? {
            for it in items {
                let v = ds.doubles(tag, in: it)
                if v.count >= count { return v }
            }
            return nil
        }
        var out: [SliceRecord] = []
        out.reserveCapacity(frames)
        var legacy = false
        let gridOffsets = ds.doubles(Tag.gridFrameOffsetVector)
        for f in 0..<frames {
            let posItems = macro(Tag.planePositionSequence, f)
            let oriItems = macro(Tag.planeOrientationSequence, f)
            let measures = macro(Tag.pixelMeasuresSequence, f)
            let transform = macro(Tag.pixelValueTransformationSequence, f)
            let orientation = firstDoubles(Tag.imageOrientationPatient, oriItems, min: 6) ?? (topIOP.count >= 6 ? topIOP : nil)
            var position = firstDoubles(Tag.imagePositionPatient, posItems, min: 3)
            if position == nil, topIPP.count >= 3, let o = orientation, let r = Vec3(o), let c = Vec3(o, from: 3),
               let p0 = Vec3(topIPP) {
                // Legacy multi-frame: frames stacked along the normal from the one position.
                legacy = true
                let step = between ?? topThickness ?? 1
                let off = gridOffsets.count == frames ? gridOffsets[f] : Double(f) * step
                position = (p0 + off * r.normalized.cross(c.normalized).normalized).array
            }
            let spacing = firstDoubles(Tag.pixelSpacing, measures, min: 2) ?? (topSpacing.count >= 2 ? topSpacing : nil)
            let thickness = firstDoubles(Tag.sliceThickness, measures, min: 1)?.first ?? topThickness
            let slope = firstDoubles(Tag.rescaleSlope, transform, min: 1)?.first ?? topSlope
            let intercept = firstDoubles(Tag.rescaleIntercept, transform, min: 1)?.first ?? topIntercept
            var time = topTime
            if !pf.isEmpty, let fc = ds.firstItem(Tag.frameContentSequence, in: pf[f]),
               let t = ds.nonEmptyString(Tag.frameAcquisitionDateTime, in: fc) {
                time = t
            }
            out.append(SliceRecord(placement: SlicePlacement(position: position, orientation: orientation,
                                                             instanceNumber: instance, name: "\(path) frame \(f + 1)"),
                                   fileIndex: fileIndex, frame: f, rows: rows, columns: columns, pixelSpacing: spacing,
                                   thickness: thickness, spacingBetween: between, slope: slope, intercept: intercept,
                                   acquisitionTime: time))
        }
        if legacy && gridOffsets.count != frames {
            warnings.append("\(path): \(frames) frames without per-frame positions: stacked along the normal every "
                            + "\(formatMM(between ?? topThickness ?? 1)) mm")
        }
        return out
    }
}

/// One series opened for loading: sorted slice headers and geometry; pixels are read by `fill`.
public final class VolumePlan: @unchecked Sendable {
    /// Slice headers (read with stopBeforePixels), in volume order (a multi-frame file's header
    /// repeats for each of its frames).
    public let headers: [Dataset]
    /// The file of every slice, in volume order.
    public let paths: [String]
    public let rows: Int
    public let columns: Int
    /// The JSON document described in petct.h (petct_volume_json).
    public let json: String
    /// Geometry of the stack.
    public let geometry: StackGeometry
    /// Pixel spacing (row, column) in mm.
    public let pixelSpacing: (Double, Double)
    /// Frame within its file of every slice, in volume order (0 for single-frame files).
    public let frames: [Int]

    init(headers: [Dataset], paths: [String], rows: Int, columns: Int, json: String, geometry: StackGeometry,
         pixelSpacing: (Double, Double), frames: [Int]) {
        self.headers = headers; self.paths = paths; self.rows = rows; self.columns = columns; self.json = json
        self.geometry = geometry; self.pixelSpacing = pixelSpacing; self.frames = frames
    }

    public var sliceCount: Int { headers.count }

    public static func open(paths: [String], threads: Int) throws(DicomError) -> VolumePlan {
        try open(paths: paths, threads: threads, known: [:])
    }

    /// Like `open(paths:threads:)`, but a path found in `known` (headers a scan kept, read with the same
    /// stop-before-pixels options) is not read again; the others are read in parallel.
    public static func open(paths: [String], threads: Int, known: [String: Dataset],
                            cancel: CancelFlag = .none) throws(DicomError) -> VolumePlan {
        guard !paths.isEmpty else { throw DicomError(.argument, "no files for the volume") }
        var datasets = paths.map { known[$0] }
        let missing = datasets.indices.filter { datasets[$0] == nil }
        if !missing.isEmpty {
            let results = HeaderReader.readAll(missing.map { paths[$0] }, threads: threads, cancel: cancel)
            try cancel.check()
            for (j, r) in results.enumerated() {
                let i = missing[j]
                switch r {
                case .success(let ds): datasets[i] = ds
                case .failure(var e):
                    if !e.message.contains(paths[i]) { e.message = "\(paths[i]): \(e.message)" }
                    throw e.at(item: i)
                }
            }
        }
        let all = datasets.compactMap { $0 }
        guard all.count == paths.count else { throw DicomError(.argument, "a header was neither known nor read") }
        return try open(datasets: all, paths: paths)
    }

    /// Builds the plan from headers already read (`paths[i]` is the file of `datasets[i]`).
    public static func open(datasets: [Dataset], paths: [String]) throws(DicomError) -> VolumePlan {
        guard !datasets.isEmpty, datasets.count == paths.count else {
            throw DicomError(.argument, "need one path per data set")
        }
        var warnings: [String] = []
        var records: [SliceRecord] = []
        for (i, ds) in datasets.enumerated() {
            do throws(DicomError) {
                // Before anyone sizes the volume from these headers: each must hold what it declares.
                if var problem = SeriesScanner.declaredPixelProblem(ds) {
                    problem.message = "\(paths[i]): " + problem.message
                    throw problem
                }
                records += try SliceRecord.records(of: ds, path: paths[i], fileIndex: i, warnings: &warnings)
            } catch {
                throw error.at(item: i)
            }
        }
        guard let rows = records[0].rows, let columns = records[0].columns, rows > 0, columns > 0,
              rows <= 65535, columns <= 65535 else {
            throw DicomError(.geometry, "\(paths[0]): no valid Rows/Columns (not an image)", tag: Tag.rows)
        }
        for r in records where r.rows != rows || r.columns != columns {
            throw DicomError(.geometry, "\(r.placement.name): image size \(r.rows ?? 0)x\(r.columns ?? 0) differs from "
                             + "\(rows)x\(columns) of \(paths[0])", tag: Tag.rows)
        }
        let first = records[0]
        var geometry = try Stacking.stack(records.map { $0.placement },
                                          fallbackSpacing: first.spacingBetween ?? first.thickness)
        let kept = geometry.order.map { records[$0] }
        var ps = (1.0, 1.0)
        if let s = kept[0].pixelSpacing, s[0].isFinite, s[1].isFinite, s[0] > 0, s[1] > 0 {
            ps = (s[0], s[1])
        } else {
            warnings.append("PixelSpacing missing or invalid in \(kept[0].placement.name): 1 mm assumed")
        }
        if let odd = kept.first(where: { r in
            guard let s = r.pixelSpacing, s.count >= 2 else { return false }
            return abs(s[0] - ps.0) > 1e-4 * ps.0 || abs(s[1] - ps.1) > 1e-4 * ps.1
        }) {
            warnings.append("PixelSpacing of \(odd.placement.name) differs from that of the first slice")
        }
        geometry.warnings = warnings + geometry.warnings

        let ds0 = datasets[kept[0].fileIndex]
        var w = JSONWriter()
        w.beginObject()
        w.values([kept.count, rows, columns], "shape")
        w.values(geometry.origin.array, "origin")
        w.values([geometry.sliceSpacing, ps.0, ps.1], "spacing")
        w.values(geometry.direction, "direction")
        w.values(geometry.affine(rowSpacing: ps.0, columnSpacing: ps.1), "affine")
        w.values(geometry.offsets, "slice_offsets")
        w.beginArray("slice_positions")
        for p in geometry.positions { w.values(p.array) }
        w.endArray()
        w.value(geometry.uniform, "uniform")
        w.values(geometry.warnings, "warnings")
        w.values(kept.map { paths[$0.fileIndex] }, "files")
        if kept.contains(where: { $0.frame != 0 }) || datasets.contains(where: { ($0.int(Tag.numberOfFrames) ?? 1) > 1 }) {
            w.values(kept.map { $0.frame }, "frames")
        }
        w.value(ds0.nonEmptyString(Tag.modality) ?? "", "modality")
        w.value(ds0.nonEmptyString(Tag.seriesInstanceUID) ?? "", "series_uid")
        w.value(ds0.nonEmptyString(Tag.studyInstanceUID) ?? "", "study_uid")
        w.value(ds0.nonEmptyString(Tag.frameOfReferenceUID), "frame_of_reference_uid")
        w.beginArray("rescale")
        for r in kept { w.values([r.slope, r.intercept]) }
        w.endArray()
        w.beginArray("instance_numbers")
        for r in kept { w.value(r.placement.instanceNumber) }
        w.endArray()
        w.values(kept.map { $0.acquisitionTime }, "acquisition_times")
        w.value(ds0.nonEmptyString(Tag.units), "units")
        w.endObject()

        return VolumePlan(headers: kept.map { datasets[$0.fileIndex] }, paths: kept.map { paths[$0.fileIndex] },
                          rows: rows, columns: columns, json: w.text, geometry: geometry, pixelSpacing: ps,
                          frames: kept.map { $0.frame })
    }

    /// Decodes and rescales every slice into `out` (sliceCount * rows * columns floats), in parallel;
    /// each file is read, decoded into place and released before the worker moves on.
    public func fill(_ out: UnsafeMutableBufferPointer<Float>) throws(DicomError) {
        try fill(out, threads: 0)
    }

    /// `cancel` is checked before each file; a set flag ends the fill with `.cancelled`. An error about
    /// one file carries the index of that file's first slice (`itemIndex`, into the JSON's "files").
    public func fill(_ out: UnsafeMutableBufferPointer<Float>, threads: Int, cancel: CancelFlag = .none) throws(DicomError) {
        let plane = rows * columns
        guard out.count == sliceCount * plane, let base = out.baseAddress else {
            throw DicomError(.argument, "output holds \(out.count) floats, the volume needs \(sliceCount * plane)")
        }
        // Slices grouped by file (a multi-frame file feeds several slices).
        var fileOrder: [String] = []
        var targets: [[(slice: Int, frame: Int)]] = []
        var seen: [String: Int] = [:]
        for k in 0..<sliceCount {
            if let f = seen[paths[k]] {
                targets[f].append((k, frames[k]))
            } else {
                seen[paths[k]] = fileOrder.count
                fileOrder.append(paths[k])
                targets.append([(k, frames[k])])
            }
        }
        let errors = FirstError<DicomError>()
        let dst = SharedBox(base)
        let rows = rows, columns = columns, headers = headers
        Parallel.chunks(count: fileOrder.count, threads: threads, granularity: 8) { _, range in
            for f in range {
                if errors.hasError { return }
                let path = fileOrder[f]
                do throws(DicomError) {
                    try cancel.check()
                    try VolumePlan.decode(path: path, rows: rows, columns: columns, targets: targets[f],
                                          header: headers[targets[f][0].slice], out: dst.value, plane: plane,
                                          cancel: cancel)
                } catch {
                    var e = error
                    if e.kind != .cancelled && !e.message.contains(path) { e.message = "\(path): \(e.message)" }
                    errors.record(e.at(item: targets[f][0].slice), index: f)
                }
            }
        }
        if let e = errors.error { throw e }
    }

    /// Elements of a slice's header that its place in the volume and its values rest on: a file whose
    /// copies of these differ from the header the plan was built from changed after that header was read.
    static let placementTags: [(tag: UInt32, name: String)] = [
        (Tag.sopInstanceUID, "SOPInstanceUID"), (Tag.imagePositionPatient, "ImagePositionPatient"),
        (Tag.imageOrientationPatient, "ImageOrientationPatient"), (Tag.rescaleSlope, "RescaleSlope"),
        (Tag.rescaleIntercept, "RescaleIntercept"), (Tag.numberOfFrames, "NumberOfFrames"),
    ]

    static func decode(path: String, rows: Int, columns: Int, targets: [(slice: Int, frame: Int)],
                       header: Dataset, out: UnsafeMutablePointer<Float>, plane: Int,
                       cancel: CancelFlag = .none) throws(DicomError) {
        let ds = try DicomReader.read(path: FilePath(path), regularOnly: true)
        for (tag, name) in placementTags where ds.nonEmptyString(tag) != header.nonEmptyString(tag) {
            throw DicomError(.geometry, "the file changed after its header was read (\(name) differs): load it again",
                             tag: tag)
        }
        let info = try PixelDecoder.info(ds)
        guard info.rows == rows, info.columns == columns else {
            throw DicomError(.geometry, "pixel data is \(info.rows)x\(info.columns), the header says \(rows)x\(columns)")
        }
        guard info.samples == 1 else {
            throw DicomError(.geometry, "\(info.samples) samples per pixel: a volume needs grey-scale images")
        }
        for t in targets where t.frame >= info.frames {
            throw DicomError(.geometry, "frame \(t.frame + 1) missing: the file has \(info.frames)")
        }
        if info.frames == 1, targets.count == 1 {
            try PixelDecoder.decodeRescaled(ds, into: UnsafeMutableBufferPointer(start: out + targets[0].slice * plane,
                                                                                 count: plane), cancel: cancel)
            return
        }
        let (total, overflow) = info.frames.multipliedReportingOverflow(by: plane)
        guard !overflow else { throw DicomError(.geometry, "too many frames") }
        try Limits.probeAllocation(total.multipliedReportingOverflow(by: 4).partialValue, what: "the frames of a multi-frame file")
        let tmp = UnsafeMutableBufferPointer<Float>.allocate(capacity: total)
        defer { tmp.deallocate() }
        try PixelDecoder.decodeRescaled(ds, into: tmp, cancel: cancel)
        for t in targets {
            (out + t.slice * plane).update(from: tmp.baseAddress! + t.frame * plane, count: plane)
        }
    }
}
