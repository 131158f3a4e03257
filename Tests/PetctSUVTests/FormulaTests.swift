import Glibc
import Testing

@testable import PetctSUV

/// The body-size formulas and decay helpers, for W = 70 kg, H = 175 cm.
@Suite struct FormulaTests {
    let w = 70.0, h = 175.0

    @Test func bodyWeightInGrams() {
        #expect(SUVMath.normaliser(.bw, weightKg: w, heightCm: h, sex: .unknown) == 70_000)
        // bw needs neither height nor sex.
        #expect(SUVMath.normaliser(.bw, weightKg: w, heightCm: .nan, sex: .female) == 70_000)
    }

    @Test func leanBodyMassJames() {
        // W/H = 70/175 = 0.4, (W/H)^2 = 0.16
        let male = 1.10 * 70 - 128 * 0.16  // 77 - 20.48 = 56.52 kg
        let female = 1.07 * 70 - 148 * 0.16  // 74.9 - 23.68 = 51.22 kg
        #expect(close(SUVMath.lbmJames(weightKg: w, heightCm: h, sex: .male), male))
        #expect(close(SUVMath.lbmJames(weightKg: w, heightCm: h, sex: .female), female))
        #expect(close(SUVMath.lbmJames(weightKg: w, heightCm: h, sex: .unknown), (male + female) / 2))
        #expect(close(SUVMath.normaliser(.lbm, weightKg: w, heightCm: h, sex: .male), 56_520))
    }

    @Test func leanBodyMassJanmahasatian() {
        let bmi = 70 / (1.75 * 1.75)  // 22.857 kg/m2
        #expect(close(SUVMath.bmi(weightKg: w, heightCm: h), bmi))
        let male = 9270 * 70 / (6680 + 216 * bmi)
        let female = 9270 * 70 / (8780 + 244 * bmi)
        #expect(close(SUVMath.lbmJanmahasatian(weightKg: w, heightCm: h, sex: .male), male))
        #expect(close(SUVMath.lbmJanmahasatian(weightKg: w, heightCm: h, sex: .female), female))
        #expect(close(SUVMath.lbmJanmahasatian(weightKg: w, heightCm: h, sex: .unknown), (male + female) / 2))
        // 648900 / (6680 + 4937.1) = 55.86 kg: a plausible lean mass for a 70 kg man.
        #expect(abs(male - 55.86) < 0.01)
        #expect(close(SUVMath.normaliser(.lbmJanma, weightKg: w, heightCm: h, sex: .female), female * 1000))
    }

    @Test func bodySurfaceAreaDuBois() {
        let bsa = 0.007184 * pow(70, 0.425) * pow(175, 0.725)
        #expect(close(SUVMath.bsaDuBois(weightKg: w, heightCm: h), bsa))
        // The DuBois nomogram gives about 1.85 m2 for 70 kg / 175 cm.
        #expect(abs(bsa - 1.848) < 0.001)
        #expect(close(SUVMath.normaliser(.bsa, weightKg: w, heightCm: h, sex: .male), bsa * 10_000))
    }

    @Test func idealBodyWeightIsDevine1974() {
        // Published values (Devine 1974: men 50 kg, women 45.5 kg, + 2.3 kg per inch over 5 ft):
        // a 6 ft (182.88 cm) man 77.6 kg; a 5 ft 4 in (162.56 cm) woman 54.7 kg; 5 ft: 50 / 45.5 kg.
        #expect(close(SUVMath.idealBodyWeight(weightKg: 100, heightCm: 182.88, sex: .male), 77.6))
        #expect(close(SUVMath.idealBodyWeight(weightKg: 100, heightCm: 162.56, sex: .female), 54.7))
        #expect(close(SUVMath.idealBodyWeight(weightKg: 100, heightCm: 152.4, sex: .male), 50))
        #expect(close(SUVMath.idealBodyWeight(weightKg: 100, heightCm: 152.4, sex: .female), 45.5))
        // Sex unknown ("O"): the mean of both, as for James and Janmahasatian.
        #expect(close(SUVMath.idealBodyWeight(weightKg: 100, heightCm: 182.88, sex: .unknown), (77.6 + 73.1) / 2))
        #expect(PatientSex(dicom: "O") == .unknown)
        // Never above the actual weight: a 70 kg, 6 ft man -> 70 kg.
        #expect(SUVMath.idealBodyWeight(weightKg: 70, heightCm: 182.88, sex: .male) == 70)
        #expect(close(SUVMath.normaliser(.ibw, weightKg: 100, heightCm: 182.88, sex: .male), 77_600))
        #expect(SUVMath.normaliserFormula(.ibw, sex: .male).contains("Devine 1974"))
    }

    @Test func decayHelpers() {
        // One half-life leaves half.
        #expect(close(SUVMath.decayFactor(elapsed: F18.halfLife, halfLife: F18.halfLife), 0.5))
        #expect(close(SUVMath.decayFactor(elapsed: 3600, halfLife: F18.halfLife), pow(2, -3600 / F18.halfLife)))
        // A frame one half-life long: L*D = ln 2, 1 - e^(-ln 2) = 1/2 -> 2 ln 2.
        #expect(close(SUVMath.frameDecayCorrection(duration: F18.halfLife, halfLife: F18.halfLife), 2 * log(2.0)))
        #expect(SUVMath.frameDecayCorrection(duration: 0, halfLife: F18.halfLife) == 1)
        // Short frames tend to 1 + L*D/2.
        let x = log(2.0) / F18.halfLife * 1
        #expect(abs(SUVMath.frameDecayCorrection(duration: 1, halfLife: F18.halfLife) - (1 + x / 2)) < 1e-9)
    }

    @Test func scanStartFromFrameReference() {
        // Frame of one half-life: the reference point lies ln(2 ln 2)/L after the frame start.
        let lambda = log(2.0) / F18.halfLife
        let inFrame = log(2 * log(2.0)) / lambda
        let start = SUVMath.scanStartFromFrameReference(
            acquisition: 1000, frameReference: 700,
            duration: F18.halfLife, halfLife: F18.halfLife)
        #expect(close(start, 1000 - 700 + inFrame))
        // For a 300 s F-18 frame the reference point is just before mid-frame (< 150 s).
        let s2 = SUVMath.scanStartFromFrameReference(
            acquisition: 0, frameReference: 150, duration: 300, halfLife: F18.halfLife)
        #expect(s2 < 0 && s2 > -1)
    }

    @Test func suvTypeNames() {
        #expect(SUVKind(suvType: "BW") == .bw)
        #expect(SUVKind(suvType: "LBM") == .lbm)
        #expect(SUVKind(suvType: "LBMJAMES128") == .lbm)
        #expect(SUVKind(suvType: "lbm_janma") == .lbmJanma)
        #expect(SUVKind(suvType: "BSA") == .bsa)
        #expect(SUVKind(suvType: "IBW") == .ibw)
        #expect(SUVKind(suvType: "XYZ") == nil)
        #expect(PatientSex(dicom: "M ") == .male)
        #expect(PatientSex(dicom: "F") == .female)
        #expect(PatientSex(dicom: "O") == .unknown)
        #expect(PatientSex(dicom: nil) == .unknown)
    }
}
