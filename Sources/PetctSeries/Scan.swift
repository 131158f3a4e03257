import DicomBytes
import DicomParser

/// The header fields the scan keeps of one file.
public struct ScanEntry: Equatable {
    public var path: String
    public var study = "", series = "", frameOfReference: String? = nil, modality = "", description = ""
    public var seriesNumber: Int? = nil
    public var imageType: [String] = []
    public var rows = 0, columns = 0
    public var orientation: [Double]? = nil
    public var position: [Double]? = nil
    public var instance: Int? = nil
    public var correctedImage: [String] = []
    public var units: String? = nil
    public var frames = 1
    public var patientID = "", patientName = "", seriesDate = "", seriesTime = ""
    public var sop = ""
    public var studyDate = "", studyDescription = ""
    /// SeriesType (0054,1000) first value, NumberOfTimeSlices (0054,0101), NumberOfTimeSlots (0054,0071).
    public var seriesType = ""
    public var timeSlices: Int? = nil, timeSlots: Int? = nil

    init(path: String) { self.path = path }

    /// One pass over the top level picks the ~20 wanted elements; values are decoded only for those.
    /// Elements and fields both ascend, so the fields are walked along with the elements; an element
    /// out of order (a malformed file) is looked up.
    init(path: String, ds: Dataset) {
        self.path = path
        let fieldTags = Field.tags, last = Field.last
        var slots = [Int](repeating: -1, count: fieldTags.count)
        let elements = ds.elements
        var next = 0  // the first field whose tag is not below the current element's
        for i in ds.children() {
            let tag = elements[i].tag
            if tag > last && tag >> 16 != 0x0002 { break }
            while next < fieldTags.count && fieldTags[next] < tag { next += 1 }
            if next < fieldTags.count && fieldTags[next] == tag {
                slots[next] = i
            } else if next > 0 && tag <= fieldTags[next - 1], let f = Field(tag: tag) {
                slots[f.slot] = i
            }
        }
        func text(_ f: Field) -> String? {
            let i = slots[f.slot]
            guard i >= 0, let s = ds.text(at: i) else { return nil }
            let t = trimmed(s)
            return t.isEmpty ? nil : t
        }
        func texts(_ f: Field) -> [String] {
            guard let s = text(f) else { return [] }
            return s.split(separator: "\\", omittingEmptySubsequences: false).map { trimmed(String($0)) }
        }
        func doubles(_ f: Field) -> [Double] { slots[f.slot] >= 0 ? ds.doubles(at: slots[f.slot]) : [] }
        func int(_ f: Field) -> Int? { slots[f.slot] >= 0 ? ds.ints(at: slots[f.slot]).first.map { Int($0) } : nil }

        study = text(.study) ?? ""
        series = text(.series) ?? ""
        frameOfReference = text(.frameOfReference)
        modality = text(.modality) ?? ""
        description = text(.description) ?? ""
        seriesNumber = int(.seriesNumber)
        imageType = texts(.imageType)
        rows = min(max(0, int(.rows) ?? 0), 1 << 24)
        columns = min(max(0, int(.columns) ?? 0), 1 << 24)
        let o = doubles(.orientation)
        orientation = o.count >= 6 && o.prefix(6).allSatisfy({ $0.isFinite }) ? Array(o.prefix(6)) : nil
        let p = doubles(.position)
        position = p.count >= 3 && p.prefix(3).allSatisfy({ $0.isFinite }) ? Array(p.prefix(3)) : nil
        instance = int(.instance)
        correctedImage = texts(.correctedImage)
        units = text(.units)
        frames = min(max(1, int(.frames) ?? 1), 1 << 24)
        patientID = text(.patientID) ?? ""
        patientName = text(.patientName) ?? ""
        seriesDate = text(.seriesDate) ?? ""
        seriesTime = text(.seriesTime) ?? ""
        sop = text(.sop) ?? ""
        studyDate = text(.studyDate) ?? ""
        studyDescription = text(.studyDescription) ?? ""
        seriesType = texts(.seriesType).first?.uppercased() ?? ""
        timeSlices = int(.timeSlices).flatMap { $0 > 0 && $0 < 1 << 20 ? $0 : nil }
        timeSlots = int(.timeSlots).flatMap { $0 > 0 && $0 < 1 << 20 ? $0 : nil }
        if orientation == nil || position == nil, frames > 1 {
            // Enhanced multi-frame: orientation from the shared functional groups, first frame's position.
            if let shared = ds.firstItem(Tags.sharedFunctionalGroupsSequence),
                let po = ds.firstItem(Tags.planeOrientationSequence, in: shared)
            {
                let v = ds.doubles(Tags.imageOrientationPatient, in: po)
                if v.count >= 6 { orientation = Array(v.prefix(6)) }
            }
            if let first = ds.items(Tags.perFrameFunctionalGroupsSequence).first {
                if orientation == nil, let po = ds.firstItem(Tags.planeOrientationSequence, in: first) {
                    let v = ds.doubles(Tags.imageOrientationPatient, in: po)
                    if v.count >= 6 { orientation = Array(v.prefix(6)) }
                }
                if position == nil, let pp = ds.firstItem(Tags.planePositionSequence, in: first) {
                    let v = ds.doubles(Tags.imagePositionPatient, in: pp)
                    if v.count >= 3 { position = Array(v.prefix(3)) }
                }
            }
        }
    }

