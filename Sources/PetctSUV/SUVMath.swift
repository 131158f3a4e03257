import Glibc

/// The SUV normalisations a caller can ask for.
public enum SUVKind: String, Sendable, CaseIterable {
    case bw = "bw"
    case lbm = "lbm"  // James (1976)
    case lbmJanma = "lbm-janma"  // Janmahasatian et al. (2005)
    case bsa = "bsa"  // DuBois & DuBois (1916)
    case ibw = "ibw"  // ideal body weight, Devine (1974)

    /// Dimension of the normaliser: grams for weight-like kinds (SUV in g/ml), cm² for BSA (cm²/ml).
    public var unitName: String { self == .bsa ? "cm2" : "g" }

    /// The kind named by SUV Type (0054,1006), nil when not recognised.
    public init?(suvType: String) {
        let t = String(suvType.uppercased().filter { $0 != " " && $0 != "_" && $0 != "-" })
        switch t {
        case "BW": self = .bw
        case "LBM", "LBMJAMES", "LBMJAMES128": self = .lbm
        case "LBMJANMA", "LBMJANMAHASATIAN": self = .lbmJanma
        case "BSA": self = .bsa
        case "IBW": self = .ibw
        default: return nil
        }
    }
}

public enum PatientSex: String, Sendable {
    case male = "M"
    case female = "F"
    case unknown = "O"

    /// Patient's Sex (0010,0040): "M", "F"; anything else (O, empty, missing) is unknown.
    public init(dicom: String?) {
        switch dicom.map({ $0.uppercased().filter { $0 != " " } }) {
        case "M": self = .male
        case "F": self = .female
        default: self = .unknown
        }
    }
}

/// Pure formulas of the SUV computation (no DICOM).
public enum SUVMath {
    /// λ = ln 2 / T½ (1/s).
    public static func decayConstant(halfLife: Double) -> Double { log(2.0) / halfLife }

    /// Fraction of the activity left after `elapsed` seconds: e^(−λ·t).
    public static func decayFactor(elapsed: Double, halfLife: Double) -> Double {
        exp(-decayConstant(halfLife: halfLife) * elapsed)
    }

    /// λΔ / (1 − e^(−λΔ)): turns the mean activity over a frame of `duration` seconds into the
    /// activity at the frame start. 1 when the duration is zero (the limit).
    public static func frameDecayCorrection(duration: Double, halfLife: Double) -> Double {
        let x = decayConstant(halfLife: halfLife) * duration
        guard x > 1e-12 else { return 1 }
        return x / -expm1(-x)
    }

    /// QIBA: the scan start back-computed from a frame's acquisition time (s), its Frame Reference
    /// Time (s after scan start at which the frame's activity equals its mean) and duration (s):
    /// start = acquisition − reference + (1/λ)·ln(λΔ/(1 − e^(−λΔ))).
    public static func scanStartFromFrameReference(
        acquisition: Double, frameReference: Double,
        duration: Double, halfLife: Double
    ) -> Double {
        let lambda = decayConstant(halfLife: halfLife)
        let offsetInFrame = log(frameDecayCorrection(duration: duration, halfLife: halfLife)) / lambda
        return acquisition - frameReference + offsetInFrame
    }

    // MARK: body-size formulas (W kg, H cm)

    /// James lean body mass (kg).
    public static func lbmJames(weightKg w: Double, heightCm h: Double, sex: PatientSex) -> Double {
        let male = 1.10 * w - 128.0 * (w / h) * (w / h)
        let female = 1.07 * w - 148.0 * (w / h) * (w / h)
        return bySex(sex, male: male, female: female)
    }

    /// Body mass index (kg/m²).
    public static func bmi(weightKg w: Double, heightCm h: Double) -> Double {
        let m = h / 100
        return w / (m * m)
    }

    /// Janmahasatian lean body mass (kg).
    public static func lbmJanmahasatian(weightKg w: Double, heightCm h: Double, sex: PatientSex) -> Double {
        let b = bmi(weightKg: w, heightCm: h)
        let male = 9270.0 * w / (6680.0 + 216.0 * b)
        let female = 9270.0 * w / (8780.0 + 244.0 * b)
        return bySex(sex, male: male, female: female)
    }

    /// DuBois body surface area (m²).
    public static func bsaDuBois(weightKg w: Double, heightCm h: Double) -> Double {
        0.007184 * pow(w, 0.425) * pow(h, 0.725)
    }

    /// Centimetres per inch.
    public static let cmPerInch = 2.54

    /// Ideal body weight (kg), Devine BJ, "Gentamicin therapy", Drug Intell Clin Pharm 1974;8:650-655:
    /// men 50 kg, women 45.5 kg, plus 2.3 kg per inch of height over 5 feet (60 in); never above the
    /// actual weight. Sex unknown ("O", empty, missing): the mean of both, as for the other sex-dependent
    /// formulas.
    public static func idealBodyWeight(weightKg w: Double, heightCm h: Double, sex: PatientSex) -> Double {
        let inchesOver5ft = h / cmPerInch - 60
        let male = min(50.0 + 2.3 * inchesOver5ft, w)
        let female = min(45.5 + 2.3 * inchesOver5ft, w)
        return bySex(sex, male: male, female: female)
    }

    /// The per-sex value, or the mean of both when the sex is unknown.
    static func bySex(_ sex: PatientSex, male: Double, female: Double) -> Double {
        switch sex {
        case .male: return male
        case .female: return female
        case .unknown: return (male + female) / 2
        }
    }

    /// Whether `kind`'s formula depends on the patient's sex.
    public static func needsSex(_ kind: SUVKind) -> Bool {
        kind == .lbm || kind == .lbmJanma || kind == .ibw
    }

    /// Whether `kind`'s formula needs the height.
    public static func needsHeight(_ kind: SUVKind) -> Bool { kind != .bw }

    /// The normaliser X of `kind` in grams (cm² for BSA): SUV = concentration(Bq/ml) · X / dose(Bq).
    public static func normaliser(_ kind: SUVKind, weightKg w: Double, heightCm h: Double, sex: PatientSex) -> Double {
        switch kind {
        case .bw: return w * 1000
        case .lbm: return lbmJames(weightKg: w, heightCm: h, sex: sex) * 1000
        case .lbmJanma: return lbmJanmahasatian(weightKg: w, heightCm: h, sex: sex) * 1000
        case .bsa: return bsaDuBois(weightKg: w, heightCm: h) * 10_000
        case .ibw: return idealBodyWeight(weightKg: w, heightCm: h, sex: sex) * 1000
        }
    }

    /// Human-readable formula of the normaliser, for the report.
    public static func normaliserFormula(_ kind: SUVKind, sex: PatientSex) -> String {
        let either: (String, String) -> String = { m, f in
            switch sex {
            case .male: return m
            case .female: return f
            case .unknown: return "mean of male (" + m + ") and female (" + f + ")"
            }
        }
        switch kind {
        case .bw: return "W[kg]*1000"
        case .lbm: return either("1.10*W - 128*(W/H)^2", "1.07*W - 148*(W/H)^2") + " [kg]*1000"
        case .lbmJanma:
            return either("9270*W/(6680+216*BMI)", "9270*W/(8780+244*BMI)") + " [kg]*1000, BMI = W/(H/100)^2"
        case .bsa: return "0.007184*W^0.425*H^0.725 [m2]*10000"
        case .ibw:
            return either("min(50+2.3*(H/2.54-60), W)", "min(45.5+2.3*(H/2.54-60), W)")
                + " [kg]*1000 (Devine 1974, H/2.54-60 = inches over 5 ft)"
        }
    }
}
