import DicomBytes
import Glibc
import Testing

@testable import PetctSUV

/// The pure layer: `SUVInputs` -> factors and report. Base case (see `baseInputs`): 70 kg, 1.75 m,
/// male, 370 MBq F-18 injected at 10:00, scan (series) start 11:00, i.e. 3600 s of decay.
@Suite struct ComputationTests {
    let startDecay = pow(2, -3600 / F18.halfLife)  // fraction left after one hour
    let jamesMale = (1.10 * 70 - 128 * 0.16) * 1000  // 56520 g
    let jamesFemale = (1.07 * 70 - 148 * 0.16) * 1000  // 51220 g
    var bsaCm2: Double { 0.007184 * pow(70, 0.425) * pow(175, 0.725) * 10_000 }

    func run(_ i: SUVInputs, _ k: SUVKind = .bw) throws(DicomError) -> (factors: [Double], info: SUVInfo) {
        try SUVComputation.compute(i, kind: k)
    }

    // MARK: BQML

    @Test func bqmlStart() throws {
        let r = try run(baseInputs())
        let expected = 70_000 / (370e6 * startDecay)
        #expect(r.factors.count == 3)
        #expect(r.factors.allSatisfy { close($0, expected) })
        #expect(r.info.perSlice == false)
        #expect(close(r.info.decayFactor!, startDecay))
        #expect(r.info.scanStart == at(11))
        #expect(r.info.injectionTime == at(10))
        #expect(r.info.normaliserValue == 70_000)
        #expect(r.info.decayCorrection == "START")
        #expect(r.info.scanStartSource!.contains("SeriesDate"))
        // SUVbw 1 = 370e6 Bq / 70000 g = 5285.7 Bq/ml at injection; 68.46 % left after 1 h of F-18 decay.
        #expect(abs(1 / expected - 5285.7 * 0.6846) < 1)
    }

    @Test func bqmlAdminHasNoDecay() throws {
        var i = baseInputs()
        i.decayCorrection = "ADMIN"
        i.halfLife = nil  // not needed when images are decay corrected to administration
        i.injectionTimeOfDay = nil
        let r = try run(i)
        #expect(r.factors.allSatisfy { close($0, 70_000 / 370e6) })
        #expect(r.info.decayFactor == 1)
        // Still reported when present.
        i.injectionTimeOfDay = 10 * 3600
        #expect(try run(i).info.injectionTime == at(10))
    }

    @Test func bqmlNoneDecaysEachSliceToItsAcquisition() throws {
        var i = baseInputs()
        i.decayCorrection = "NONE"
        i.correctedImage = ["ATTN"]
        i.acquisitionTimes = [at(11), at(11, 5), at(11, 10)]
        i.frameDurationsMs = [300_000, 300_000, 120_000]
        let r = try run(i)
        let lambda = log(2.0) / F18.halfLife
        let minutesAfterInjection = [60.0, 65, 70]
        let durations = [300.0, 300, 120]
        for k in 0..<3 {
            let decay = exp(-lambda * minutesAfterInjection[k] * 60)
            let x = lambda * durations[k]
            let frame = x / (1 - exp(-x))
            #expect(close(r.factors[k], 70_000 * frame / (370e6 * decay)), "slice \(k)")
        }
        #expect(r.factors[1] > r.factors[0])
        #expect(r.info.perSlice)
        #expect(r.info.decayCorrection == "NONE")
    }

    @Test func bqmlNoneNeedsEachAcquisitionTime() {
        var i = baseInputs()
        i.decayCorrection = "NONE"
        i.acquisitionTimes = [at(11), nil, at(11)]
        #expect(suvErrorTag { _ = try run(i) } == Tags.acquisitionTime)
    }

    @Test func nonF18Nuclide() throws {
        var i = baseInputs()
        i.halfLife = Ga68.halfLife  // Ga-68, 67.71 min
        i.dose = 150e6
        let r = try run(i)
        #expect(r.factors.allSatisfy { close($0, 70_000 / (150e6 * pow(2, -3600 / 4062.6))) })
        #expect(r.info.halfLife == 4062.6)
    }

    // MARK: CNTS (Philips)

    @Test func cntsPhilipsSUVFactor() throws {
        var i = baseInputs()
        i.units = "CNTS"
        i.philipsSUVFactors = [0.0005, 0.0006, 0.0005]
        let bw = try run(i)
        #expect(bw.factors == [0.0005, 0.0006, 0.0005])
        #expect(bw.info.vendorFactor == 0.0005)
        #expect(bw.info.perSlice)
        // Other kinds by the ratio of normalisers: SUVlbm = SUVbw * LBM / W.
        let lbm = try run(i, .lbm)
        #expect(close(lbm.factors[1], 0.0006 * jamesMale / 70_000))
        // No dose or times are needed for SUVbw from the vendor factor.
        i.dose = nil
        i.injectionTimeOfDay = nil
        #expect(try run(i).factors[0] == 0.0005)
    }

