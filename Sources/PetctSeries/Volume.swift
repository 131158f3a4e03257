import DicomBytes
import DicomParser
import DicomPixels

/// The facts of an opened volume that cross the C ABI (encoded as the volume JSON by PetctExport; fields
/// as in petct.h, in the same order).
public struct VolumeInfo: Equatable, Sendable {
    public var shape: [Int]
    public var origin: [Double]
    public var spacing: [Double]
    public var direction: [Double]
    public var affine: [Double]
    public var sliceOffsets: [Double]
    public var slicePositions: [[Double]]
    public var uniform: Bool
    public var warnings: [String]
    public var files: [String]
    /// Frame within its file of every slice; nil (key absent) when no file is multi-frame.
    public var frames: [Int]? = nil
    public var modality = ""
    public var seriesUID = ""
    public var seriesNumber: Int? = nil
    public var seriesDescription = ""
    public var studyUID = ""
    public var frameOfReferenceUID: String? = nil
    /// [slope, intercept] of every slice.
    public var rescale: [[Double]] = []
    public var instanceNumbers: [Int?] = []
    public var acquisitionTimes: [String] = []
    public var units: String? = nil
    /// Present only for 4D volumes.
    public var timeFrames: TimeFrames? = nil

    public struct TimeFrames: Equatable, Sendable {
        public var kind: String?
        public var groupedBy: String
        public var frames: [Frame]
    }

    public struct Frame: Equatable, Sendable {
        public var index: Int
        public var start: String?
        public var durationMs: Double?
        public var frameReferenceMs: Double?
        public var decayFactor: Double?
        public var triggerMs: Double?
        public var gate: Int?
        public var imageIndexFrame: Int?
        public var temporalPositionIndex: Int?
        public var firstFile: String
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
    /// What the volume document (petct_volume_json, described in petct.h) holds.
    public let info: VolumeInfo
    /// Geometry of the stack.
    public let geometry: StackGeometry
    /// Pixel spacing (row, column) in mm.
    public let pixelSpacing: (Double, Double)
    /// Frame within its file of every slice, in volume order (0 for single-frame files).
    public let frames: [Int]
    /// Time frames (dynamic) or gates: slices are stored frame by frame, `sliceCount / timeFrameCount` each.
    public internal(set) var timeFrameCount = 1
    /// Per slice, for frames of multi-frame objects: FrameAcquisitionDateTime and FrameAcquisitionDuration
    /// of its Frame Content (nil for single-frame files); nil when no slice comes from a multi-frame file.
    public internal(set) var multiFrameStarts: [String?]? = nil
    public internal(set) var multiFrameDurationsMs: [Double?]? = nil

    init(
        headers: [Dataset], paths: [String], rows: Int, columns: Int, info: VolumeInfo, geometry: StackGeometry,
        pixelSpacing: (Double, Double), frames: [Int]
    ) {
        self.headers = headers; self.paths = paths; self.rows = rows; self.columns = columns; self.info = info
        self.geometry = geometry; self.pixelSpacing = pixelSpacing; self.frames = frames
    }

    public var sliceCount: Int { headers.count }

    public static func open(paths: [String], threads: Int) throws(DicomError) -> VolumePlan {
        try open(paths: paths, threads: threads, known: [:])
    }

