import DicomBytes
import Glibc

/// The report of one SUV computation (encoded as the SUV report JSON by PetctExport, see petct.h).
public struct SUVInfo: Sendable {
    public var kind: String = ""
    public var units: String?
    public var suvType: String?
    public var decayCorrection: String?
    public var scanStart: Double?
    public var scanStartSource: String?
    public var injectionTime: Double?
    public var injectionTimeSource: String?
    public var doseBq: Double?
    public var doseNote: String?
    public var halfLife: Double?
    public var weightKg: Double?
    public var heightCm: Double?
    public var sex: String?
    public var sexNote: String?
    public var normaliser: String?
    public var normaliserValue: Double?
    /// decayed dose = dose · decayFactor (first slice); nil when the dose is not used.
    public var decayFactor: Double?
    public var formula: String = ""
    public var perSlice = false
    public var factor: Double?
    public var vendorFactor: Double?
    public var notes: [String] = []
    /// The injection time of day was after the scan start and was moved to the previous day.
    public var dayRollover = false
    /// One entry per time frame / gate when the series has more than one.
    public var frames: [FrameSUV] = []

    public init() {}
}

/// How one time frame (or gate) of a 4D series was turned into SUV.
public struct FrameSUV: Sendable {
    public var frame: Int
    /// "START", "ADMIN", "NONE" or the stored-SUV / vendor-factor path.
    public var decayCorrection: String?
    /// Which path was taken, in words.
    public var path: String
    /// Frame start (its first slice's acquisition instant), when known.
    public var start: Double?
    /// Decay from injection applied to this frame (1 for ADMIN; the series' one factor for START).
    public var decayFactor: Double?
    /// λΔ/(1 − e^(−λΔ)) over the frame duration Δ (NONE only).
    public var inFrameCorrection: Double?
    /// Factor of the frame's first slice.
    public var factor: Double
}

/// The pure SUV pipeline: `SUVInputs` -> per-slice factors and report. No DICOM access.
public enum SUVComputation {
    /// Doses below this many "Bq" are taken to be MBq (vendor quirk).
    public static let mbqThreshold = 1e4
    /// Outside this range (Bq) a dose is reported as implausible for a human study.
    public static let plausibleDose = 1e6...5e10

    public static func compute(_ inp: SUVInputs, kind: SUVKind) throws(DicomError) -> (factors: [Double], info: SUVInfo)
    {
        var c = Context(inp: inp, kind: kind)
        let factors = try c.run()
        return (factors, c.info)
    }

    /// Mutable state of one computation: the report is filled as values are resolved.
    struct Context {
        let inp: SUVInputs
        let kind: SUVKind
        var info = SUVInfo()
        let sex: PatientSex

        init(inp: SUVInputs, kind: SUVKind) {
            self.inp = inp
            self.kind = kind
            sex = PatientSex(dicom: inp.sex)
            info.kind = kind.rawValue
            info.units = inp.units
            info.suvType = inp.suvType
            info.notes = inp.notes
            info.weightKg = inp.weightKg
            info.sex = sex.rawValue
            info.halfLife = inp.halfLife
            info.doseBq = inp.dose
        }

        static func fail(_ message: String, _ tag: UInt32?) -> DicomError {
            DicomError(.suv, message, tag: tag)
        }

        /// `value` of header element `tag` when it is a finite positive number; otherwise the error saying
        /// it is missing (and what it is `neededFor`, when given) or invalid.
        static func positive(_ value: Double?, _ tag: UInt32, neededFor: String? = nil) throws(DicomError) -> Double {
            guard let v = value else {
                throw fail("SUV: missing \(describeTag(tag))" + (neededFor.map { ", needed for \($0)" } ?? ""), tag)
            }
            guard v.isFinite, v > 0 else {
                throw fail("SUV: invalid \(describeTag(tag)) \(v): not a finite positive number", tag)
            }
            return v
        }

