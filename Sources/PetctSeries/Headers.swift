import DicomBytes
import DicomParser

/// Tags read by the scan and the volumes.
public enum Tag {
    public static let imageType: UInt32 = 0x0008_0008
    public static let sopInstanceUID: UInt32 = 0x0008_0018
    public static let seriesDate: UInt32 = 0x0008_0021
    public static let acquisitionDate: UInt32 = 0x0008_0022
    public static let acquisitionDateTime: UInt32 = 0x0008_002A
    public static let seriesTime: UInt32 = 0x0008_0031
    public static let acquisitionTime: UInt32 = 0x0008_0032
    public static let modality: UInt32 = 0x0008_0060
    public static let seriesDescription: UInt32 = 0x0008_103E
    public static let patientName: UInt32 = 0x0010_0010
    public static let patientID: UInt32 = 0x0010_0020
    public static let sliceThickness: UInt32 = 0x0018_0050
    public static let spacingBetweenSlices: UInt32 = 0x0018_0088
    public static let frameAcquisitionDateTime: UInt32 = 0x0018_9074
    public static let studyInstanceUID: UInt32 = 0x0020_000D
    public static let seriesInstanceUID: UInt32 = 0x0020_000E
    public static let seriesNumber: UInt32 = 0x0020_0011
    public static let instanceNumber: UInt32 = 0x0020_0013
    public static let imagePositionPatient: UInt32 = 0x0020_0032
    public static let imageOrientationPatient: UInt32 = 0x0020_0037
    public static let frameOfReferenceUID: UInt32 = 0x0020_0052
    public static let frameContentSequence: UInt32 = 0x0020_9111
    public static let planePositionSequence: UInt32 = 0x0020_9113
    public static let planeOrientationSequence: UInt32 = 0x0020_9116
    public static let samplesPerPixel: UInt32 = 0x0028_0002
    public static let photometricInterpretation: UInt32 = 0x0028_0004
    public static let numberOfFrames: UInt32 = 0x0028_0008
    public static let rows: UInt32 = 0x0028_0010
    public static let columns: UInt32 = 0x0028_0011
    public static let pixelSpacing: UInt32 = 0x0028_0030
    public static let bitsAllocated: UInt32 = 0x0028_0100
    public static let correctedImage: UInt32 = 0x0028_0051
    public static let rescaleIntercept: UInt32 = 0x0028_1052
    public static let rescaleSlope: UInt32 = 0x0028_1053
    public static let pixelMeasuresSequence: UInt32 = 0x0028_9110
    public static let pixelValueTransformationSequence: UInt32 = 0x0028_9145
    public static let gridFrameOffsetVector: UInt32 = 0x3004_000C
    public static let units: UInt32 = 0x0054_1001
    public static let sharedFunctionalGroups: UInt32 = 0x5200_9229
    public static let perFrameFunctionalGroups: UInt32 = 0x5200_9230
}

/// Reads headers (stop before pixels) of many files in parallel.
public enum HeaderReader {
    /// Only regular files are read (a FIFO, socket or device fails without being opened). Once
    /// `cancel` is set the remaining files fail with `.cancelled` without being read.
    public static func readAll(_ paths: [String], threads: Int, cancel: CancelFlag = .none) -> [Result<Dataset, DicomError>] {
        var out = [Result<Dataset, DicomError>?](repeating: nil, count: paths.count)
        out.withUnsafeMutableBufferPointer { buf in
            let shared = SharedBox(buf)
            Parallel.chunks(count: paths.count, threads: threads, granularity: 8) { _, range in
                for i in range {
                    do throws(DicomError) {
                        try cancel.check()
                        let ds = try DicomReader.read(path: FilePath(paths[i]), options: ReadOptions(stopBeforePixels: true),
                                                      regularOnly: true)
                        shared.value[i] = .success(ds)
                    } catch {
                        shared.value[i] = .failure(error)
                    }
                }
            }
        }
        return out.map { $0 ?? .failure(DicomError(.internalError, "not read")) }
    }
}

extension Dataset {
    /// Trimmed text value, nil when absent or empty.
    func nonEmptyString(_ tag: UInt32, in item: Int? = nil) -> String? {
        guard let s = string(tag, in: item) else { return nil }
        let t = trimmed(s)
        return t.isEmpty ? nil : t
    }

    /// First item of sequence `tag` in `item` (top level when nil).
    func firstItem(_ tag: UInt32, in item: Int? = nil) -> Int? {
        guard let i = index(of: tag, in: item), elements[i].kind == .sequence else { return nil }
        var it = items(ofSequence: i).makeIterator()
        return it.next()
    }
}

func trimmed(_ s: String) -> String {
    var u = Substring(s)
    while let f = u.first, f == " " || f == "\0" { u.removeFirst() }
    while let l = u.last, l == " " || l == "\0" { u.removeLast() }
    return String(u)
}