    @Test func cntsPhilipsActivityConcentrationFactor() throws {
        var i = baseInputs()
        i.units = "CNTS"
        i.philipsActivityFactors = [2.5, 2.5, 2.5]  // counts -> Bq/ml
        let r = try run(i)
        #expect(r.factors.allSatisfy { close($0, 2.5 * 70_000 / (370e6 * startDecay)) })
        #expect(r.info.vendorFactor == 2.5)
    }

    @Test func cntsWithoutVendorFactorsFails() {
        var i = baseInputs()
        i.units = "CNTS"
        i.philipsSUVFactors = [0.0005, nil, 0.0005]  // not in every slice
        #expect(suvErrorTag { _ = try run(i) } == PrivateTag.philipsSUVScaleFactor.tag)
    }

    @Test func philipsFactorIgnoredUnderBQML() throws {
        var i = baseInputs()
        i.philipsSUVFactors = [0.5, 0.5, 0.5]
        let r = try run(i)
        #expect(r.factors.allSatisfy { close($0, 70_000 / (370e6 * startDecay)) })
        #expect(r.info.vendorFactor == nil)
        #expect(r.info.notes.contains { $0.contains("(7053,1000) ignored") })
    }

    // MARK: GML / CM2ML

    @Test func gmlWithLBMTypeToBodyWeight() throws {
        var i = baseInputs()
        i.units = "GML"
        i.suvType = "LBMJAMES128"
        // Stored SUVlbm -> SUVbw = SUVlbm * W / LBM.
        let r = try run(i, .bw)
        #expect(r.factors.allSatisfy { close($0, 70_000 / jamesMale) })
        // Same kind: values unchanged, and nothing else is needed.
        i.weightKg = nil
        i.dose = nil
        #expect(try run(i, .lbm).factors == [1, 1, 1])
    }

    @Test func gmlWithoutTypeIsBodyWeight() throws {
        var i = baseInputs()
        i.units = "GML"
        let r = try run(i, .bsa)
        #expect(r.factors.allSatisfy { close($0, bsaCm2 / 70_000) })
        #expect(r.info.suvType == "BW")
        #expect(try run(i, .bw).factors == [1, 1, 1])
    }

    @Test func cm2mlIsBSA() throws {
        var i = baseInputs()
        i.units = "CM2ML"
        let r = try run(i, .bw)
        #expect(r.factors.allSatisfy { close($0, 70_000 / bsaCm2) })
        #expect(r.info.suvType == "BSA")
        i.suvType = "BSA"
        #expect(try run(i, .bsa).factors == [1, 1, 1])
        // A weight-type SUV Type contradicts CM2ML: units win.
        i.suvType = "BW"
        let c = try run(i, .bw)
        #expect(close(c.factors[0], 70_000 / bsaCm2))
        #expect(c.info.notes.contains { $0.contains("does not match") })
    }

    // MARK: scan start

    @Test func seriesTimeAfterAcquisitionUsesGEPrivate() throws {
        var i = baseInputs()
        i.seriesTime = 11.5 * 3600  // 11:30, after the acquisition at 11:00
        i.geScanDateTime = at(10, 55)
        let r = try run(i)
        #expect(r.info.scanStart == at(10, 55))
        #expect(r.info.scanStartSource!.contains("0009,100D"))
        // 55 minutes of decay.
        #expect(r.factors.allSatisfy { close($0, 70_000 / (370e6 * pow(2, -55 * 60 / F18.halfLife))) })
    }

    @Test func seriesTimeAfterAcquisitionBackComputesQIBA() throws {
        var i = baseInputs()
        i.seriesTime = 11.5 * 3600
        i.acquisitionTimes = [at(11, 2), at(11), at(11, 4)]  // earliest is slice 1
        i.frameReferenceTimesMs = [0, 150_000, 0]
        i.frameDurationsMs = [0, 300_000, 0]
        let r = try run(i)
        let lambda = log(2.0) / F18.halfLife
        let x = lambda * 300
        let start = at(11) - 150 + log(x / (1 - exp(-x))) / lambda
        #expect(close(r.info.scanStart!, start, 1e-15))
        #expect(abs(r.info.scanStart! - at(11)) < 1)  // within a second of 11:00 for this frame
        #expect(r.info.scanStartSource!.contains("QIBA"))
        let decay = exp(-lambda * (start - at(10)))
        #expect(r.factors.allSatisfy { close($0, 70_000 / (370e6 * decay)) })
    }

