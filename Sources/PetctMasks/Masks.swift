import DicomBytes
import DicomParser
import DicomPixels
import PetctPairing
import PetctSeries

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