    /// The wanted top-level tags, in ascending tag order; the case's raw value indexes the per-file
    /// lookup table.
    enum Field: Int, CaseIterable {
        case imageType, sop, studyDate, seriesDate, seriesTime, modality
        case studyDescription, description, patientName, patientID, study, series, seriesNumber
        case instance, position, orientation, frameOfReference, frames, rows, columns
        case correctedImage, timeSlots, timeSlices, seriesType, units

        var tag: UInt32 {
            switch self {
            case .imageType: Tags.imageType
            case .sop: Tags.sopInstanceUID
            case .studyDate: Tags.studyDate
            case .seriesDate: Tags.seriesDate
            case .seriesTime: Tags.seriesTime
            case .modality: Tags.modality
            case .studyDescription: Tags.studyDescription
            case .description: Tags.seriesDescription
            case .patientName: Tags.patientName
            case .patientID: Tags.patientID
            case .study: Tags.studyInstanceUID
            case .series: Tags.seriesInstanceUID
            case .seriesNumber: Tags.seriesNumber
            case .instance: Tags.instanceNumber
            case .position: Tags.imagePositionPatient
            case .orientation: Tags.imageOrientationPatient
            case .frameOfReference: Tags.frameOfReferenceUID
            case .frames: Tags.numberOfFrames
            case .rows: Tags.rows
            case .columns: Tags.columns
            case .correctedImage: Tags.correctedImage
            case .timeSlots: Tags.numberOfTimeSlots
            case .timeSlices: Tags.numberOfTimeSlices
            case .seriesType: Tags.seriesType
            case .units: Tags.units
            }
        }
        static let count = allCases.count
        /// The fields' tags by raw value (ascending, checked by a test).
        static let tags: [UInt32] = allCases.map(\.tag)
        static let last = tags[tags.count - 1]
        /// Index of the field in `slots`.
        var slot: Int { rawValue }

        /// The field of `tag`, nil when the scan does not keep it.
        init?(tag: UInt32) {
            var lo = 0
            var hi = Self.tags.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if Self.tags[mid] < tag { lo = mid + 1 } else { hi = mid }
            }
            guard lo < Self.tags.count, Self.tags[lo] == tag else { return nil }
            self.init(rawValue: lo)
        }
    }
}

/// One series (or one piece of a split series) in the scan result.
public struct ScanSeries: Equatable {
    public var entries: [ScanEntry]
    public var part = 0
    public var localizer = false
    public var ignore = false
    public var reason: String? = nil
    /// Files holding an instance (SOPInstanceUID) an earlier file of the series already holds.
    public var duplicates: [String] = []
    public var sliceCount: Int { entries.reduce(0) { $0 + $1.frames } - duplicateSlices }
    public var duplicateSlices = 0
    public var first: ScanEntry { entries[0] }

    /// Finds the duplicate instances (same SOPInstanceUID in two files).
    mutating func markDuplicates() {
        var seen = Set<String>()
        duplicates = []
        duplicateSlices = 0
        for e in entries where !e.sop.isEmpty {
            if !seen.insert(e.sop).inserted {
                duplicates.append(e.path)
                duplicateSlices += e.frames
            }
        }
    }

