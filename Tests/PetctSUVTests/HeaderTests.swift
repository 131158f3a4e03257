import DicomBytes
import DicomParser
import Glibc
import Testing

@testable import PetctSUV

/// Header extraction (`SUVInputs(slices:)`) and the `SUVCalculator.compute` entry point, on data sets
/// built in memory.
@Suite struct HeaderTests {
    /// A PET slice header like the SUV DROs: 70 kg, 1.75 m, 368.08 MBq F-18 at 10:00, series at 11:00.
    func slice(
        units: String = "BQML", acquisitionTime: String = "110000.000000", extra: [Node] = [],
        radiopharmaceutical: [Node]? = nil
    ) -> [Node] {
        let rp =
            radiopharmaceutical ?? [
                .text(Tags.radiopharmaceuticalStartTime, "100000.000000"),
                .text(Tags.radionuclideTotalDose, "368080000.0"),
                .text(Tags.radionuclideHalfLife, "6586.2"),
                .sequence(0x0054_0300, [[.text(0x0008_0100, "C-111A1")]]),
            ]
        return [
            .text(Tags.studyDate, "20250101"),
            .text(Tags.seriesDate, "20250101"),
            .text(Tags.acquisitionDate, "20250101"),
            .text(Tags.seriesTime, "110000.000000"),
            .text(Tags.acquisitionTime, acquisitionTime),
            .text(Tags.manufacturer, "Synthetic"),
            .text(Tags.patientSex, "O"),
            .text(Tags.patientSize, "1.75"),
            .text(Tags.patientWeight, "70.0"),
            .text(Tags.actualFrameDuration, "300000"),
            .text(Tags.correctedImage, "NORM\\DTIM\\ATTN\\SCAT\\DECY\\RAN"),
            .text(0x0028_1053, "1.0"),
            .sequence(Tags.radiopharmaceuticalInformationSequence, [rp]),
            .text(Tags.units, units),
            .text(Tags.decayCorrection, "START"),
            .text(Tags.frameReferenceTime, "150000.0"),
        ] + extra
    }

    let droDecay = pow(2, -3600 / 6586.2)

    @Test func extractsEverything() {
        let ds = makeDataset(slice(extra: [.text(Tags.suvType, "bw ")]))
        let i = SUVInputs(slices: [ds, ds])
        #expect(i.sliceCount == 2)
        #expect(i.units == "BQML")
        #expect(i.decayCorrection == "START")
        #expect(i.suvType == "BW")
        #expect(i.correctedImage.contains("DECY"))
        #expect(i.seriesDate == 20089)
        #expect(i.seriesTime == hms(11))
        #expect(i.acquisitionTimes == [at(11), at(11)])
        #expect(i.frameReferenceTimesMs == [150_000, 150_000])
        #expect(i.frameDurationsMs == [300_000, 300_000])
        #expect(i.injectionTimeOfDay == hms(10))
        #expect(i.injectionDateTime == nil)
        #expect(i.dose == 368.08e6)
        #expect(i.halfLife == 6586.2)
        #expect(i.weightKg == 70)
        #expect(i.heightM == 1.75)
        #expect(i.sex == "O")
        #expect(i.philipsSUVFactors == [nil, nil])
        #expect(i.geScanDateTime == nil)
        #expect(i.notes.isEmpty)
    }

    @Test func endToEnd() throws {
        let ds = makeDataset(slice())
        let r = try SUVCalculator.compute(slices: [ds, ds, ds], kind: "bw")
        #expect(r.factors.count == 3)
        #expect(r.factors.allSatisfy { close($0, 70_000 / (368.08e6 * droDecay)) })
        #expect(r.info.kind == "bw")
        #expect(r.info.decayCorrection == "START")
        // The DRO's stored median 3600 Bq/ml is SUVbw 1.
        #expect(abs(3600 * r.factors[0] - 1) < 1e-5)
    }