        mutating func run() throws(DicomError) -> [Double] {
            guard inp.sliceCount > 0 else { throw Self.fail("SUV: the series has no slices", nil) }
            if let bad = inp.inconsistency { throw Self.fail(bad.message, bad.tag) }
            if let h = inp.heightM, h.isFinite, h > 0 { info.heightCm = h > 3 ? h : h * 100 }
            guard let units = inp.units, !units.isEmpty else {
                throw Self.fail("SUV: missing Units (0054,1001)", Tags.units)
            }
            let factors: [Double]
            switch units {
            case "BQML":
                if inp.philipsSUVFactors.contains(where: { $0 != nil }) {
                    info.notes.append("Philips SUV scale factor (7053,1000) ignored: Units are BQML")
                }
                if inp.philipsActivityFactors.contains(where: { $0 != nil }) {
                    info.notes.append("Philips activity concentration factor (7053,1009) ignored: Units are BQML")
                }
                factors = try activityFactors(scale: nil)
            case "CNTS":
                factors = try countsFactors()
            case "GML", "CM2ML":
                factors = try storedSUVFactors(units: units)
            default:
                throw Self.fail(
                    "SUV: Units (0054,1001) '\(units)' cannot be converted to SUV "
                        + "(supported: BQML, CNTS with Philips factors, GML, CM2ML)", Tags.units)
            }
            guard factors.count == inp.sliceCount else {
                throw DicomError(.internalError, "SUV: \(factors.count) factors for \(inp.sliceCount) slices")
            }
            for (k, f) in factors.enumerated() where !(f.isFinite && f > 0) {
                throw Self.fail("SUV: factor of slice \(k) is \(f) (not a finite positive number)", nil)
            }
            info.factor = factors[0]
            info.perSlice = factors.contains { $0 != factors[0] }
            if inp.timeFrames > 1 { info.frames = frameReport(factors) }
            info.sexNote = sexNoteIfUsed()
            return factors
        }

        /// Per time frame: which decay path its factor took (slices are stored frame by frame).
        func frameReport(_ factors: [Double]) -> [FrameSUV] {
            let t = inp.timeFrames, n = inp.sliceCount
            guard t > 1, n % t == 0 else { return [] }
            let per = n / t
            let dc = info.decayCorrection
            let activity = info.formula.contains("dose_bq")
            return (0..<t).map { f in
                let k = f * per
                var e = FrameSUV(
                    frame: f, decayCorrection: dc, path: "", start: inp.acquisitionTimes[k],
                    decayFactor: nil, inFrameCorrection: nil, factor: factors[k])
                guard activity else {
                    e.path = "no decay step: " + info.formula
                    return e
                }
                switch dc {
                case "ADMIN":
                    e.decayFactor = 1
                    e.path = "ADMIN: values decay corrected to the administration; no decay applied"
                case "START":
                    e.decayFactor = info.decayFactor
                    e.path = "START: one factor for every frame, decay from injection to the series start"
                default:
                    if let acq = inp.acquisitionTimes[k], let inj = info.injectionTime, let hl = inp.halfLife, hl > 0 {
                        e.decayFactor = SUVMath.decayFactor(elapsed: acq - inj, halfLife: hl)
                        if let ms = inp.frameDurationsMs[k], ms > 0 {
                            e.inFrameCorrection = SUVMath.frameDecayCorrection(duration: ms / 1000, halfLife: hl)
                        }
                    }
                    e.path =
                        "NONE: decay from injection to this frame's own start (AcquisitionTime), and over "
                        + "its ActualFrameDuration (QIBA)"
                }
                return e
            }
        }

        // MARK: body size

        var usedSexDependentFormula = false

        func sexNoteIfUsed() -> String? {
            guard usedSexDependentFormula, sex == .unknown else { return nil }
            let raw = inp.sex.map { $0.isEmpty ? "empty" : "'\($0)'" } ?? "missing"
            return "PatientSex (0010,0040) \(raw): mean of the male and female formulas used"
        }

        mutating func weight() throws(DicomError) -> Double {
            let w = try Self.positive(inp.weightKg, Tags.patientWeight)
            if w > 400 || w < 1 {
                appendOnce("PatientWeight (0010,1030) \(w) kg is implausible")
            }
            return w
        }