    /// Time frames / gates present: files per distinct position (duplicates left out), 1 when positions
    /// do not repeat or are unknown.
    public var presentFrames: Int {
        let dup = Set(duplicates)
        let kept = entries.filter { !dup.contains($0.path) }
        guard !kept.isEmpty, kept.allSatisfy({ $0.frames == 1 && $0.position != nil }) else { return 1 }
        var positions = Set<[Int64]>()
        for e in kept {
            positions.insert(e.position!.prefix(3).map { Int64(($0 * 100).rounded()) })
        }
        return kept.count % positions.count == 0 ? kept.count / positions.count : 1
    }

    /// "dynamic" / "gated" (as the headers declare it; "frames" when they do not) when positions repeat
    /// with more than one frame present.
    public var frameKind: String? {
        guard presentFrames > 1 else { return nil }
        let f = first
        if f.seriesType == "GATED" || (f.timeSlots ?? 1) > 1 { return "gated" }
        if f.seriesType == "DYNAMIC" || (f.timeSlices ?? 1) > 1 { return "dynamic" }
        return "frames"
    }
}

/// A file the scan could not use, and why.
public struct ScanSkip: Equatable {
    public var path: String
    public var reason: String
}

/// What a scan found: the series (main parts first), and the files it skipped. Encoded as the scan
/// JSON document (petct_scan_json) by PetctExport.
public struct ScanResult: Equatable {
    public var series: [ScanSeries]
    public var skipped: [ScanSkip]
}

/// Header-only pass over many files, grouped into series. See petct_scan_files in petct.h.
public enum SeriesScanner {
    /// Files read between two `filesDone` reports of `scanKeepingHeaders`.
    public static let progressBlock = 64

    /// Never throws for a bad file: those are listed in `skipped`.
    public static func scan(paths: [String], threads: Int) -> ScanResult {
        scanKeepingHeaders(paths: paths, threads: threads, keep: false).result
    }

    /// `scan`, and with `keep` the parsed header of every file that was read, by path, so that opening a
    /// volume of the scanned files need not read and parse them again (`VolumePlan.open(paths:threads:known:)`).
    /// `filesDone`, when given, is called (on the calling thread) with the number of files read so far
    /// after every block of `progressBlock` files: the headers are read block by block.
    public static func scanKeepingHeaders(
        paths: [String], threads: Int, keep: Bool,
        cancel: CancelFlag = .none, filesDone: ((Int) -> Void)? = nil
    ) -> (result: ScanResult, headers: [String: Dataset]) {
        var results: [Result<Dataset, DicomError>] = []
        let block = filesDone == nil ? max(paths.count, 1) : progressBlock
        for lo in stride(from: 0, to: paths.count, by: block) {
            let hi = min(paths.count, lo + block)
            results += HeaderReader.readAll(Array(paths[lo..<hi]), threads: threads, cancel: cancel)
            filesDone?(hi)
        }
        var headers: [String: Dataset] = [:]
        if keep {
            headers.reserveCapacity(paths.count)
            for (i, r) in results.enumerated() {
                if case .success(let ds) = r { headers[paths[i]] = ds }
            }
        }
        var entries: [ScanEntry] = []
        var skipped: [ScanSkip] = []
        entries.reserveCapacity(paths.count)
        for (i, r) in results.enumerated() {
            switch r {
            case .success(let ds):
                let e = ScanEntry(path: paths[i], ds: ds)
                if let problem = declaredPixelProblem(ds) {
                    skipped.append(ScanSkip(path: paths[i], reason: problem.message))
                    if keep { headers[paths[i]] = nil }
                } else if e.series.isEmpty && e.rows == 0 {
                    skipped.append(
                        ScanSkip(path: paths[i], reason: "no SeriesInstanceUID and no image (e.g. DICOMDIR)"))
                } else {
                    entries.append(e)
                }
            case .failure(let e):
                skipped.append(ScanSkip(path: paths[i], reason: e.description))
            }
        }
        return (ScanResult(series: group(entries), skipped: skipped), headers)
    }

