import DicomBytes
import DicomParser

/// What tells the frames (time points or gates) of one slice apart.
struct SliceTiming {
    var sop: String? = nil
    /// First value of SeriesType (0054,1000), upper-cased: DYNAMIC, GATED, STATIC, WHOLE BODY.
    var seriesType: String? = nil
    var numberOfSlices: Int? = nil
    var numberOfTimeSlices: Int? = nil
    var numberOfTimeSlots: Int? = nil
    var imageIndex: Int? = nil
    var temporalIndex: Int? = nil
    var frameReferenceMs: Double? = nil
    var durationMs: Double? = nil
    var triggerMs: Double? = nil
    var decayFactor: Double? = nil
    /// Acquisition date-time text of the slice ("" when absent).
    var start = ""

    init() {}

    /// The top-level timing of a data set (single-frame PET images, or the defaults of a multi-frame one).
    init(_ ds: Dataset, start: String) {
        func positive(_ tag: UInt32) -> Int? { ds.int(tag).flatMap { $0 > 0 && $0 < 1 << 30 ? $0 : nil } }
        func finite(_ tag: UInt32) -> Double? { ds.double(tag).flatMap { $0.isFinite ? $0 : nil } }
        sop = ds.nonEmptyString(Tags.sopInstanceUID)
        seriesType = ds.strings(Tags.seriesType).first.map { trimmed($0).uppercased() }
        numberOfSlices = positive(Tags.numberOfSlices)
        numberOfTimeSlices = positive(Tags.numberOfTimeSlices)
        numberOfTimeSlots = positive(Tags.numberOfTimeSlots)
        imageIndex = positive(Tags.imageIndex)
        frameReferenceMs = finite(Tags.frameReferenceTime)
        durationMs = finite(Tags.actualFrameDuration)
        triggerMs = finite(Tags.triggerTime)
        decayFactor = finite(Tags.decayFactor)
        self.start = start
    }

    /// Seconds (of an arbitrary epoch, monotonic in the date-time) of `start`, for ordering only.
    var startOrder: Double? {
        var digits = Substring(start)
        if let plus = digits.firstIndex(where: { $0 == "+" || $0 == "-" }) { digits = digits[..<plus] }
        guard digits.count >= 14, let day = Double(digits.prefix(8)),
            let hh = Double(digits.dropFirst(8).prefix(2)), let mm = Double(digits.dropFirst(10).prefix(2)),
            let ss = Double(digits.dropFirst(12))
        else {
            return Double(start).flatMap { $0.isFinite ? $0 : nil }
        }
        let v = day * 86_400 + hh * 3_600 + mm * 60 + ss
        return v.isFinite ? v : nil
    }
}

/// Kind of a series with more than one frame.
public enum TimeFrameKind: String, Sendable {
    case dynamic
    case gated
}

/// The frames of a series: record indices per frame, in time / gate order.
struct TimeGrouping {
    var kind: TimeFrameKind? = nil
    var frames: [[Int]] = []
    /// How the frames were told apart (for messages and the JSON).
    var groupedBy = ""
}

enum TimeFrames {
    /// Kind the headers declare (SeriesType, NumberOfTimeSlices / NumberOfTimeSlots, TemporalPositionIndex).
    static func declaredKind(_ t: [SliceTiming]) -> TimeFrameKind? {
        guard let f = t.first else { return nil }
        if f.seriesType == "GATED" || (f.numberOfTimeSlots ?? 1) > 1 { return .gated }
        if f.seriesType == "DYNAMIC" || (f.numberOfTimeSlices ?? 1) > 1 { return .dynamic }
        if Set(t.compactMap { $0.temporalIndex }).count > 1 { return .dynamic }
        return nil
    }

    /// Splits the records into frames. `proj` is each record's position along the slice normal (nil
    /// when positions are unknown); `name` names a record in messages. Records at one position with
    /// the same timing are left to the caller (duplicates or an error).
    static func group(_ t: [SliceTiming], proj: [Double]?) -> TimeGrouping {
        var g = TimeGrouping()
        let all = Array(t.indices)
        let declared = declaredKind(t)
        // Most slices at one position: the number of frames a timing element must produce.
        let multiplicity: Int = {
            guard let proj else { return 1 }
            let s = proj.sorted()
            let steps = zip(s.dropFirst(), s).map { $0 - $1 }.filter { $0 > 1e-3 }
            let tol = max(1e-3, 1e-2 * (steps.isEmpty ? 0 : median(steps)))
            var best = 1, start = 0
            for i in s.indices {
                while s[i] - s[start] > tol { start += 1 }
                best = max(best, i - start + 1)
            }
            return best
        }()
        let repeats = multiplicity > 1
        // Positions that do not repeat are one frame, whatever the headers declare (e.g. one frame
        // extracted from a dynamic series keeps NumberOfTimeSlices). Every way of telling frames apart
        // below must yield exactly as many frames as slices share a position.
        guard repeats else {
            g.frames = [all]
            return g
        }
        // 1. ImageIndex / NumberOfSlices (PET Image module): frame = (ImageIndex - 1) / NumberOfSlices.
        if t.allSatisfy({ $0.imageIndex != nil && $0.numberOfSlices != nil }) {
            let key = all.map { Double((t[$0].imageIndex! - 1) / t[$0].numberOfSlices!) }
            if Set(key).count == multiplicity {
                g.kind = declared ?? .dynamic
                g.frames = bucket(all, key)
                g.groupedBy = "ImageIndex / NumberOfSlices (0054,1330 / 0054,0081)"
                return g
            }
        }
        // 2. Enhanced objects: TemporalPositionIndex.
        if t.allSatisfy({ $0.temporalIndex != nil }), Set(t.map { $0.temporalIndex! }).count == multiplicity {
            g.kind = declared ?? .dynamic
            g.frames = bucket(all, t.map { Double($0.temporalIndex!) })
            g.groupedBy = "TemporalPositionIndex (0020,9128)"
            return g
        }
        // 3. Timing elements.
        let candidates: [(String, TimeFrameKind, (SliceTiming) -> Double?)] = [
            ("TriggerTime (0018,1060)", .gated, { $0.triggerMs }),
            ("FrameReferenceTime (0054,1300)", .dynamic, { $0.frameReferenceMs }),
            ("AcquisitionDateTime / AcquisitionTime (0008,002A / 0008,0032)", .dynamic, { $0.startOrder }),
        ]
        let ordered = declared == .dynamic ? Array(candidates.dropFirst()) + [candidates[0]] : candidates
        for (name, kind, value) in ordered {
            let v = t.map(value)
            // an element that varies within a frame (e.g. AcquisitionTime of every CT slice) is not a frame key
            guard v.allSatisfy({ $0 != nil }), Set(v.map { $0! }).count == multiplicity else { continue }
            g.kind = declared ?? kind
            g.frames = bucket(all, v.map { $0! })
            g.groupedBy = name
            return g
        }
        g.kind = nil
        g.frames = [all]
        return g
    }

    /// Groups indices by key, groups in ascending key order, members in input order.
    static func bucket(_ idx: [Int], _ key: [Double]) -> [[Int]] {
        var groups: [Double: [Int]] = [:]
        for (i, k) in zip(idx, key) { groups[k.isFinite ? k : .infinity, default: []].append(i) }
        return groups.keys.sorted().compactMap { groups[$0] }
    }

    /// Whether two files hold the same bytes.
    static func identicalFiles(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        guard let x = try? readWholeFile(a), let y = try? readWholeFile(b) else { return false }
        return x == y
    }
}
