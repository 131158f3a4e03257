import DicomBytes
import DicomParser

/// SUV normalisation of a PET series. See petct_volume_suv in petct.h.
public enum SUVCalculator {
    /// - Parameters:
    ///   - slices: headers of the series' slices in volume order.
    ///   - kind: "bw", "lbm", "lbm-janma", "bsa" or "ibw".
    /// - Returns: one factor per slice (suv = value * factor) and a JSON report of the path taken.
    public static func compute(slices: [Dataset], kind: String) throws(DicomError) -> (factors: [Double], infoJSON: String) {
        throw DicomError(.internalError, "not implemented")
    }
}
