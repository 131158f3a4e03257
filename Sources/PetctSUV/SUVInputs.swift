import DicomBytes
import DicomDictionary
import DicomParser

/// "Keyword (GGGG,EEEE)" for messages: the keyword from the generated data dictionary; a private
/// element the core reads (generated `PrivateTag`, block 0x10 form) by its creator and name.
public func describeTag(_ tag: UInt32) -> String {
    let name: String
    if let p = PrivateTag.all.first(where: { $0.tag == tag }) {
        name = p.creator + " " + p.name
    } else {
        name = DataDictionary.entry(for: tag)?.keyword ?? "tag"
    }
    return name + " " + formatTag(tag)
}

/// Everything the SUV computation needs, extracted from the slice headers. Times are seconds since
/// 1970-01-01 on the scanner's clock (see `DicomDateTime`); nil means absent or unparseable (then a
/// note says which). Build one with `init(slices:)` or fill the fields directly in tests.
public struct SUVInputs: Sendable {
    public var sliceCount: Int = 0
    /// Time frames / gates (slices stored frame by frame, sliceCount / timeFrames each); 1 for 3D.
    public var timeFrames: Int = 1
    /// Units (0054,1001), upper-cased and trimmed.
    public var units: String?
    /// Decay Correction (0054,1102), upper-cased and trimmed.
    public var decayCorrection: String?
    /// SUV Type (0054,1006), upper-cased and trimmed.
    public var suvType: String?
    /// Corrected Image (0028,0051) values.
    public var correctedImage: [String] = []
    public var manufacturer: String?
    /// Series Date as days since 1970-01-01 (StudyDate when SeriesDate is absent, with a note).
    public var seriesDate: Int?
    /// Series Time as seconds since midnight.
    public var seriesTime: Double?
    /// Per slice: AcquisitionDateTime, else (AcquisitionDate or SeriesDate) + AcquisitionTime.
    public var acquisitionTimes: [Double?] = []
    /// Per slice: Frame Reference Time (0054,1300) in ms.
    public var frameReferenceTimesMs: [Double?] = []
    /// Per slice: Actual Frame Duration (0018,1242) in ms.
    public var frameDurationsMs: [Double?] = []
    /// Radiopharmaceutical Start DateTime (0018,1078), only when it has a time of day.
    public var injectionDateTime: Double?
    /// Radiopharmaceutical Start Time (0018,1072) as seconds since midnight.
    public var injectionTimeOfDay: Double?
    /// Radionuclide Total Dose (0018,1074) as stored (nominally Bq).
    public var dose: Double?
    /// Radionuclide Half Life (0018,1075) in s.
    public var halfLife: Double?
    /// Patient's Weight (0010,1030) in kg.
    public var weightKg: Double?
    /// Patient's Size (0010,1020) as stored (nominally m).
    public var heightM: Double?
    /// Patient's Sex (0010,0040) as stored.
    public var sex: String?
    /// Per slice: Philips SUV scale factor (7053,1000).
    public var philipsSUVFactors: [Double?] = []
    /// Per slice: Philips activity concentration scale factor (7053,1009).
    public var philipsActivityFactors: [Double?] = []
    /// GE private scan date-time (0009,100D) of the first slice that has it.
    public var geScanDateTime: Double?
    /// The Philips / GE private values were found in block 10 of a group without any private creator.
    public var philipsCreatorAssumed = false
    public var geCreatorAssumed = false
    /// Remarks made while extracting (fallbacks, unparseable values, ...).
    public var notes: [String] = []
    /// A series-level value (taken from the first slice) that another slice holds differently: which
    /// element and a message naming both values. SUV is refused rather than computed from one of them.
    public var inconsistency: (tag: UInt32, message: String)?

    public init() {}

    /// Inputs of a series of `sliceCount` slices where every slice has the same times/factors.
    public init(sliceCount: Int) {
        self.sliceCount = sliceCount
        acquisitionTimes = Array(repeating: nil, count: sliceCount)
        frameReferenceTimesMs = Array(repeating: nil, count: sliceCount)
        frameDurationsMs = Array(repeating: nil, count: sliceCount)
        philipsSUVFactors = Array(repeating: nil, count: sliceCount)
        philipsActivityFactors = Array(repeating: nil, count: sliceCount)
    }

