import DicomBytes
import DicomParser
import Glibc
import PetctTestSupport

@testable import PetctSUV

/// A header node for building test data sets without a reader.
indirect enum Node {
    case text(UInt32, String)
    case number(UInt32, Double)  // a binary FD value
    case raw(UInt32, [UInt8])  // a value left as bytes (UN)
    case sequence(UInt32, [[Node]])

    var tag: UInt32 {
        switch self {
        case .text(let t, _), .number(let t, _), .raw(let t, _), .sequence(let t, _): return t
        }
    }
}

/// A `Dataset` from nodes, built by PetctTestSupport's `makeDataset`: text as LO, numbers as one FD, raw
/// values as UN bytes, a header read without its pixels.
func makeDataset(_ nodes: [Node]) -> Dataset {
    func entries(_ list: [Node]) -> [(UInt32, TestValue)] {
        list.map { n in
            switch n {
            case .text(let t, let s): return (t, .text(s, vr: "LO"))
            case .number(let t, let v): return (t, .float([v], vr: "FD"))
            case .raw(let t, let b): return (t, .bytes(b, vr: "UN"))
            case .sequence(let t, let items): return (t, .sequence(items.map(entries)))
            }
        }
    }
    return PetctTestSupport.makeDataset(entries(nodes), fileMeta: false, flags: [.stoppedBeforePixels])
}

enum F18 { static let halfLife = 6586.2 }  // 109.77 min
enum Ga68 { static let halfLife = 4062.6 }  // 67.71 min

/// 2025-01-01 00:00 in `DicomDateTime` seconds: 20089 days after 1970-01-01.
let jan1 = 20089.0 * 86400
func at(_ h: Double, _ m: Double = 0, _ s: Double = 0, day: Double = 0) -> Double {
    jan1 + day * 86400 + h * 3600 + m * 60 + s
}

/// A plain BQML / START series: 70 kg, 1.75 m, male, 370 MBq F-18 at 10:00, scan at 11:00.
func baseInputs(slices n: Int = 3) -> SUVInputs {
    var i = SUVInputs(sliceCount: n)
    i.units = "BQML"
    i.decayCorrection = "START"
    i.correctedImage = ["NORM", "DTIM", "ATTN", "SCAT", "DECY", "RAN"]
    i.seriesDate = 20089
    i.seriesTime = 11 * 3600
    i.acquisitionTimes = Array(repeating: at(11), count: n)
    i.frameReferenceTimesMs = Array(repeating: 150_000, count: n)
    i.frameDurationsMs = Array(repeating: 300_000, count: n)
    i.injectionTimeOfDay = 10 * 3600
    i.dose = 370e6
    i.halfLife = F18.halfLife
    i.weightKg = 70
    i.heightM = 1.75
    i.sex = "M"
    return i
}

/// Relative closeness.
func close(_ a: Double, _ b: Double, _ rel: Double = 1e-9) -> Bool {
    abs(a - b) <= rel * max(abs(a), abs(b))
}

/// The `.suv` error's tag (0xFFFFFFFF when it has none), or nil when the call did not throw a `.suv` error.
func suvErrorTag(_ body: () throws -> Void) -> UInt32? {
    do { try body() } catch {
        guard let e = error as? DicomError, e.kind == .suv else { return nil }
        return e.tag ?? 0xFFFF_FFFF
    }
    return nil
}

/// The thrown DicomError's message, or nil.
func suvErrorMessage(_ body: () throws -> Void) -> String? {
    do { try body() } catch { return (error as? DicomError)?.message }
    return nil
}