        mutating func heightCm() throws(DicomError) -> Double {
            let h = try Self.positive(inp.heightM, Tags.patientSize, neededFor: "SUV\(kind.rawValue)")
            if h > 3 {
                appendOnce("PatientSize (0010,1020) \(h) is not in metres: taken as cm")
                return h
            }
            if h < 0.3 { appendOnce("PatientSize (0010,1020) \(h) m is implausible") }
            return h * 100
        }

        mutating func appendOnce(_ note: String) {
            if !info.notes.contains(note) { info.notes.append(note) }
        }

        /// X of `k` (g or cm²); fills the report when `k` is the requested kind.
        mutating func normaliser(_ k: SUVKind) throws(DicomError) -> Double {
            let w = try weight()
            var h = Double.nan
            if k == .bw {
                if let m = inp.heightM, m.isFinite { h = m > 3 ? m : m * 100 }
            } else {
                h = try heightCm()
            }
            if SUVMath.needsSex(k) { usedSexDependentFormula = true }
            let x = SUVMath.normaliser(k, weightKg: w, heightCm: h, sex: sex)
            guard x.isFinite, x > 0 else {
                throw Self.fail(
                    "SUV: the \(k.rawValue) normaliser is \(x) for weight \(w) kg, height \(h) cm "
                        + "(formula out of range)", k == .bw ? Tags.patientWeight : Tags.patientSize)
            }
            if k == .lbm, w > 1.10 * h * h / 256 {
                appendOnce(
                    "James LBM is past its maximum for this weight/height (obese patient): lbm-janma is more reliable")
            }
            if k == kind {
                info.normaliser = Self.normaliserName(k)
                info.normaliserValue = x
            }
            return x
        }

        static func normaliserName(_ k: SUVKind) -> String {
            switch k {
            case .bw: return "body weight (g)"
            case .lbm: return "lean body mass, James (g)"
            case .lbmJanma: return "lean body mass, Janmahasatian (g)"
            case .bsa: return "body surface area, DuBois (cm2)"
            case .ibw: return "ideal body weight, Devine 1974 (g)"
            }
        }

        // MARK: dose, times

        mutating func dose() throws(DicomError) -> Double {
            let raw = try Self.positive(inp.dose, Tags.radionuclideTotalDose)
            var d = raw
            if raw < SUVComputation.mbqThreshold {
                d = raw * 1e6
                info.doseNote = "RadionuclideTotalDose (0018,1074) \(raw) is too small for Bq: taken as MBq (\(d) Bq)"
            } else if !SUVComputation.plausibleDose.contains(raw) {
                info.doseNote =
                    "RadionuclideTotalDose (0018,1074) \(raw) Bq is implausible for a human study; used as is"
            }
            info.doseBq = d
            return d
        }

        func halfLife() throws(DicomError) -> Double {
            try Self.positive(inp.halfLife, Tags.radionuclideHalfLife)
        }

        /// Earliest acquisition instant and its slice index.
        func earliestAcquisition() -> (time: Double, slice: Int)? {
            var best: (Double, Int)? = nil
            for (k, t) in inp.acquisitionTimes.enumerated() {
                if let t, t < (best?.0 ?? .infinity) { best = (t, k) }
            }
            return best
        }

