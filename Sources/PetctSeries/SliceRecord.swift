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
    var timing = SliceTiming()
    /// A frame of a multi-frame object (its timing may come from the per-frame Frame Content).
    var fromMultiFrame = false
    /// FrameAcquisitionDateTime of the frame's own Frame Content, when present.
    var ownFrameStart: String? = nil
}

/// Upper bound on NumberOfFrames accepted from a header (records are allocated per frame).
let maximumFrames = 1 << 16

extension SliceRecord {
    /// The slices of one data set: one record, or one per frame for multi-frame objects (positions and
    /// orientations from the per-frame / shared functional groups). Adds warnings for guessed values.
    static func records(of ds: Dataset, path: String, fileIndex: Int, warnings: inout [String]) throws(DicomError)
        -> [SliceRecord]
    {
        let rows = ds.int(Tags.rows), columns = ds.int(Tags.columns)
        let instance = ds.int(Tags.instanceNumber)
        let topSpacing = ds.doubles(Tags.pixelSpacing)
        let topThickness = ds.double(Tags.sliceThickness)
        let between = ds.double(Tags.spacingBetweenSlices)
        // NaN / inf rescale values are refused, naming the file and the element (never used as 1 / 0)
        func finite(_ v: Double?, _ tag: UInt32) throws(DicomError) -> Double? {
            guard let v, !v.isFinite else { return v }
            let e = nonFiniteRescale(tag, v)
            throw DicomError(e.kind, "\(path): " + e.message, tag: tag)
        }
        let topSlope = try finite(ds.double(Tags.rescaleSlope), Tags.rescaleSlope) ?? 1
        let topIntercept = try finite(ds.double(Tags.rescaleIntercept), Tags.rescaleIntercept) ?? 0
        let topIPP = ds.doubles(Tags.imagePositionPatient)
        let topIOP = ds.doubles(Tags.imageOrientationPatient)
        var topTime = ds.nonEmptyString(Tags.acquisitionDateTime) ?? ""
        if topTime.isEmpty {
            topTime = (ds.nonEmptyString(Tags.acquisitionDate) ?? "") + (ds.nonEmptyString(Tags.acquisitionTime) ?? "")
        }
        let frames = max(1, ds.int(Tags.numberOfFrames) ?? 1)
        guard frames <= maximumFrames else {
            throw DicomError(
                .geometry, "\(path): NumberOfFrames \(frames) exceeds \(maximumFrames)", tag: Tags.numberOfFrames)
        }
        let topTiming = SliceTiming(ds, start: topTime)
        if frames == 1 {
            return [
                SliceRecord(
                    placement: SlicePlacement(
                        position: topIPP.count >= 3 ? topIPP : nil,
                        orientation: topIOP.count >= 6 ? topIOP : nil,
                        instanceNumber: instance, name: path),
                    fileIndex: fileIndex, frame: 0, rows: rows, columns: columns,
                    pixelSpacing: topSpacing.count >= 2 ? topSpacing : nil, thickness: topThickness,
                    spacingBetween: between, slope: topSlope, intercept: topIntercept, acquisitionTime: topTime,
                    timing: topTiming)
            ]
        }
        // Multi-frame: functional groups (enhanced objects) or a legacy stack with one position.
        let shared = ds.firstItem(Tags.sharedFunctionalGroupsSequence)
        let perFrame = ds.items(Tags.perFrameFunctionalGroupsSequence)
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
        let gridOffsets = ds.doubles(Tags.gridFrameOffsetVector)
        for f in 0..<frames {
            let posItems = macro(Tags.planePositionSequence, f)
            let oriItems = macro(Tags.planeOrientationSequence, f)
            let measures = macro(Tags.pixelMeasuresSequence, f)
            let transform = macro(Tags.pixelValueTransformationSequence, f)
            let orientation =
                firstDoubles(Tags.imageOrientationPatient, oriItems, min: 6) ?? (topIOP.count >= 6 ? topIOP : nil)
            var position = firstDoubles(Tags.imagePositionPatient, posItems, min: 3)
            if position == nil, topIPP.count >= 3, let o = orientation, let r = Vec3(o), let c = Vec3(o, from: 3),
                let p0 = Vec3(topIPP)
            {
                // Legacy multi-frame: frames stacked along the normal from the one position.
                legacy = true
                let step = between ?? topThickness ?? 1
                let off = gridOffsets.count == frames ? gridOffsets[f] : Double(f) * step
                position = (p0 + off * r.normalized.cross(c.normalized).normalized).array
            }
            let spacing =
                firstDoubles(Tags.pixelSpacing, measures, min: 2) ?? (topSpacing.count >= 2 ? topSpacing : nil)
            let thickness = firstDoubles(Tags.sliceThickness, measures, min: 1)?.first ?? topThickness
            let slope =
                try finite(firstDoubles(Tags.rescaleSlope, transform, min: 1)?.first, Tags.rescaleSlope) ?? topSlope
            let intercept =
                try finite(firstDoubles(Tags.rescaleIntercept, transform, min: 1)?.first, Tags.rescaleIntercept)
                ?? topIntercept
            var time = topTime
            var timing = topTiming
            var ownStart: String? = nil
            if !pf.isEmpty, let fc = ds.firstItem(Tags.frameContentSequence, in: pf[f]) {
                if let t = ds.nonEmptyString(Tags.frameAcquisitionDateTime, in: fc) { time = t; ownStart = t }
                timing.start = time
                if let i = ds.int(Tags.temporalPositionIndex, in: fc), i > 0 { timing.temporalIndex = i }
                if let d = ds.double(Tags.frameAcquisitionDuration, in: fc), d.isFinite { timing.durationMs = d }
            }
            out.append(
                SliceRecord(
                    placement: SlicePlacement(
                        position: position, orientation: orientation,
                        instanceNumber: instance, name: "\(path) frame \(f + 1)"),
                    fileIndex: fileIndex, frame: f, rows: rows, columns: columns, pixelSpacing: spacing,
                    thickness: thickness, spacingBetween: between, slope: slope, intercept: intercept,
                    acquisitionTime: time, timing: timing, fromMultiFrame: true, ownFrameStart: ownStart))
        }
        if legacy && gridOffsets.count != frames {
            warnings.append(
                "\(path): \(frames) frames without per-frame positions: stacked along the normal every "
                    + "\(formatMM(between ?? topThickness ?? 1)) mm")
        }
        return out
    }
}
