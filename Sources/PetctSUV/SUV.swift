import DicomBytes
import DicomParser

/// SUV normalisation of a PET series. See petct_volume_suv in petct.h.
///
/// Two layers: `SUVInputs(slices:)` extracts what is needed from the headers, and
/// `SUVComputation.compute` is a pure function of those inputs (QIBA vendor-neutral method plus
/// vendor quirks); see SUVComputation.swift for the decision rules.
public enum SUVCalculator {
    /// - Parameters:
    ///   - slices: headers of the series' slices in volume order.
    ///   - kind: the raw value of an `SUVKind`.
    /// - Returns: one factor per slice (suv = value * factor, value rescaled with the slice's own
    ///   RescaleSlope/Intercept) and the report of the path taken.
    public static func compute(
        slices: [Dataset], kind: String, timeFrames: Int = 1,
        frameStarts: [String?]? = nil,
        frameDurationsMs: [Double?]? = nil
    ) throws(DicomError) -> (factors: [Double], info: SUVInfo) {
        guard let k = SUVKind(rawValue: kind) else {
            throw DicomError(
                .argument,
                "SUV kind '\(kind)' is not one of "
                    + SUVKind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard !slices.isEmpty else { throw DicomError(.suv, "SUV: the series has no slices") }
        var inputs = SUVInputs(slices: slices)
        inputs.timeFrames = max(1, timeFrames)
        if let frameStarts {
            inputs.applyFrameTimes(
                starts: frameStarts, durationsMs: frameDurationsMs ?? [],
                timezoneOffset: slices[0].string(Tags.timezoneOffsetFromUTC))
        }
        let r = try SUVComputation.compute(inputs, kind: k)
        return (r.factors, r.info)
    }
}