    /// Extracts the inputs from slice headers (in volume order). Series-level values are taken from
    /// the first slice; per-slice values from each slice. Never throws for missing values: the
    /// computation reports what it actually needs.
    public init(slices: [Dataset]) {
        self.init(sliceCount: slices.count)
        guard let first = slices.first else { return }
        let h = HeaderReader(first)

        units = h.text(Tags.units).map(Self.code)
        decayCorrection = h.text(Tags.decayCorrection).map(Self.code)
        suvType = h.text(Tags.suvType).map(Self.code)
        correctedImage = (h.text(Tags.correctedImage) ?? "").split(separator: "\\").map { Self.code(String($0)) }
        manufacturer = h.text(Tags.manufacturer)
        sex = h.text(Tags.patientSex)
        weightKg = h.number(Tags.patientWeight, keepNonFinite: true, notes: &notes)
        heightM = h.number(Tags.patientSize, keepNonFinite: true, notes: &notes)
        let localOffset = h.text(Tags.timezoneOffsetFromUTC).flatMap(DicomDateTime.parseUTCOffset)

        seriesDate = h.date(Tags.seriesDate, notes: &notes)
        if seriesDate == nil, let study = h.date(Tags.studyDate, notes: &notes) {
            seriesDate = study
            notes.append("SeriesDate (0008,0021) missing: StudyDate (0008,0020) used")
        }
        seriesTime = h.time(Tags.seriesTime, notes: &notes)

        // Radiopharmaceutical information: the first item.
        if let item = first.items(Tags.radiopharmaceuticalInformationSequence).first {
            if let s = h.text(Tags.radiopharmaceuticalStartDateTime, in: item) {
                if let v = DicomDateTime.parseDateTime(s), v.secondsOfDay != nil {
                    injectionDateTime = Self.localClock(v, localOffset: localOffset)
                    if v.utcOffsetSeconds != nil && localOffset == nil {
                        notes.append(
                            "RadiopharmaceuticalStartDateTime (0018,1078) has a UTC offset but TimezoneOffsetFromUTC "
                                + "(0008,0201) is absent: offset ignored (scanner clock assumed)")
                    }
                } else if !s.isEmpty {
                    notes.append("RadiopharmaceuticalStartDateTime (0018,1078) '\(s)' has no usable time; ignored")
                }
            }
            injectionTimeOfDay = h.time(Tags.radiopharmaceuticalStartTime, in: item, notes: &notes)
            dose = h.number(Tags.radionuclideTotalDose, in: item, keepNonFinite: true, notes: &notes)
            halfLife = h.number(Tags.radionuclideHalfLife, in: item, keepNonFinite: true, notes: &notes)
        }

        // Per slice.
        var noteAcquisitionDate = false
        var notePhilipsCreator = false, noteGECreator = false
        for (k, ds) in slices.enumerated() {
            let r = HeaderReader(ds)
            var scratch: [String] = []
            if let s = r.text(Tags.acquisitionDateTime), let v = DicomDateTime.parseDateTime(s), v.secondsOfDay != nil {
                acquisitionTimes[k] = Self.localClock(v, localOffset: localOffset)
            } else if let t = r.time(Tags.acquisitionTime, notes: &scratch) {
                var day = r.date(Tags.acquisitionDate, notes: &scratch)
                if day == nil {
                    day = r.date(Tags.seriesDate, notes: &scratch) ?? seriesDate
                    noteAcquisitionDate = true
                }
                if let day { acquisitionTimes[k] = Double(day) * DicomDateTime.secondsPerDay + t }
            }
            frameReferenceTimesMs[k] = r.number(Tags.frameReferenceTime, notes: &scratch)
            frameDurationsMs[k] = r.number(Tags.actualFrameDuration, notes: &scratch)
            let philips = r.privateTag(.philipsSUVScaleFactor)
            let activity = r.privateTag(.philipsActivityConcentrationScaleFactor)
            if philips.assumed || activity.assumed { notePhilipsCreator = true }
            if let tag = philips.tag { philipsSUVFactors[k] = r.number(tag, notes: &scratch) }
            if let tag = activity.tag { philipsActivityFactors[k] = r.number(tag, notes: &scratch) }
            if geScanDateTime == nil {
                let ge = r.privateTag(.gePETScanDateTime)
                if let tag = ge.tag, let s = r.text(tag), let v = DicomDateTime.parseDateTime(s), v.secondsOfDay != nil
                {
                    geScanDateTime = Self.localClock(v, localOffset: localOffset)
                    if ge.assumed { noteGECreator = true }
                }
            }
            if k == 0 { notes += scratch }
        }
        if noteAcquisitionDate {
            notes.append("AcquisitionDate (0008,0022) missing: SeriesDate used with AcquisitionTime")
        }
        inconsistency = Self.firstInconsistency(slices)
        philipsCreatorAssumed = notePhilipsCreator
        geCreatorAssumed = noteGECreator
    }