    @Test func badArguments() {
        let ds = makeDataset(slice())
        do {
            _ = try SUVCalculator.compute(slices: [ds], kind: "lean")
            Issue.record("no error")
        } catch {
            #expect(error.kind == .argument)
        }
        #expect(suvErrorTag { _ = try SUVCalculator.compute(slices: [], kind: "bw") } != nil)
    }

    @Test func seriesLevelValuesThatDifferBetweenSlicesAreRefused() {
        let good = makeDataset(slice())
        func replacing(_ tag: UInt32, with node: Node?, in nodes: [Node]) -> [Node] {
            nodes.filter { $0.tag != tag } + (node.map { [$0] } ?? [])
        }
        // Same values written differently agree: numbers as numbers, codes without case or padding.
        let reformatted = makeDataset(
            replacing(
                Tags.units, with: .text(Tags.units, "bqml "),
                in: replacing(Tags.patientWeight, with: .text(Tags.patientWeight, "70"), in: slice())))
        #expect((try? SUVCalculator.compute(slices: [good, reformatted, good], kind: "bw")) != nil)

        let heavier = makeDataset(
            replacing(Tags.patientWeight, with: .text(Tags.patientWeight, "80.0"), in: slice()))
        #expect(
            suvErrorTag { _ = try SUVCalculator.compute(slices: [good, good, heavier], kind: "bw") }
                == Tags.patientWeight)
        let message =
            suvErrorMessage { _ = try SUVCalculator.compute(slices: [good, good, heavier], kind: "bw") } ?? ""
        #expect(
            message.contains("PatientWeight (0010,1030)") && message.contains("'70.0' in slice 0")
                && message.contains("'80.0' in slice 2"))

        let otherDose = makeDataset(
            slice(radiopharmaceutical: [
                .text(Tags.radiopharmaceuticalStartTime, "100000.000000"),
                .text(Tags.radionuclideTotalDose, "185040000.0"),
                .text(Tags.radionuclideHalfLife, "6586.2"),
            ]))
        #expect(
            suvErrorTag { _ = try SUVCalculator.compute(slices: [good, otherDose], kind: "bw") }
                == Tags.radionuclideTotalDose)
        let noWeight = makeDataset(replacing(Tags.patientWeight, with: nil, in: slice()))
        #expect(
            suvErrorMessage { _ = try SUVCalculator.compute(slices: [good, noWeight], kind: "bw") }?
                .contains("absent in slice 1") == true)
        let otherUnits = makeDataset(slice(units: "CNTS"))
        #expect(suvErrorTag { _ = try SUVCalculator.compute(slices: [good, otherUnits], kind: "bw") } == Tags.units)
    }

    @Test func missingWeightNamesTheTag() {
        let nodes = slice().filter { $0.tag != Tags.patientWeight }
        let ds = makeDataset(nodes)
        do {
            _ = try SUVCalculator.compute(slices: [ds], kind: "bw")
            Issue.record("no error")
        } catch {
            #expect(error.kind == .suv)
            #expect(error.tag == 0x0010_1030)
            #expect(error.message.contains("missing PatientWeight (0010,1030)"))
        }
    }

    @Test func nonFiniteOrNonPositiveWeightIsInvalidNotMissing() {
        for text in ["inf", "NaN", "-70", "0"] {
            let nodes = slice().filter { $0.tag != Tags.patientWeight } + [.text(Tags.patientWeight, text)]
            let message = suvErrorMessage { _ = try SUVCalculator.compute(slices: [makeDataset(nodes)], kind: "bw") }
            #expect(message?.contains("invalid PatientWeight (0010,1030)") == true, "\(text): \(message ?? "no error")")
        }
    }

    @Test func unparseableValuesAreNoted() {
        let nodes = slice().filter { $0.tag != Tags.patientWeight } + [.text(Tags.patientWeight, "seventy")]
        let i = SUVInputs(slices: [makeDataset(nodes)])
        #expect(i.weightKg == nil)
        #expect(i.notes.contains { $0.contains("PatientWeight (0010,1030) 'seventy'") })
    }

    @Test func binaryNumbersAreRead() {
        let nodes = slice().filter { $0.tag != Tags.patientWeight } + [.number(Tags.patientWeight, 81.5)]
        #expect(SUVInputs(slices: [makeDataset(nodes)]).weightKg == 81.5)
    }

    @Test func philipsFactorWithItsCreatorInAnotherBlock() throws {
        // Block 0x10 belongs to someone else; the Philips group is reserved at block 0x11.
        let extra: [Node] = [
            .text(0x7053_0010, "OTHER VENDOR"),
            .text(0x7053_0011, "Philips PET Private Group"),
            .text(0x7053_1000, "999"),
            .text(0x7053_1100, "0.0005"),
            .text(0x7053_1109, "2.0"),
        ]
        let ds = makeDataset(slice(units: "CNTS", extra: extra))
        let i = SUVInputs(slices: [ds])
        #expect(i.philipsSUVFactors == [0.0005])
        #expect(i.philipsActivityFactors == [2.0])
        #expect(i.notes.isEmpty)
        let r = try SUVCalculator.compute(slices: [ds], kind: "bw")
        #expect(r.factors == [0.0005])
    }

    @Test func philipsFactorWithoutAnyCreatorIsAssumed() throws {
        // The DRO_2_4 layout: (7053,1000) without (7053,0010).
        let ds = makeDataset(slice(units: "CNTS", extra: [.text(0x7053_1000, "0.0005")]))
        let r = try SUVCalculator.compute(slices: [ds], kind: "bw")
        #expect(r.factors == [0.0005])
        #expect(SUVInputs(slices: [ds]).philipsCreatorAssumed)
        #expect(r.info.notes.contains { $0.contains("(7053,10xx) assumed to be Philips'") })
        #expect(abs(2000 * r.factors[0] - 1) < 1e-12)  // DRO_2_4 median 2000 counts -> SUVbw 1
    }

    @Test func philipsFactorOfAnotherCreatorIsNotUsed() {
        let ds = makeDataset(slice(units: "CNTS", extra: [.text(0x7053_0010, "OTHER"), .text(0x7053_1000, "0.0005")]))
        #expect(SUVInputs(slices: [ds]).philipsSUVFactors == [nil])
        #expect(
            suvErrorTag { _ = try SUVCalculator.compute(slices: [ds], kind: "bw") }
                == PrivateTag.philipsSUVScaleFactor.tag)
    }

    @Test func gePrivateScanDateTimeAsRawBytes() throws {
        // Implicit VR: the private value stays bytes. Series time 11:30 is after the acquisition at 11:00.
        var nodes = slice(extra: [
            .text(0x0009_0010, "GEMS_PETD_01"), .raw(0x0009_100D, Array("20250101105500.00 ".utf8)),
        ])
        nodes = nodes.filter { $0.tag != Tags.seriesTime } + [.text(Tags.seriesTime, "113000")]
        let ds = makeDataset(nodes)
        #expect(SUVInputs(slices: [ds]).geScanDateTime == at(10, 55))
        let r = try SUVCalculator.compute(slices: [ds], kind: "bw")
        #expect(close(r.factors[0], 70_000 / (368.08e6 * pow(2, -55 * 60 / 6586.2))))
        #expect(r.info.scanStart.map(DicomDateTime.format) == "2025-01-01T10:55:00")
        #expect(!r.info.notes.contains { $0.contains("assumed to be GE") })  // its creator was there
    }

    @Test func gePrivateWithoutCreatorIsNotedOnlyWhenUsed() throws {
        // The DRO_3_3 layout: (0009,100D) without (0009,0010); series time not after the acquisition.
        let ds = makeDataset(slice(acquisitionTime: "113000", extra: [.text(0x0009_100D, "20250101110000.000000")]))
        #expect(SUVInputs(slices: [ds]).geCreatorAssumed)
        let r = try SUVCalculator.compute(slices: [ds], kind: "bw")
        #expect(r.info.scanStart.map(DicomDateTime.format) == "2025-01-01T11:00:00")
        #expect(!r.info.notes.contains { $0.contains("GEMS_PETD_01") })
    }

    @Test func acquisitionDateTimeAndTimezones() {
        // Injection stamped in UTC (+0000), the scanner's clock is at +0100.
        let rp: [Node] = [
            .text(Tags.radiopharmaceuticalStartDateTime, "20250101090000+0000"),
            .text(Tags.radionuclideTotalDose, "3.7E8"),
            .text(Tags.radionuclideHalfLife, "6586.2"),
        ]
        let nodes = slice(
            extra: [
                .text(Tags.acquisitionDateTime, "20250101110500.5"),
                .text(Tags.timezoneOffsetFromUTC, "+0100"),
            ], radiopharmaceutical: rp)
        let i = SUVInputs(slices: [makeDataset(nodes)])
        #expect(i.injectionDateTime == at(10))  // 09:00 UTC is 10:00 local
        #expect(i.acquisitionTimes == [at(11, 5, 0.5)])  // DT preferred over date + time
        #expect(i.dose == 3.7e8)
    }

    @Test func startDateTimeWithoutTimeIsIgnored() {
        let rp: [Node] = [
            .text(Tags.radiopharmaceuticalStartDateTime, "20250101"),
            .text(Tags.radiopharmaceuticalStartTime, "10:00:00"),
        ]
        let i = SUVInputs(slices: [makeDataset(slice(radiopharmaceutical: rp))])
        #expect(i.injectionDateTime == nil)
        #expect(i.injectionTimeOfDay == hms(10))
        #expect(i.notes.contains { $0.contains("(0018,1078)") })
    }

    @Test func perSliceValuesComeFromEachSlice() {
        let a = makeDataset(slice(acquisitionTime: "110000"))
        let b = makeDataset(slice(acquisitionTime: "110500", extra: [.text(0x7053_1000, "0.7")]))
        let i = SUVInputs(slices: [a, b])
        #expect(i.acquisitionTimes == [at(11), at(11, 5)])
        #expect(i.philipsSUVFactors == [nil, 0.7])
    }

    @Test func missingAcquisitionDateUsesSeriesDate() {
        let nodes = slice().filter { $0.tag != Tags.acquisitionDate }
        let i = SUVInputs(slices: [makeDataset(nodes)])
        #expect(i.acquisitionTimes == [at(11)])
        #expect(i.notes.contains { $0.contains("AcquisitionDate (0008,0022) missing") })
    }

    @Test func describeNamesTagsFromTheDataDictionary() {
        #expect(describeTag(Tags.radionuclideTotalDose) == "RadionuclideTotalDose (0018,1074)")
        #expect(describeTag(Tags.suvType) == "SUVType (0054,1006)")
        // a tag the SUV code never had its own name for: still named by the dictionary
        #expect(describeTag(Tags.timezoneOffsetFromUTC) == "TimezoneOffsetFromUTC (0008,0201)")
        #expect(
            describeTag(PrivateTag.philipsSUVScaleFactor.tag)
                == "Philips PET Private Group SUV Scale Factor (7053,1000)")
        #expect(PrivateTag.all.map(\.tag) == [0x7053_1000, 0x7053_1009, 0x0009_100D])
        // The series-level elements are named in messages by their dictionary keywords.
        #expect(
            SUVInputs.seriesLevel.map { describeTag($0.tag).split(separator: " ")[0] } == [
                "Units", "DecayCorrection", "SUVType", "PatientWeight", "PatientSize", "PatientSex", "SeriesDate",
                "SeriesTime", "RadionuclideTotalDose", "RadionuclideHalfLife", "RadiopharmaceuticalStartTime",
                "RadiopharmaceuticalStartDateTime",
            ])
        #expect(
            PrivateTag.all.map(\.creator) == ["Philips PET Private Group", "Philips PET Private Group", "GEMS_PETD_01"])
        #expect(describeTag(0x0009_0010) == "tag (0009,0010)")
    }
}
