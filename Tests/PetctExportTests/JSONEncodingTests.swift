// The JSON documents of the C ABI, encoded from typed results (the fields are described in petct.h).
import Testing

@testable import PetctExport
@testable import PetctSUV

@Test func suvReportHasEveryDocumentedKeyInOrder() {
    var info = SUVInfo()
    info.kind = "lbm"
    info.units = "BQML"
    info.sex = "O"
    info.scanStart = 7200
    info.injectionTime = 3600
    info.dayRollover = true
    let j = JSONEncoding.suvReport(info)
    for key in [
        "kind", "units", "suv_type", "decay_correction", "scan_start", "scan_start_source", "injection_time",
        "injection_time_source", "dose_bq", "dose_note", "half_life_s", "weight_kg", "height_cm", "sex",
        "sex_note", "normaliser", "normaliser_value", "decay_factor", "formula", "per_slice", "factor",
        "vendor_factor", "notes", "elapsed_s", "day_rollover",
    ] {
        #expect(j.contains("\"\(key)\":"), "\(key)")
    }
    #expect(j.hasPrefix("{\"kind\":\"lbm\",\"units\":\"BQML\""))
    #expect(j.contains("\"elapsed_s\":3600.0,\"day_rollover\":true}"))
    #expect(!j.contains("\"frames\""))
    info.frames = [FrameSUV(frame: 0, decayCorrection: "NONE", path: "NONE", start: nil, factor: 2)]
    #expect(JSONEncoding.suvReport(info).contains("\"frames\":[{\"frame\":0,\"path\":\"NONE\","))
}