    /// Why a header must not stand for image data, or nil: its declared pixel bytes (frames x rows x
    /// columns x samples x bits allocated) exceed what the file holds after the pixel data tag (native
    /// data), or more than the decode limit allows from those bytes (encapsulated data). Such a file
    /// (e.g. an 804-byte header claiming 60,000 frames) is skipped, so it never outnumbers real series.
    static func declaredPixelProblem(_ ds: Dataset) -> DicomError? {
        guard ds.pixelDataOffset >= 0 else { return nil }
        let total = ds.flags.contains(.deflated) ? ds.source.count : ds.fileSize
        guard total >= 0 else { return nil }
        let held = max(0, total - ds.pixelDataOffset - 8)
        var samples = max(1, ds.int(Tags.samplesPerPixel) ?? 1)
        // Native YBR_FULL_422 holds 4 values per 2 pixels: 2 per pixel, not 3.
        if samples == 3, let pi = ds.nonEmptyString(Tags.photometricInterpretation), pi.hasSuffix("_422") {
            samples = 2
        }
        let bits = max(1, ds.int(Tags.bitsAllocated) ?? 8)
        let frames = max(1, ds.int(Tags.numberOfFrames) ?? 1)
        var declared = 1
        var overflow = false
        for f in [frames, max(0, ds.int(Tags.rows) ?? 0), max(0, ds.int(Tags.columns) ?? 0), samples, bits] {
            let (p, o) = declared.multipliedReportingOverflow(by: f)
            declared = p
            overflow = overflow || o
        }
        let declaredBytes = overflow ? Int.max : declared / 8 + (declared % 8 == 0 ? 0 : 1)
        let shape =
            "\(frames) frame(s) of \(ds.int(Tags.rows) ?? 0)x\(ds.int(Tags.columns) ?? 0)x\(samples) at \(bits) bits"
        let ts = ds.transferSyntax
        let native =
            ts == "1.2.840.10008.1.2" || ts == "1.2.840.10008.1.2.1" || ts == "1.2.840.10008.1.2.2"
            || ts == "1.2.840.10008.1.2.1.99"
        if native {
            if declaredBytes > held {
                return DicomError(
                    .malformed,
                    "declares \(shape) (\(overflow ? "more than \(Int.max)" : "\(declaredBytes)") bytes of pixel data) "
                        + "but holds \(held) bytes after the pixel data tag", offset: ds.pixelDataOffset,
                    tag: Tags.pixelData)
            }
        } else {
            if frames > held / 8 {
                return DicomError(
                    .malformed,
                    "declares \(shape) but \(held) bytes of encapsulated pixel data cannot hold "
                        + "\(frames) frames", offset: ds.pixelDataOffset, tag: Tags.pixelData)
            }
            let allowed = Limits.decodedAllowance(compressed: held)
            if declaredBytes > allowed {
                return DicomError(
                    .limit,
                    "declares \(shape) (\(overflow ? "more than \(Int.max)" : "\(declaredBytes)") bytes) "
                        + "from \(held) compressed bytes, above the decode limit max(max_decoded_bytes, decode_ratio x compressed) "
                        + "= \(allowed) bytes; raise petct.config.max_decoded_bytes or petct.config.decode_ratio to read it",
                    offset: ds.pixelDataOffset, tag: Tags.pixelData)
            }
        }
        return nil
    }