    @Test func seriesTimeAfterAcquisitionWithoutFrameTimesUsesAcquisition() throws {
        var i = baseInputs()
        i.seriesTime = 11.5 * 3600
        i.acquisitionTimes = [at(11, 2), at(11, 1), at(11, 4)]
        i.frameReferenceTimesMs = [nil, nil, nil]
        let r = try run(i)
        #expect(r.info.scanStart == at(11, 1))
        #expect(r.factors.allSatisfy { close($0, 70_000 / (370e6 * pow(2, -61 * 60 / F18.halfLife))) })
    }

    @Test func timesOfDayOnly() throws {
        var i = baseInputs()
        i.seriesDate = nil
        i.acquisitionTimes = [nil, nil, nil]
        let r = try run(i)
        #expect(r.factors.allSatisfy { close($0, 70_000 / (370e6 * startDecay)) })
        #expect(r.info.notes.contains { $0.contains("times of day only") })
        // Past midnight still works: 00:30 scan, 23:30 injection.
        i.seriesTime = 0.5 * 3600
        i.injectionTimeOfDay = 23.5 * 3600
        #expect(try run(i).factors.allSatisfy { close($0, 70_000 / (370e6 * startDecay)) })
    }

    @Test func seriesDateMissingUsesAcquisitionDate() throws {
        var i = baseInputs()
        i.seriesDate = nil
        let r = try run(i)
        #expect(r.info.scanStart == at(11))
        #expect(r.factors.allSatisfy { close($0, 70_000 / (370e6 * startDecay)) })
    }

    @Test func noScanTimesFails() {
        var i = baseInputs()
        i.seriesTime = nil
        i.acquisitionTimes = [nil, nil, nil]
        #expect(suvErrorTag { _ = try run(i) } == Tags.seriesTime)
    }

    // MARK: injection

    @Test func startTimeWithoutDateUsesSeriesDate() throws {
        var i = baseInputs()
        i.injectionDateTime = nil
        i.injectionTimeOfDay = 10 * 3600
        let r = try run(i)
        #expect(r.info.injectionTime == at(10))
        #expect(r.info.injectionTimeSource!.contains("(0018,1072)"))
    }

    @Test func startDateTimeOnlyAndPreferred() throws {
        var i = baseInputs()
        i.injectionTimeOfDay = nil
        i.injectionDateTime = at(10)
        let only = try run(i)
        #expect(only.factors.allSatisfy { close($0, 70_000 / (370e6 * startDecay)) })
        #expect(only.info.injectionTimeSource!.contains("(0018,1078)"))
        // Both present and different: the date-time wins.
        i.injectionTimeOfDay = 9 * 3600
        #expect(try run(i).info.injectionTime == at(10))
    }

    @Test func scanPastMidnight() throws {
        var i = baseInputs()
        i.seriesDate = 20090  // 2025-01-02
        i.seriesTime = 0.5 * 3600  // 00:30
        i.acquisitionTimes = Array(repeating: at(0, 30, day: 1), count: 3)
        i.injectionTimeOfDay = 23.5 * 3600  // 23:30 the evening before
        let r = try run(i)
        #expect(r.info.injectionTime == at(23, 30))
        #expect(r.info.injectionTimeSource!.contains("previous day"))
        // the report says so, with the elapsed time the Python layer checks against its bounds
        #expect(r.info.dayRollover)
        #expect(r.info.scanStart! - r.info.injectionTime! == 3600)
        // Still one hour of decay.
        #expect(r.factors.allSatisfy { close($0, 70_000 / (370e6 * startDecay)) })
    }

    // MARK: dose

    @Test func reportFields() throws {
        var i = baseInputs()
        i.sex = "O"
        let info = try run(i, .lbm).info
        #expect(info.kind == "lbm" && info.units == "BQML")
        #expect(info.scanStart.map(DicomDateTime.format) == "2025-01-01T11:00:00")
        #expect(info.injectionTime.map(DicomDateTime.format) == "2025-01-01T10:00:00")
        #expect(!info.perSlice && info.heightCm == 175.0 && info.vendorFactor == nil)
    }

    @Test func doseInMBqQuirk() throws {
        var i = baseInputs()
        i.dose = 370  // "Bq" that are MBq
        let r = try run(i)
        #expect(r.factors.allSatisfy { close($0, 70_000 / (370e6 * startDecay)) })
        #expect(r.info.doseBq == 370e6)
        #expect(r.info.doseNote!.contains("MBq"))
        i.dose = 370e6
        #expect(try run(i).info.doseNote == nil)
    }

