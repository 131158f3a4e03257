import DicomBytes
import PetctMasks
import PetctSUV
import PetctSeries

/// Every JSON document of the C ABI is encoded here, from the typed results of the domain layers.
/// The documents are described field by field in CPetct/include/petct.h.
enum JSONEncoding {
    /// The SUV report (petct_volume_suv).
    static func suvReport(_ info: SUVInfo) -> String {
        var w = JSONWriter()
        w.beginObject()
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
            w.beginArray("frames")
            for f in info.frames {
                w.beginObject()
                w.value(f.frame, "frame")
                w.value(f.path, "path")
                w.value(f.decayCorrection, "decay_correction")
                w.value(f.start.map(DicomDateTime.format), "start")
                w.value(f.decayFactor, "decay_factor")
                w.value(f.inFrameCorrection, "in_frame_correction")
                w.value(f.factor, "factor")
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
        return w.text
    }

    /// The scan document (petct_scan_json).
    static func scan(_ result: ScanResult) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.beginArray("series")
        for s in result.series {
            let f = s.first
            w.beginObject()
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
            w.endObject()
        }
        w.endArray()
        w.beginArray("skipped")
        for k in result.skipped {
            w.beginObject()
            w.value(k.path, "path")
            w.value(k.reason, "reason")
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.text
    }

    /// The volume document (petct_volume_json).
    static func volume(_ v: VolumeInfo) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.values(v.shape, "shape")
        w.values(v.origin, "origin")
        w.values(v.spacing, "spacing")
        w.values(v.direction, "direction")
        w.values(v.affine, "affine")
        w.values(v.sliceOffsets, "slice_offsets")
        w.beginArray("slice_positions")
        for p in v.slicePositions { w.values(p) }
        w.endArray()
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
        w.beginArray("rescale")
        for r in v.rescale { w.values(r) }
        w.endArray()
        w.beginArray("instance_numbers")
        for n in v.instanceNumbers { w.value(n) }
        w.endArray()
        w.values(v.acquisitionTimes, "acquisition_times")
        w.value(v.units, "units")
        if let tf = v.timeFrames {
            w.beginObject("time_frames")
            w.value(tf.kind, "kind")
            w.value(tf.groupedBy, "grouped_by")
            w.beginArray("frames")
            for f in tf.frames {
                w.beginObject()
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
                w.endObject()
            }
            w.endArray()
            w.endObject()
        }
        w.endObject()
        return w.text
    }

    /// The masks document (petct_masks_json).
    static func masks(_ infos: [MaskObjectInfo]) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.beginArray("objects")
        for o in infos {
            w.beginObject()
            w.value(o.path, "path")
            w.value(o.modality, "modality")
            w.value(o.sopInstanceUID, "sop_instance_uid")
            w.value(o.seriesUID, "series_uid")
            w.value(o.segmentationType, "segmentation_type")
            w.beginArray("segments")
            for s in o.segments {
                w.beginObject()
                w.value(s.number, "number")
                w.value(s.name, "name")
                w.value(s.object, "object")
                w.value(s.planes, "planes")
                w.endObject()
            }
            w.endArray()
            w.values(o.referencedSeries, "referenced_series")
            w.values(o.referencedInstances, "referenced_instances")
            w.values(o.frameOfReferenceUIDs, "frame_of_reference_uids")
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.text
    }
}