        /// Scan start (QIBA): SeriesDate/Time unless after the earliest acquisition; then GE private
        /// scan date-time; then back-computed from Frame Reference Time; then the earliest acquisition.
        mutating func scanStart() throws(DicomError) -> Double {
            let earliest = earliestAcquisition()
            var series: Double? = nil
            if let t = inp.seriesTime {
                if let d = inp.seriesDate {
                    series = Double(d) * DicomDateTime.secondsPerDay + t
                } else if let e = earliest {
                    // No date: the day of the earliest acquisition, a day back if that puts it after it.
                    let day = (e.time / DicomDateTime.secondsPerDay).rounded(.down)
                    var s = day * DicomDateTime.secondsPerDay + t
                    if s > e.time + 43_200 { s -= DicomDateTime.secondsPerDay }
                    series = s
                    appendOnce("SeriesDate (0008,0021) missing: date of the acquisition used")
                } else {
                    // No date anywhere: work with times of day (the injection is placed on the same day).
                    series = t
                    appendOnce("no SeriesDate (0008,0021) or StudyDate: times of day only")
                }
            }
            if let s = series, s <= (earliest?.time ?? .infinity) + 1e-6 {
                info.scanStartSource = "SeriesDate/SeriesTime (0008,0021/0031)"
                info.scanStart = s
                return s
            }
            if series != nil {
                appendOnce("SeriesTime (0008,0031) is after the earliest acquisition: not used as scan start")
            }
            if let g = inp.geScanDateTime {
                if inp.geCreatorAssumed {
                    appendOnce(
                        "private creator '\(PrivateTag.gePETScanDateTime.creator)' absent in group 0009: (0009,100D) assumed to be GE's"
                    )
                }
                info.scanStartSource = "GE private scan date-time (0009,100D)"
                info.scanStart = g
                return g
            }
            if let e = earliest {
                if let frt = inp.frameReferenceTimesMs[e.slice], frt > 0,
                    let dur = inp.frameDurationsMs[e.slice], dur > 0, let t = inp.halfLife, t.isFinite, t > 0
                {
                    let s = SUVMath.scanStartFromFrameReference(
                        acquisition: e.time, frameReference: frt / 1000,
                        duration: dur / 1000, halfLife: t)
                    info.scanStartSource =
                        "earliest acquisition - FrameReferenceTime (0054,1300) + in-frame decay offset (QIBA)"
                    info.scanStart = s
                    return s
                }
                info.scanStartSource = "earliest AcquisitionDate/Time (0008,0022/0032)"
                info.scanStart = e.time
                return e.time
            }
            throw Self.fail(
                "SUV: missing SeriesTime (0008,0031) and AcquisitionTime (0008,0032): no scan start", Tags.seriesTime)
        }

        /// Injection instant; `reference` is the scan start, used to place a time-of-day on a date.
        mutating func injection(reference: Double) throws(DicomError) -> Double {
            if let t = inp.injectionDateTime {
                info.injectionTimeSource = "RadiopharmaceuticalStartDateTime (0018,1078)"
                info.injectionTime = t
                if t > reference { appendOnce("injection is after the scan start") }
                return t
            }
            guard let tod = inp.injectionTimeOfDay else {
                throw Self.fail(
                    "SUV: missing RadiopharmaceuticalStartTime (0018,1072) and RadiopharmaceuticalStartDateTime (0018,1078)",
                    Tags.radiopharmaceuticalStartTime)
            }
            let day: Double
            if let d = inp.seriesDate {
                day = Double(d)
                info.injectionTimeSource = "RadiopharmaceuticalStartTime (0018,1072) on SeriesDate (0008,0021)"
            } else {
                day = (reference / DicomDateTime.secondsPerDay).rounded(.down)
                info.injectionTimeSource = "RadiopharmaceuticalStartTime (0018,1072) on the scan date"
            }
            var t = day * DicomDateTime.secondsPerDay + tod
            if t > reference {
                t -= DicomDateTime.secondsPerDay
                info.dayRollover = true
                info.injectionTimeSource = (info.injectionTimeSource ?? "") + ", previous day (scan past midnight)"
                appendOnce("injection time of day is after the scan start: injection taken on the previous day")
            }
            if reference - t > 2 * DicomDateTime.secondsPerDay {
                appendOnce("more than 2 days between injection and scan start")
            }
            info.injectionTime = t
            return t
        }