    /// Series-level elements SUV reads from the first slice: (tag, in the radiopharmaceutical item,
    /// compared as a number).
    static let seriesLevel: [(tag: UInt32, inItem: Bool, numeric: Bool)] = [
        (Tags.units, false, false),
        (Tags.decayCorrection, false, false),
        (Tags.suvType, false, false),
        (Tags.patientWeight, false, true),
        (Tags.patientSize, false, true),
        (Tags.patientSex, false, false),
        (Tags.seriesDate, false, false),
        (Tags.seriesTime, false, true),
        (Tags.radionuclideTotalDose, true, true),
        (Tags.radionuclideHalfLife, true, true),
        (Tags.radiopharmaceuticalStartTime, true, true),
        (Tags.radiopharmaceuticalStartDateTime, true, false),
    ]

    /// The first series-level value that differs between slice 0 and a later slice (numbers compared
    /// as numbers, codes without case and padding), or nil when all agree.
    static func firstInconsistency(_ slices: [Dataset]) -> (tag: UInt32, message: String)? {
        func values(_ ds: Dataset) -> [String?] {
            let h = HeaderReader(ds)
            let item = ds.items(Tags.radiopharmaceuticalInformationSequence).first
            var scratch: [String] = []
            return seriesLevel.map { f -> String? in
                if f.inItem && item == nil { return nil }
                let at = f.inItem ? item : nil
                if f.numeric, let v = h.number(f.tag, in: at, notes: &scratch) { return "\(v)" }
                return h.text(f.tag, in: at).map(code)
            }
        }
        guard slices.count > 1 else { return nil }
        let first = values(slices[0])
        for k in 1..<slices.count {
            let these = values(slices[k])
            for (j, f) in seriesLevel.enumerated() where these[j] != first[j] {
                let raw = { (ds: Dataset) -> String in
                    let h = HeaderReader(ds)
                    let at = f.inItem ? ds.items(Tags.radiopharmaceuticalInformationSequence).first : nil
                    if f.inItem && at == nil { return "absent" }
                    return h.text(f.tag, in: at).map { "'\($0)'" } ?? "absent"
                }
                return (
                    f.tag,
                    "SUV: \(describeTag(f.tag)) differs between the slices of the series: "
                        + "\(raw(slices[0])) in slice 0, \(raw(slices[k])) in slice \(k); refusing to pick one"
                )
            }
        }
        return nil
    }

    static func code(_ s: String) -> String {
        String(s.uppercased().filter { $0 != " " && $0 != "\0" })
    }

    /// A DT's clock value moved to the data set's local clock when both offsets are known.
    /// Per-slice timing of frames of multi-frame objects (FrameAcquisitionDateTime and
    /// FrameAcquisitionDuration of each frame's Frame Content), in place of the file-level values;
    /// nil entries keep what the header gave.
    public mutating func applyFrameTimes(starts: [String?], durationsMs: [Double?], timezoneOffset: String? = nil) {
        let localOffset = timezoneOffset.flatMap(DicomDateTime.parseUTCOffset)
        for k in 0..<min(sliceCount, starts.count) {
            if let s = starts[k], let v = DicomDateTime.parseDateTime(s), v.secondsOfDay != nil {
                acquisitionTimes[k] = Self.localClock(v, localOffset: localOffset)
            }
        }
        for k in 0..<min(sliceCount, durationsMs.count) {
            if let d = durationsMs[k], d.isFinite, d > 0 { frameDurationsMs[k] = d }
        }
    }