    /// Like `open(paths:threads:)`, but a path found in `known` (headers a scan kept, read with the same
    /// stop-before-pixels options) is not read again; the others are read in parallel.
    public static func open(
        paths: [String], threads: Int, known: [String: Dataset],
        cancel: CancelFlag = .none
    ) throws(DicomError) -> VolumePlan {
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
            rows <= 65535, columns <= 65535
        else {
            throw DicomError(.geometry, "\(paths[0]): no valid Rows/Columns (not an image)", tag: Tags.rows)
        }
        for r in records where r.rows != rows || r.columns != columns {
            throw DicomError(
                .geometry,
                "\(r.placement.name): image size \(r.rows ?? 0)x\(r.columns ?? 0) differs from "
                    + "\(rows)x\(columns) of \(paths[0])", tag: Tags.rows)
        }
        records = try dropDuplicateInstances(records, paths: paths, warnings: &warnings)
        let proj = normalProjections(records)
        let grouping = TimeFrames.group(records.map { $0.timing }, proj: proj)
        var frameGroups = grouping.frames
        if let proj {
            for t in frameGroups.indices {
                frameGroups[t] = try dropIdenticalFiles(
                    frameGroups[t], records: records, proj: proj, paths: paths,
                    frame: frameGroups.count > 1 ? t : nil, warnings: &warnings)
            }
        }
        let first = records[frameGroups[0][0]]
        var geometry = try Stacking.stack(
            frameGroups[0].map { records[$0].placement },
            fallbackSpacing: first.spacingBetween ?? first.thickness)
        let firstOrder = geometry.order.map { frameGroups[0][$0] }
        var order = firstOrder
        for t in frameGroups.indices.dropFirst() {
            let g = try Stacking.stack(
                frameGroups[t].map { records[$0].placement },
                fallbackSpacing: first.spacingBetween ?? first.thickness)
            let frameOrder = g.order.map { frameGroups[t][$0] }
            try checkSamePositions(
                frameOrder, as: firstOrder, frame: t, of: frameGroups.count, records: records,
                geometry: geometry, other: g)
            order += frameOrder
        }
        let timeFrames = frameGroups.count
        let kept = order.map { records[$0] }
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
        let perFrame = kept.count / timeFrames
        var info = VolumeInfo(
            shape: timeFrames > 1 ? [timeFrames, perFrame, rows, columns] : [kept.count, rows, columns],
            origin: geometry.origin.array, spacing: [geometry.sliceSpacing, ps.0, ps.1],
            direction: geometry.direction, affine: geometry.affine(rowSpacing: ps.0, columnSpacing: ps.1),
            sliceOffsets: geometry.offsets, slicePositions: geometry.positions.map { $0.array },
            uniform: geometry.uniform, warnings: geometry.warnings, files: kept.map { paths[$0.fileIndex] })
        if kept.contains(where: { $0.frame != 0 })
            || datasets.contains(where: { ($0.int(Tags.numberOfFrames) ?? 1) > 1 })
        {
            info.frames = kept.map { $0.frame }
        }
        info.modality = ds0.nonEmptyString(Tags.modality) ?? ""
        info.seriesUID = ds0.nonEmptyString(Tags.seriesInstanceUID) ?? ""
        info.seriesNumber = ds0.int(Tags.seriesNumber)
        info.seriesDescription = ds0.nonEmptyString(Tags.seriesDescription) ?? ""
        info.studyUID = ds0.nonEmptyString(Tags.studyInstanceUID) ?? ""
        info.frameOfReferenceUID = ds0.nonEmptyString(Tags.frameOfReferenceUID)
        info.rescale = kept.map { [$0.slope, $0.intercept] }
        info.instanceNumbers = kept.map { $0.placement.instanceNumber }
        info.acquisitionTimes = kept.map { $0.acquisitionTime }
        info.units = ds0.nonEmptyString(Tags.units)
        if timeFrames > 1 {
            info.timeFrames = VolumeInfo.TimeFrames(
                kind: grouping.kind?.rawValue, groupedBy: grouping.groupedBy,
                frames: (0..<timeFrames).map { t in
                    let r = kept[t * perFrame]
                    return VolumeInfo.Frame(
                        index: t, start: r.timing.start.isEmpty ? nil : r.timing.start,
                        durationMs: r.timing.durationMs, frameReferenceMs: r.timing.frameReferenceMs,
                        decayFactor: r.timing.decayFactor, triggerMs: r.timing.triggerMs,
                        gate: grouping.kind == .gated ? t + 1 : nil,
                        imageIndexFrame: r.timing.imageIndex.flatMap { i in
                            r.timing.numberOfSlices.map { (i - 1) / $0 + 1 }
                        },
                        temporalPositionIndex: r.timing.temporalIndex, firstFile: paths[r.fileIndex])
                })
        }

        let plan = VolumePlan(
            headers: kept.map { datasets[$0.fileIndex] }, paths: kept.map { paths[$0.fileIndex] },
            rows: rows, columns: columns, info: info, geometry: geometry, pixelSpacing: ps,
            frames: kept.map { $0.frame })
        plan.timeFrameCount = timeFrames
        if kept.contains(where: { $0.fromMultiFrame }) {
            plan.multiFrameStarts = kept.map { $0.ownFrameStart }
            plan.multiFrameDurationsMs = kept.map { $0.fromMultiFrame ? $0.timing.durationMs : nil }
        }
        return plan
    }

    /// Decodes and rescales every slice into `out` (sliceCount * rows * columns floats), in parallel;
    /// each file is read, decoded into place and released before the worker moves on.
    public func fill(_ out: UnsafeMutableBufferPointer<Float>) throws(DicomError) {
        try fill(out, threads: 0)
    }

