import DicomBytes
import PetctMasks
import PetctSUV
import PetctSeries

/// Every JSON document of the C ABI is encoded here, from the typed results of the domain layers.
/// The documents are described field by field in CPetct/include/petct.h.
enum JSONEncoding {
    /// The SUV report (petct_volume_suv).
    static func suvReport(_ info: SUVInfo) -> String {
        JSONWriter.document { w in
            w.value(info.kind, "kind")
            w.value(info.units, "units")
            w.value(info.suvType, "suv_type")
            w.value(info.decayCorrection, "decay_correction")
            w.value(info.scanStart.map(DicomDateTime.format), "scan_start")
            w.value(info.scanStartSource, "scan_start_source")
            w.value(info.injectionTime.map(DicomDateTime.format), "injection_time")
            w.value(info.injectionTimeSource, "injection_time_source")
            w.value(info.doseBq, "dose_bq")
            w.value(info.doseNote, "dose_note")
            w.value(info.halfLife, "half_life_s")
            w.value(info.weightKg, "weight_kg")
            w.value(info.heightCm, "height_cm")
            w.value(info.sex, "sex")
            w.value(info.sexNote, "sex_note")
            w.value(info.normaliser, "normaliser")
            w.value(info.normaliserValue, "normaliser_value")
            w.value(info.decayFactor, "decay_factor")
            w.value(info.formula, "formula")
            w.value(info.perSlice, "per_slice")
            w.value(info.factor, "factor")
            w.value(info.vendorFactor, "vendor_factor")
            w.values(info.notes, "notes")
            if let s = info.scanStart, let i = info.injectionTime { w.value(s - i, "elapsed_s") }
            w.value(info.dayRollover, "day_rollover")
            if !info.frames.isEmpty {
                w.objects("frames", info.frames) { w, f in
                    w.value(f.frame, "frame")
                    w.value(f.path, "path")
                    w.value(f.decayCorrection, "decay_correction")
                    w.value(f.start.map(DicomDateTime.format), "start")
                    w.value(f.decayFactor, "decay_factor")
                    w.value(f.inFrameCorrection, "in_frame_correction")
                    w.value(f.factor, "factor")
                }
            }
        }
    }

    /// The scan document (petct_scan_json).
    static func scan(_ result: ScanResult) -> String {
        JSONWriter.document { w in
            w.objects("series", result.series) { w, s in
                let f = s.first
                w.value(f.study, "study_uid")
                w.value(f.series, "series_uid")
                w.value(f.frameOfReference, "frame_of_reference_uid")
                w.value(f.modality, "modality")
                w.value(f.description, "description")
                w.value(f.seriesNumber, "series_number")
                w.values(f.imageType, "image_type")
                w.value(f.rows, "rows")
                w.value(f.columns, "columns")
                if let o = f.orientation { w.values(o, "orientation") } else { w.value(nil as String?, "orientation") }
                w.value(s.sliceCount, "slice_count")
                w.values(s.entries.map { $0.path }, "files")
                w.value(s.localizer, "localizer")
                w.value(s.ignore, "ignore")
                w.value(s.reason, "reason")
                w.value(s.part, "part")
                w.values(f.correctedImage, "corrected_image")
                w.value(f.units, "units")
                w.value(f.frames, "number_of_frames")
                w.value(f.patientID, "patient_id")
                w.value(f.patientName, "patient_name")
                w.value(f.seriesDate, "series_date")
                w.value(f.seriesTime, "series_time")
                w.value(f.studyDate, "study_date")
                w.value(f.studyDescription, "study_description")
                w.values(s.duplicates, "duplicate_files")
                w.value(s.frameKind, "frame_kind")
                w.value(s.frameKind == nil ? nil : s.presentFrames, "time_frames")
            }
            w.objects("skipped", result.skipped) { w, k in
                w.value(k.path, "path")
                w.value(k.reason, "reason")
            }
        }
    }