    @Test func implausibleDoseIsReported() throws {
        var i = baseInputs()
        i.dose = 2e5  // 0.2 MBq: neither MBq-quirk nor plausible
        let r = try run(i)
        #expect(r.info.doseNote!.contains("implausible"))
        #expect(close(r.factors[0], 70_000 / (2e5 * startDecay)))
    }

    // MARK: errors

    @Test func missingTagsAreNamed() {
        var i = baseInputs(); i.weightKg = nil
        #expect(suvErrorTag { _ = try run(i) } == Tags.patientWeight)
        #expect(suvErrorMessage { _ = try run(i) }!.contains("PatientWeight (0010,1030)"))
        i = baseInputs(); i.weightKg = 0
        #expect(suvErrorTag { _ = try run(i) } == Tags.patientWeight)
        i = baseInputs(); i.dose = nil
        #expect(suvErrorTag { _ = try run(i) } == Tags.radionuclideTotalDose)
        i = baseInputs(); i.halfLife = nil
        #expect(suvErrorTag { _ = try run(i) } == Tags.radionuclideHalfLife)
        i = baseInputs(); i.injectionTimeOfDay = nil
        #expect(suvErrorTag { _ = try run(i) } == Tags.radiopharmaceuticalStartTime)
        i = baseInputs(); i.units = nil
        #expect(suvErrorTag { _ = try run(i) } == Tags.units)
        i = baseInputs(); i.units = "PROPCNTS"
        #expect(suvErrorTag { _ = try run(i) } == Tags.units)
        i = baseInputs(); i.decayCorrection = nil; i.correctedImage = ["ATTN"]
        #expect(suvErrorTag { _ = try run(i) } == Tags.decayCorrection)
        i = baseInputs(); i.decayCorrection = "FOO"
        #expect(suvErrorTag { _ = try run(i) } == Tags.decayCorrection)
        // Height only when the kind needs it.
        i = baseInputs(); i.heightM = nil
        #expect(suvErrorTag { _ = try run(i, .bw) } == nil)
        for k in [SUVKind.lbm, .lbmJanma, .bsa, .ibw] {
            #expect(suvErrorTag { _ = try run(i, k) } == Tags.patientSize, "\(k)")
            #expect(suvErrorMessage { _ = try run(i, k) }!.contains("PatientSize (0010,1020)"))
        }
    }

    @Test func missingDecayCorrectionFallsBackOnCorrectedImage() throws {
        var i = baseInputs()
        i.decayCorrection = nil  // CorrectedImage has DECY
        let r = try run(i)
        #expect(r.info.decayCorrection == "START")
        #expect(r.info.notes.contains { $0.contains("START assumed") })
    }

    @Test func jamesOutOfRangeIsAnErrorNotNaN() {
        var i = baseInputs()
        i.weightKg = 300  // 1.10*300 - 128*(300/175)^2 < 0
        #expect(suvErrorTag { _ = try run(i, .lbm) } == Tags.patientSize)
        #expect(suvErrorTag { _ = try run(i, .lbmJanma) } == nil)
    }

    // MARK: kinds, sex

    @Test func kindsFromActivity() throws {
        let i = baseInputs()
        let decayed = 370e6 * startDecay
        #expect(close(try run(i, .lbm).factors[0], jamesMale / decayed))
        #expect(close(try run(i, .bsa).factors[0], bsaCm2 / decayed))
        #expect(close(try run(i, .ibw).factors[0], 70_000 / decayed))  // capped at W
        let bmi = 70 / (1.75 * 1.75)
        #expect(close(try run(i, .lbmJanma).factors[0], 9270 * 70 / (6680 + 216 * bmi) * 1000 / decayed))
    }

    @Test func unknownSexUsesMean() throws {
        var i = baseInputs()
        i.sex = "O"
        let r = try run(i, .lbm)
        #expect(close(r.info.normaliserValue!, (jamesMale + jamesFemale) / 2))
        #expect(r.info.sexNote!.contains("mean"))
        i.sex = nil
        #expect(try run(i, .ibw).info.sexNote!.contains("missing"))
        // bw does not depend on sex: no note.
        #expect(try run(i, .bw).info.sexNote == nil)
        i.sex = "F"
        let f = try run(i, .lbm)
        #expect(close(f.info.normaliserValue!, jamesFemale))
        #expect(f.info.sexNote == nil)
    }

    @Test func heightInCentimetresByMistake() throws {
        var i = baseInputs()
        i.heightM = 175
        let r = try run(i, .lbm)
        #expect(close(r.info.normaliserValue!, jamesMale))
        #expect(r.info.notes.contains { $0.contains("taken as cm") })
    }

}