    /// Groups entries by SeriesInstanceUID, splits mixed series, flags localizers and sorts the result.
    static func group(_ entries: [ScanEntry]) -> [ScanSeries] {
        var bySeries: [String: Int] = [:]
        var groups: [[ScanEntry]] = []
        for e in entries {
            if let g = bySeries[e.series] {
                groups[g].append(e)
            } else {
                bySeries[e.series] = groups.count
                groups.append([e])
            }
        }
        var out: [ScanSeries] = []
        for g in groups { out += split(g) }
        for s in out.indices { out[s].markDuplicates() }

        // Localizers: ImageType LOCALIZER, or 1-2 slices oriented unlike the study's main series.
        for s in out.indices
        where out[s].entries.contains(where: { $0.imageType.contains { $0.uppercased() == "LOCALIZER" } }) {
            out[s].localizer = true
            out[s].ignore = true
            out[s].reason = joined(out[s].reason, "localizer (ImageType LOCALIZER)")
        }
        var mainOfStudy: [String: Int] = [:]
        for s in out.indices where !out[s].localizer && out[s].first.orientation != nil && out[s].first.rows > 0 {
            let study = out[s].first.study
            if let m = mainOfStudy[study] {
                if out[s].sliceCount > out[m].sliceCount { mainOfStudy[study] = s }
            } else {
                mainOfStudy[study] = s
            }
        }
        for s in out.indices where !out[s].localizer && out[s].sliceCount <= 2 {
            guard let m = mainOfStudy[out[s].first.study], m != s, let mo = out[m].first.orientation,
                let o = out[s].first.orientation, orientationDifference(o, mo) > orientationTolerance
            else { continue }
            out[s].localizer = true
            out[s].ignore = true
            out[s].reason = joined(
                out[s].reason,
                "localizer (\(out[s].sliceCount) slice\(out[s].sliceCount == 1 ? "" : "s") "
                    + "oriented unlike the study's main series)")
        }
        for s in out.indices where out[s].first.rows == 0 || out[s].first.columns == 0 {
            out[s].ignore = true
            if out[s].reason == nil { out[s].reason = "not an image (no Rows/Columns)" }
        }
        out.sort { a, b in
            let x = a.first, y = b.first
            if x.study != y.study { return x.study < y.study }
            if x.modality != y.modality { return x.modality < y.modality }
            let nx = x.seriesNumber ?? Int.max, ny = y.seriesNumber ?? Int.max
            if nx != ny { return nx < ny }
            if x.series != y.series { return x.series < y.series }
            return a.part < b.part
        }
        return out
    }

    static func joined(_ a: String?, _ b: String) -> String { a.map { "\($0); \(b)" } ?? b }

    /// Splits one series into pieces of equal image size and orientation; the largest is part 0.
    static func split(_ entries: [ScanEntry]) -> [ScanSeries] {
        var pieces: [[ScanEntry]] = []
        for e in entries {
            let match = pieces.firstIndex { p in
                let f = p[0]
                guard f.rows == e.rows, f.columns == e.columns else { return false }
                switch (f.orientation, e.orientation) {
                case (nil, nil): return true
                case (let a?, let b?): return orientationDifference(a, b) <= orientationTolerance
                default: return false
                }
            }
            if let m = match { pieces[m].append(e) } else { pieces.append([e]) }
        }
        let order = pieces.indices.sorted { a, b in
            let ca = pieces[a].reduce(0) { $0 + $1.frames }, cb = pieces[b].reduce(0) { $0 + $1.frames }
            return ca != cb ? ca > cb : a < b
        }
        var out: [ScanSeries] = []
        for (part, p) in order.enumerated() {
            var s = ScanSeries(entries: sortFiles(pieces[p]), part: part)
            if part > 0 {
                let main = pieces[order[0]][0], f = pieces[p][0]
                s.ignore = true
                if main.rows != f.rows || main.columns != f.columns {
                    s.reason =
                        "image size \(f.rows)x\(f.columns) differs from the main part of the series "
                        + "(\(main.rows)x\(main.columns))"
                } else {
                    s.reason = "orientation differs from the main part of the series"
                }
            }
            out.append(s)
        }
        return out
    }

    /// Along the slice normal when every file has IPP/IOP, else by InstanceNumber; then by path.
    static func sortFiles(_ entries: [ScanEntry]) -> [ScanEntry] {
        if let o = entries[0].orientation, entries.allSatisfy({ $0.position != nil && $0.orientation != nil }),
            let r = Vec3(o), let c = Vec3(o, from: 3)
        {
            let n = r.cross(c).normalized
            let keyed = entries.map { (n.dot(Vec3($0.position!)!), $0) }
            return keyed.sorted { a, b in
                if a.0 != b.0 { return a.0 < b.0 }
                let ia = a.1.instance ?? Int.max, ib = b.1.instance ?? Int.max
                return ia != ib ? ia < ib : a.1.path < b.1.path
            }.map { $0.1 }
        }
        return entries.sorted { a, b in
            let ia = a.instance ?? Int.max, ib = b.instance ?? Int.max
            return ia != ib ? ia < ib : a.path < b.path
        }
    }
}