        func resolvedDecayCorrection() throws(DicomError) -> String {
            let hasDECY = inp.correctedImage.contains("DECY")
            guard let dc = inp.decayCorrection, !dc.isEmpty else {
                if hasDECY { return "START" }
                throw Self.fail("SUV: missing DecayCorrection (0054,1102)", Tags.decayCorrection)
            }
            guard dc == "START" || dc == "ADMIN" || dc == "NONE" else {
                throw Self.fail(
                    "SUV: DecayCorrection (0054,1102) '\(dc)' is not START, ADMIN or NONE", Tags.decayCorrection)
            }
            return dc
        }

        // MARK: unit paths

        /// Activity concentration (Bq/ml, after `scale[k]` when given) -> SUV.
        mutating func activityFactors(scale: [Double]?) throws(DicomError) -> [Double] {
            let dc = try resolvedDecayCorrection()
            info.decayCorrection = dc
            if (inp.decayCorrection ?? "").isEmpty {
                info.notes.append("DecayCorrection (0054,1102) missing: START assumed (CorrectedImage has DECY)")
            }
            let hasDECY = inp.correctedImage.contains("DECY")
            if !inp.correctedImage.isEmpty {
                if dc == "NONE" && hasDECY {
                    info.notes.append("CorrectedImage (0028,0051) has DECY but DecayCorrection is NONE: NONE followed")
                } else if dc != "NONE" && !hasDECY {
                    info.notes.append(
                        "CorrectedImage (0028,0051) lacks DECY but DecayCorrection is \(dc): \(dc) followed")
                }
                if !inp.correctedImage.contains("ATTN") {
                    info.notes.append("CorrectedImage (0028,0051) lacks ATTN: image not attenuation corrected")
                }
            }
            let x = try normaliser(kind)
            let d = try dose()
            let n = inp.sliceCount
            let s = scale ?? Array(repeating: 1, count: n)
            let scaleText = scale == nil ? "" : " * activity_scale"
            let xName = kind == .bw ? "weight_g" : kind.rawValue + "_" + kind.unitName
            var factors = [Double](repeating: 0, count: n)
            switch dc {
            case "ADMIN":
                info.decayFactor = 1
                if let t = inp.halfLife { info.halfLife = t }
                if let start = try? scanStart() { _ = try? injection(reference: start) }  // for the report only
                for k in 0..<n { factors[k] = s[k] * x / d }
                info.formula = "suv = value" + scaleText + " * \(xName) / dose_bq (decay corrected to administration)"
            case "START":
                let t = try halfLife()
                let start = try scanStart()
                let inj = try injection(reference: start)
                let decay = SUVMath.decayFactor(elapsed: start - inj, halfLife: t)
                info.decayFactor = decay
                for k in 0..<n { factors[k] = s[k] * x / (d * decay) }
                info.formula =
                    "suv = value" + scaleText
                    + " * \(xName) / (dose_bq * 2^(-(scan_start - injection_time) / half_life_s))"
            default:  // NONE
                let t = try halfLife()
                _ = try? scanStart()
                guard let e = earliestAcquisition() else {
                    throw Self.fail(
                        "SUV: missing AcquisitionTime (0008,0032), needed per slice for DecayCorrection NONE",
                        Tags.acquisitionTime)
                }
                let inj = try injection(reference: info.scanStart ?? e.time)
                var missingDuration = false
                for k in 0..<n {
                    guard let acq = inp.acquisitionTimes[k] else {
                        throw Self.fail(
                            "SUV: missing AcquisitionTime (0008,0032) in slice \(k), needed for DecayCorrection NONE",
                            Tags.acquisitionTime)
                    }
                    let decay = SUVMath.decayFactor(elapsed: acq - inj, halfLife: t)
                    var frame = 1.0
                    if let ms = inp.frameDurationsMs[k], ms > 0 {
                        frame = SUVMath.frameDecayCorrection(duration: ms / 1000, halfLife: t)
                    } else {
                        missingDuration = true
                    }
                    factors[k] = s[k] * x * frame / (d * decay)
                    if k == 0 { info.decayFactor = decay / frame }
                }
                if missingDuration {
                    info.notes.append(
                        "ActualFrameDuration (0018,1242) missing in some slices: no decay-during-frame correction there"
                    )
                }
                info.formula =
                    "suv = value" + scaleText
                    + " * \(xName) * (L*D/(1-exp(-L*D))) / (dose_bq * exp(-L*(acquisition_k - injection_time))), "
                    + "L = ln2/half_life_s, D = ActualFrameDuration/1000 (per slice)"
            }
            return factors
        }