    static func localClock(_ v: DicomDateTime.DateTimeValue, localOffset: Int?) -> Double {
        if let own = v.utcOffsetSeconds, let local = localOffset {
            return v.clockSeconds - Double(own) + Double(local)
        }
        return v.clockSeconds
    }
}

/// Typed access to header values, tolerant of values read as raw bytes (UN / unknown private tags).
struct HeaderReader {
    let ds: Dataset
    init(_ ds: Dataset) { self.ds = ds }

    /// The whole text value, trimmed of spaces and NULs; nil when absent.
    func text(_ tag: UInt32, in item: Int? = nil) -> String? {
        guard let i = ds.index(of: tag, in: item) else { return nil }
        if let s = ds.text(at: i) { return Self.trim(s) }
        if let r = ds.bytesRange(at: i), r.lowerBound >= 0, r.upperBound <= ds.source.count {
            // Raw bytes (implicit VR private tag): accept only printable ASCII.
            let bytes = ds.source[r]
            guard bytes.allSatisfy({ ($0 >= 0x20 && $0 < 0x7F) || $0 == 0 }) else { return nil }
            return Self.trim(String(decoding: bytes, as: UTF8.self))
        }
        return nil
    }

    /// First numeric value (DS/IS text or binary); nil when absent, empty or not a finite number.
    /// The first value of `tag` as a number; NaN / inf give nil unless `keepNonFinite` (then the
    /// computation reports the value as invalid rather than missing).
    func number(_ tag: UInt32, in item: Int? = nil, keepNonFinite: Bool = false, notes: inout [String]) -> Double? {
        guard let i = ds.index(of: tag, in: item) else { return nil }
        switch ds.elements[i].kind {
        case .float, .int, .uint:
            if let v = ds.doubles(at: i).first, v.isFinite || keepNonFinite { return v }
            return nil
        default:
            guard let s = text(tag, in: item), !s.isEmpty else { return nil }
            let firstValue = Self.trim(String(s.split(separator: "\\", omittingEmptySubsequences: false).first ?? ""))
            if let v = Double(firstValue), v.isFinite || keepNonFinite { return v }
            notes.append("\(describeTag(tag)) '\(s)' is not a number; ignored")
            return nil
        }
    }

    func date(_ tag: UInt32, in item: Int? = nil, notes: inout [String]) -> Int? {
        guard let s = text(tag, in: item), !s.isEmpty else { return nil }
        if let d = DicomDateTime.parseDate(s) { return d }
        notes.append("\(describeTag(tag)) '\(s)' is not a valid DA; ignored")
        return nil
    }

    func time(_ tag: UInt32, in item: Int? = nil, notes: inout [String]) -> Double? {
        guard let s = text(tag, in: item), !s.isEmpty else { return nil }
        if let t = DicomDateTime.parseTime(s) { return t }
        notes.append("\(describeTag(tag)) '\(s)' is not a valid TM; ignored")
        return nil
    }

    /// Locates private element `p` (its tag in block 0x10 form, gggg,10xx) of its creator. When the
    /// group has no private creator at all (stripped headers), block 0x10 is assumed (`assumed`).
    func privateTag(_ p: PrivateTag) -> (tag: UInt32?, assumed: Bool) {
        let tag = p.tag
        let creator = p.creator
        let group = tag & 0xFFFF_0000
        var sawCreator = false
        for i in ds.children() {
            let t = ds.elements[i].tag
            if t < group | 0x10 { continue }
            if t > group | 0xFF { break }
            sawCreator = true
            if let name = ds.text(at: i).map(Self.trim) ?? text(t), name == creator {
                return (group | ((t & 0xFF) << 8) | (tag & 0xFF), false)
            }
        }
        if !sawCreator && ds.index(of: tag) != nil { return (tag, true) }
        return (nil, false)
    }

    static func trim(_ s: String) -> String { String(s.trimmingPadding()) }
}