    /// `cancel` is checked before each file; a set flag ends the fill with `.cancelled`. An error about
    /// one file carries the index of that file's first slice (`itemIndex`, into the JSON's "files").
    public func fill(_ out: UnsafeMutableBufferPointer<Float>, threads: Int, cancel: CancelFlag = .none)
        throws(DicomError)
    {
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
        // One file (a multi-frame object) decodes its frames on the threads; many files take one each.
        let frameThreads = fileOrder.count == 1 ? threads : 1
        Parallel.chunks(count: fileOrder.count, threads: threads, granularity: 8) { _, range in
            for f in range {
                if errors.hasError { return }
                let path = fileOrder[f]
                do throws(DicomError) {
                    try cancel.check()
                    try VolumePlan.decode(
                        path: path, rows: rows, columns: columns, targets: targets[f],
                        header: headers[targets[f][0].slice], out: dst.value, plane: plane,
                        threads: frameThreads, cancel: cancel)
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
        (Tags.sopInstanceUID, "SOPInstanceUID"), (Tags.imagePositionPatient, "ImagePositionPatient"),
        (Tags.imageOrientationPatient, "ImageOrientationPatient"), (Tags.rescaleSlope, "RescaleSlope"),
        (Tags.rescaleIntercept, "RescaleIntercept"), (Tags.numberOfFrames, "NumberOfFrames"),
    ]

    static func decode(
        path: String, rows: Int, columns: Int, targets: [(slice: Int, frame: Int)],
        header: Dataset, out: UnsafeMutablePointer<Float>, plane: Int,
        threads: Int = 0, cancel: CancelFlag = .none
    ) throws(DicomError) {
        let ds = try DicomReader.read(path: FilePath(path), regularOnly: true)
        for (tag, name) in placementTags where ds.nonEmptyString(tag) != header.nonEmptyString(tag) {
            throw DicomError(
                .geometry, "the file changed after its header was read (\(name) differs): load it again",
                tag: tag)
        }
        let info = try PixelDecoder.info(ds)
        guard info.rows == rows, info.columns == columns else {
            throw DicomError(
                .geometry, "pixel data is \(info.rows)x\(info.columns), the header says \(rows)x\(columns)")
        }
        guard info.samples == 1 else {
            throw DicomError(.geometry, "\(info.samples) samples per pixel: a volume needs grey-scale images")
        }
        for t in targets where t.frame >= info.frames {
            throw DicomError(.geometry, "frame \(t.frame + 1) missing: the file has \(info.frames)")
        }
        if info.frames == 1, targets.count == 1 {
            try PixelDecoder.decodeRescaled(
                ds,
                into: UnsafeMutableBufferPointer(
                    start: out + targets[0].slice * plane,
                    count: plane), threads: threads, cancel: cancel)
            return
        }
        let (total, overflow) = info.frames.multipliedReportingOverflow(by: plane)
        guard !overflow else { throw DicomError(.geometry, "too many frames") }
        try Limits.probeAllocation(
            total.multipliedReportingOverflow(by: 4).partialValue, what: "the frames of a multi-frame file")
        let tmp = UnsafeMutableBufferPointer<Float>.allocate(capacity: total)
        defer { tmp.deallocate() }
        try PixelDecoder.decodeRescaled(ds, into: tmp, threads: threads, cancel: cancel)
        for t in targets {
            (out + t.slice * plane).update(from: tmp.baseAddress! + t.frame * plane, count: plane)
        }
    }
}

extension VolumePlan {
    /// Leaves out records whose (SOPInstanceUID, frame) another file already holds: the same instance
    /// twice (a study copied twice into one folder) is a duplicate file, not a frame.
    static func dropDuplicateInstances(
        _ records: [SliceRecord], paths: [String],
        warnings: inout [String]
    ) throws(DicomError) -> [SliceRecord] {
        var seen: [String: Int] = [:]
        var firstRecord: [String: Int] = [:]
        var out: [SliceRecord] = []
        var dropped: [(String, String, String)] = []  // (dropped file, kept file, uid)
        out.reserveCapacity(records.count)
        for (index, r) in records.enumerated() {
            guard let sop = r.timing.sop else { out.append(r); continue }
            let key = sop + "#" + String(r.frame)
            if let k = seen[key] {
                let a = records[firstRecord[key]!].placement.position, b = r.placement.position
                let same =
                    a == nil && b == nil
                    || (a != nil && b != nil && zip(a!.prefix(3), b!.prefix(3)).allSatisfy { abs($0 - $1) <= 1e-3 })
                guard same else {
                    throw DicomError(
                        .geometry,
                        "\(paths[r.fileIndex]) and \(paths[k]) share SOPInstanceUID \(sop) but not "
                            + "their ImagePositionPatient: not copies of one instance", tag: Tags.sopInstanceUID)
                }
                if paths[k] != paths[r.fileIndex] { dropped.append((paths[r.fileIndex], paths[k], sop)) }
                continue
            }
            seen[key] = r.fileIndex
            firstRecord[key] = index
            out.append(r)
        }
        var files: [String] = []
        var fileSet = Set<String>()
        for d in dropped where fileSet.insert(d.0).inserted { files.append(d.0) }
        if files.count > maxListedWarnings {
            warnings.append(
                "\(files.count) duplicate files (the same SOPInstanceUID as another file, e.g. the "
                    + "same study copied twice) left out: " + files.prefix(maxListedWarnings).joined(separator: ", ")
                    + ", ...")
        } else {
            var listed = Set<String>()
            for d in dropped where listed.insert(d.0).inserted {
                warnings.append("duplicate file \(d.0): the same SOPInstanceUID \(d.2) as \(d.1); left out")
            }
        }
        return out
    }

    /// Every record's position along the common slice normal, nil when a position or orientation is missing.
    static func normalProjections(_ records: [SliceRecord]) -> [Double]? {
        guard let o = records[0].placement.orientation, let r = Vec3(o), let c = Vec3(o, from: 3),
            r.norm > 1e-6, c.norm > 1e-6
        else { return nil }
        let n = r.normalized.cross(c.normalized).normalized
        var out: [Double] = []
        out.reserveCapacity(records.count)
        for rec in records {
            guard let p = rec.placement.position, let v = Vec3(p) else { return nil }
            out.append(n.dot(v))
        }
        return out
    }

    /// Within one frame, slices at the same position: byte-identical files are duplicates (left out
    /// with a warning); anything else is an error naming both files.
    static func dropIdenticalFiles(
        _ group: [Int], records: [SliceRecord], proj: [Double], paths: [String],
        frame: Int?, warnings: inout [String]
    ) throws(DicomError) -> [Int] {
        let sorted = group.sorted { proj[$0] != proj[$1] ? proj[$0] < proj[$1] : $0 < $1 }
        let steps = zip(sorted.dropFirst(), sorted).map { proj[$0] - proj[$1] }.filter { $0 > 1e-3 }
        let tol = max(1e-3, 1e-2 * (steps.isEmpty ? 0 : median(steps)))
        var drop = Set<Int>()
        var start = 0
        var identical: [String] = []
        while start < sorted.count {
            var end = start + 1
            while end < sorted.count && proj[sorted[end]] - proj[sorted[start]] <= tol { end += 1 }
            let keep = sorted[start]
            for other in sorted[(start + 1)..<end] {
                let a = records[keep], b = records[other]
                if a.frame == b.frame && TimeFrames.identicalFiles(paths[a.fileIndex], paths[b.fileIndex]) {
                    drop.insert(other)
                    identical.append("\(paths[b.fileIndex]) (same bytes as \(paths[a.fileIndex]))")
                    continue
                }
                let inFrame = frame.map { " in frame \($0 + 1)" } ?? ""
                throw DicomError(
                    .geometry,
                    "\(a.placement.name) and \(b.placement.name) are at the same position "
                        + "(\(formatMM(proj[keep])) mm along the slice normal)\(inFrame) with the same timing, "
                        + "and are neither the same instance nor identical files: remove one, or give them "
                        + "their own FrameReferenceTime / TriggerTime if they are frames",
                    tag: Tags.imagePositionPatient)
            }
            start = end
        }
        if !identical.isEmpty {
            let listed = identical.prefix(maxListedWarnings).joined(separator: ", ")
            warnings.append(
                "\(identical.count) duplicate file\(identical.count == 1 ? "" : "s") left out: \(listed)"
                    + (identical.count > maxListedWarnings ? ", ..." : ""))
        }
        return group.filter { !drop.contains($0) }
    }

    /// A frame must hold slices at the positions of the first frame.
    static func checkSamePositions(
        _ frameOrder: [Int], as firstOrder: [Int], frame t: Int, of total: Int,
        records: [SliceRecord], geometry: StackGeometry,
        other: StackGeometry
    ) throws(DicomError) {
        let name = { (i: Int) in records[i].placement.name }
        guard frameOrder.count == firstOrder.count else {
            throw DicomError(
                .geometry,
                "frame \(t + 1) of \(total) has \(frameOrder.count) slices, frame 1 has "
                    + "\(firstOrder.count) (first file of frame \(t + 1): \(name(frameOrder[0]))): every "
                    + "frame must cover the same positions", tag: Tags.imagePositionPatient)
        }
        let tol = max(0.01, 1e-3 * geometry.sliceSpacing)
        for k in firstOrder.indices {
            let d = (other.positions[k] - geometry.positions[k]).norm
            if d > tol {
                throw DicomError(
                    .geometry,
                    "frame \(t + 1) of \(total): slice \(k) \(name(frameOrder[k])) is "
                        + "\(formatMM(d)) mm away from slice \(k) of frame 1 (\(name(firstOrder[k]))): every "
                        + "frame must cover the same positions", tag: Tags.imagePositionPatient)
            }
        }
    }
}