        mutating func notePhilipsCreator() {
            if inp.philipsCreatorAssumed {
                appendOnce(
                    "private creator '\(PrivateTag.philipsSUVScaleFactor.creator)' absent in group 7053: (7053,10xx) assumed to be Philips'"
                )
            }
        }

        /// Units CNTS: only Philips private scale factors make it quantitative.
        mutating func countsFactors() throws(DicomError) -> [Double] {
            let n = inp.sliceCount
            let suv = inp.philipsSUVFactors.compactMap { $0 }
            if suv.count == n, suv.allSatisfy({ $0 > 0 }) {
                info.vendorFactor = suv[0]
                notePhilipsCreator()
                info.decayCorrection = inp.decayCorrection
                var ratio = 1.0
                if kind != .bw {
                    let x = try normaliser(kind)
                    ratio = x / (try weight() * 1000)
                } else {
                    info.normaliser = Self.normaliserName(.bw)
                    info.normaliserValue = inp.weightKg.map { $0 * 1000 }
                }
                info.formula =
                    kind == .bw
                    ? "suv = value * philips_suv_factor (7053,1000) (SUVbw)"
                    : "suv = value * philips_suv_factor (7053,1000) * \(kind.rawValue)_\(kind.unitName) / weight_g"
                return suv.map { $0 * ratio }
            }
            let act = inp.philipsActivityFactors.compactMap { $0 }
            if act.count == n, act.allSatisfy({ $0 > 0 }) {
                info.vendorFactor = act[0]
                notePhilipsCreator()
                if !suv.isEmpty {
                    info.notes.append(
                        "Philips SUV scale factor (7053,1000) missing or invalid in some slices: activity concentration factor used"
                    )
                }
                return try activityFactors(scale: act)
            }
            throw Self.fail(
                "SUV: Units CNTS need the Philips SUV scale factor (7053,1000) or activity concentration "
                    + "scale factor (7053,1009) in every slice", PrivateTag.philipsSUVScaleFactor.tag)
        }

        /// Units GML / CM2ML: values are already an SUV of the type SUV Type (0054,1006) names.
        mutating func storedSUVFactors(units: String) throws(DicomError) -> [Double] {
            let unitsDefault: SUVKind = units == "CM2ML" ? .bsa : .bw
            var stored = unitsDefault
            if let t = inp.suvType, !t.isEmpty {
                if let k = SUVKind(suvType: t) {
                    if (k == .bsa) == (unitsDefault == .bsa) {
                        stored = k
                    } else {
                        info.notes.append(
                            "SUVType (0054,1006) '\(t)' does not match Units \(units): \(unitsDefault.rawValue) assumed"
                        )
                    }
                } else {
                    info.notes.append(
                        "SUVType (0054,1006) '\(t)' not recognised: \(unitsDefault.rawValue) assumed for \(units)")
                }
            } else {
                let implied = unitsDefault == .bsa ? "BSA" : "BW"
                info.suvType = implied
                info.notes.append("SUVType (0054,1006) missing: \(implied) assumed for Units \(units)")
            }
            info.decayCorrection = inp.decayCorrection
            let storedName = "SUV" + stored.rawValue
            if stored == kind {
                info.normaliser = Self.normaliserName(kind) + " (stored)"
                info.formula = "suv = value (stored values are \(storedName))"
                return Array(repeating: 1, count: inp.sliceCount)
            }
            let xk = try normaliser(kind)
            let xs = try normaliser(stored)
            info.formula =
                "suv = value * \(kind.rawValue)_\(kind.unitName) / \(stored.rawValue)_\(stored.unitName) (stored values are \(storedName))"
            return Array(repeating: xk / xs, count: inp.sliceCount)
        }
    }
}
