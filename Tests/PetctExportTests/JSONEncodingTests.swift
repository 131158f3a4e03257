// The JSON documents of the C ABI, encoded from typed results (the fields are described in petct.h).
import Testing

@testable import PetctExport
@testable import PetctMasks
@testable import PetctSUV
@testable import PetctSeries

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

@Test func scanDocumentKeysOrderAndEscaping() {
    #expect(JSONEncoding.scan(ScanResult(series: [], skipped: [])) == "{\"series\":[],\"skipped\":[]}")
    var e = ScanEntry(path: "/d/ct0.dcm")
    e.study = "1.2.3"
    e.series = "1.5"
    e.description = "CT \"body\""
    e.seriesNumber = 3
    e.imageType = ["ORIGINAL", "PRIMARY"]
    e.rows = 2
    e.columns = 3
    e.orientation = [1, 0, 0, 0, 1, 0]
    e.correctedImage = ["DECY", "ATTN"]
    e.units = "BQML"
    e.patientID = "P1"
    var sr = ScanEntry(path: "/d/sr.dcm")
    sr.series = "sr.1"
    var nonImage = ScanSeries(entries: [sr])
    nonImage.ignore = true
    nonImage.reason = "not an image (no Rows/Columns)"
    let j = JSONEncoding.scan(
        ScanResult(
            series: [ScanSeries(entries: [e]), nonImage], skipped: [ScanSkip(path: "/d/notes.txt", reason: "r")]))
    #expect(
        j.hasPrefix("{\"series\":[{\"study_uid\":\"1.2.3\",\"series_uid\":\"1.5\",\"frame_of_reference_uid\":null,"))
    #expect(j.contains("\"description\":\"CT \\\"body\\\"\""))
    let main: [String] = [
        "\"series_number\":3,\"image_type\":[\"ORIGINAL\",\"PRIMARY\"],\"rows\":2,\"columns\":3,",
        "\"orientation\":[1.0,0.0,0.0,0.0,1.0,0.0],\"slice_count\":1,\"files\":[\"/d/ct0.dcm\"],",
        "\"localizer\":false,\"ignore\":false,\"reason\":null,\"part\":0,",
        "\"corrected_image\":[\"DECY\",\"ATTN\"],\"units\":\"BQML\",\"number_of_frames\":1,",
        "\"patient_id\":\"P1\",\"patient_name\":\"\"",
    ]
    #expect(j.contains(main.joined()))
    let nonImagePart: [String] = [
        "\"rows\":0,\"columns\":0,\"orientation\":null,\"slice_count\":1,\"files\":[\"/d/sr.dcm\"],",
        "\"localizer\":false,\"ignore\":true,\"reason\":\"not an image (no Rows/Columns)\"",
    ]
    #expect(j.contains(nonImagePart.joined()))
    #expect(j.contains("\"duplicate_files\":[],\"frame_kind\":null,\"time_frames\":null}"))
    #expect(j.hasSuffix("],\"skipped\":[{\"path\":\"/d/notes.txt\",\"reason\":\"r\"}]}"))
}

@Test func volumeDocumentKeysOrderAndOptionalParts() {
    var v = VolumeInfo(
        shape: [2, 1, 1], origin: [0, 0, 0], spacing: [2, 1, 1], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1],
        affine: [Double](repeating: 0, count: 16), sliceOffsets: [0, 2], slicePositions: [[0, 0, 0], [0, 0, 2]],
        uniform: true, warnings: [], files: ["a", "b"])
    v.rescale = [[1, -1000], [2, 0]]
    v.instanceNumbers = [1, nil]
    v.acquisitionTimes = ["", "t"]
    let j = JSONEncoding.volume(v)
    #expect(j.hasPrefix("{\"shape\":[2,1,1],\"origin\":[0.0,0.0,0.0],\"spacing\":[2.0,1.0,1.0],"))
    #expect(j.contains("\"slice_positions\":[[0.0,0.0,0.0],[0.0,0.0,2.0]],\"uniform\":true,\"warnings\":[]"))
    #expect(j.contains("\"files\":[\"a\",\"b\"],\"modality\":\"\""))  // no "frames" key
    #expect(j.contains("\"series_number\":null,"))
    #expect(j.contains("\"rescale\":[[1.0,-1000.0],[2.0,0.0]],\"instance_numbers\":[1,null]"))
    #expect(j.hasSuffix("\"acquisition_times\":[\"\",\"t\"],\"units\":null}"))
    v.frames = [0, 1]
    v.timeFrames = VolumeInfo.TimeFrames(
        kind: "gated", groupedBy: "g",
        frames: [
            VolumeInfo.Frame(
                index: 0, start: nil, durationMs: nil, frameReferenceMs: nil, decayFactor: nil, triggerMs: 0,
                gate: 1, imageIndexFrame: nil, temporalPositionIndex: nil, firstFile: "a")
        ])
    let j4 = JSONEncoding.volume(v)
    #expect(j4.contains("\"files\":[\"a\",\"b\"],\"frames\":[0,1],\"modality\""))
    #expect(
        j4.hasSuffix(
            "\"time_frames\":{\"kind\":\"gated\",\"grouped_by\":\"g\",\"frames\":[{\"index\":0,\"start\":null,"
                + "\"duration_ms\":null,\"frame_reference_time_ms\":null,\"decay_factor\":null,"
                + "\"trigger_time_ms\":0.0,\"gate\":1,\"image_index_frame\":null,\"temporal_position_index\":null,"
                + "\"first_file\":\"a\"}]}}"))
}

@Test func masksDocumentKeysOrder() {
    #expect(JSONEncoding.masks([]) == "{\"objects\":[]}")
    var o = MaskObjectInfo(path: "/s.dcm", modality: "RTSTRUCT", sopInstanceUID: "1.9", seriesUID: nil)
    o.segments = [MaskSegmentInfo(number: 3, name: "GTV \"a\"", object: 0, planes: 2)]
    o.referencedSeries = ["1.5"]
    #expect(
        JSONEncoding.masks([o])
            == "{\"objects\":[{\"path\":\"/s.dcm\",\"modality\":\"RTSTRUCT\",\"sop_instance_uid\":\"1.9\","
            + "\"series_uid\":null,\"segmentation_type\":null,\"segments\":[{\"number\":3,\"name\":\"GTV \\\"a\\\"\","
            + "\"object\":0,\"planes\":2}],\"referenced_series\":[\"1.5\"],\"referenced_instances\":[],"
            + "\"frame_of_reference_uids\":[]}]}")
}
