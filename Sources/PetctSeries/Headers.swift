import DicomBytes
import DicomParser

/// Reads headers (stop before pixels) of many files in parallel.
public enum HeaderReader {
    /// Only regular files are read (a FIFO, socket or device fails without being opened). Once
    /// `cancel` is set the remaining files fail with `.cancelled` without being read.
    public static func readAll(_ paths: [String], threads: Int, cancel: CancelFlag = .none) -> [Result<
        Dataset, DicomError
    >] {
        var out = [Result<Dataset, DicomError>?](repeating: nil, count: paths.count)
        out.withUnsafeMutableBufferPointer { buf in
            let shared = SharedBox(buf)
            Parallel.chunks(count: paths.count, threads: threads, granularity: 8) { _, range in
                for i in range {
                    do throws(DicomError) {
                        try cancel.check()
                        let ds = try DicomReader.read(
                            path: FilePath(paths[i]), options: ReadOptions(stopBeforePixels: true),
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

func trimmed(_ s: String) -> String { String(s.trimmingPadding()) }