    /// The volume document (petct_volume_json).
    static func volume(_ v: VolumeInfo) -> String {
        JSONWriter.document { w in
            w.values(v.shape, "shape")
            w.values(v.origin, "origin")
            w.values(v.spacing, "spacing")
            w.values(v.direction, "direction")
            w.values(v.affine, "affine")
            w.values(v.sliceOffsets, "slice_offsets")
            w.array("slice_positions", v.slicePositions) { w, p in w.values(p) }
            w.value(v.uniform, "uniform")
            w.values(v.warnings, "warnings")
            w.values(v.files, "files")
            if let frames = v.frames { w.values(frames, "frames") }
            w.value(v.modality, "modality")
            w.value(v.seriesUID, "series_uid")
            w.value(v.seriesNumber, "series_number")
            w.value(v.seriesDescription, "series_description")
            w.value(v.studyUID, "study_uid")
            w.value(v.frameOfReferenceUID, "frame_of_reference_uid")
            w.array("rescale", v.rescale) { w, r in w.values(r) }
            w.array("instance_numbers", v.instanceNumbers) { w, n in w.value(n) }
            w.values(v.acquisitionTimes, "acquisition_times")
            w.value(v.units, "units")
            if let tf = v.timeFrames {
                w.object("time_frames") { w in
                    w.value(tf.kind, "kind")
                    w.value(tf.groupedBy, "grouped_by")
                    w.objects("frames", tf.frames) { w, f in
                        w.value(f.index, "index")
                        w.value(f.start, "start")
                        w.value(f.durationMs, "duration_ms")
                        w.value(f.frameReferenceMs, "frame_reference_time_ms")
                        w.value(f.decayFactor, "decay_factor")
                        w.value(f.triggerMs, "trigger_time_ms")
                        w.value(f.gate, "gate")
                        w.value(f.imageIndexFrame, "image_index_frame")
                        w.value(f.temporalPositionIndex, "temporal_position_index")
                        w.value(f.firstFile, "first_file")
                    }
                }
            }
        }
    }

    /// The masks document (petct_masks_json).
    static func masks(_ infos: [MaskObjectInfo]) -> String {
        JSONWriter.document { w in
            w.objects("objects", infos) { w, o in
                w.value(o.path, "path")
                w.value(o.modality, "modality")
                w.value(o.sopInstanceUID, "sop_instance_uid")
                w.value(o.seriesUID, "series_uid")
                w.value(o.segmentationType, "segmentation_type")
                w.objects("segments", o.segments) { w, s in
                    w.value(s.number, "number")
                    w.value(s.name, "name")
                    w.value(s.object, "object")
                    w.value(s.planes, "planes")
                }
                w.values(o.referencedSeries, "referenced_series")
                w.values(o.referencedInstances, "referenced_instances")
                w.values(o.frameOfReferenceUIDs, "frame_of_reference_uids")
            }
        }
    }
}

extension JSONWriter {
    /// An object filled by `body`: a member `key` of the enclosing object, or a value when nil.
    mutating func object(_ key: String? = nil, _ body: (inout JSONWriter) -> Void) {
        beginObject(key)
        body(&self)
        endObject()
    }

    /// A member `key`: an array of one object per element of `items`, each filled by `body`.
    mutating func objects<S: Sequence>(_ key: String, _ items: S, _ body: (inout JSONWriter, S.Element) -> Void) {
        array(key, items) { w, item in w.object { body(&$0, item) } }
    }

    /// A member `key`: an array of one value per element of `items`, each written by `body`.
    mutating func array<S: Sequence>(_ key: String, _ items: S, _ body: (inout JSONWriter, S.Element) -> Void) {
        beginArray(key)
        for item in items { body(&self, item) }
        endArray()
    }

    /// A document: one object filled by `body`, as text.
    static func document(_ body: (inout JSONWriter) -> Void) -> String {
        var w = JSONWriter()
        w.object(nil, body)
        return w.text
    }
}
