import DicomBytes

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The file side of the writer: atomic replacement of the target (temporary file, fsync, rename),
// symbolic links followed. Encoding is in DicomFileWriter.swift and Encoder.swift.
extension DicomFileWriter {
    /// Encodes and writes the file atomically: a temporary name in the same folder, then rename.
    public static func write(
        path: String, elements: UnsafeBufferPointer<WriteElement>,
        heap: UnsafeRawBufferPointer
    ) throws(DicomError) {
        let bytes = try encode(elements: elements, heap: heap)
        try writeAtomically(path: path, bytes: bytes)
    }

    public static func write(path: String, elements: [WriteElement], heap: [UInt8]) throws(DicomError) {
        try writeAtomically(path: path, bytes: try encode(elements: elements, heap: heap))
    }

    /// `path` with symbolic links followed (up to 40 hops), also when the last target does not exist
    /// yet: the writer replaces the link's target and keeps the link, as `open(path, "wb")` does.
    static func followLinks(_ path: String) -> String {
        var p = path
        for _ in 0..<40 {
            var st = stat()
            guard lstat(p, &st) == 0, UInt32(st.st_mode) & 0o170000 == 0o120000 else { return p }
            var buf = [CChar](repeating: 0, count: 4097)
            let n = readlink(p, &buf, 4096)
            guard n > 0 else { return p }
            let target = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.hasPrefix("/") {
                p = target
            } else if let slash = p.lastIndex(of: "/") {
                p = String(p[...slash]) + target
            } else {
                p = target
            }
        }
        return p
    }

    /// Writes `bytes` to a new temporary file next to `path` (unique name, `O_EXCL`), fsyncs it and
    /// renames it over `path`. A file being replaced keeps its mode (and, as root, its owner); a new
    /// file gets 0666 minus the umask. A symbolic link is written through (its target is replaced).
    public static func writeAtomically(path requested: String, bytes: [UInt8]) throws(DicomError) {
        let path = followLinks(requested)
        var old = stat()
        let replacing = stat(path, &old) == 0 && UInt32(old.st_mode) & 0o170000 == 0o100000
        var tmp = ""
        var fd: Int32 = -1
        // the temporary name: next to the file (same file system), short enough for NAME_MAX
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let stem = base.utf8.count <= 200 ? base : ""
        for _ in 0..<64 {
            tmp = dir + "." + stem + ".petct-tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 || errno != EEXIST { break }
        }
        if fd < 0 {
            let e = errno
            throw DicomError.io("cannot create a temporary file \(tmp) to write \(path): \(errnoText(e))", errno: e)
        }
        if replacing {
            // owner first (chown clears set-id bits), then the mode; a non-root user keeps the group
            // where they may (a group they belong to)
            _ = fchown(fd, geteuid() == 0 ? old.st_uid : uid_t.max, old.st_gid)
            _ = fchmod(fd, old.st_mode & 0o7777)
        }
        var failure: Int32 = 0
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, base + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                done += n
            }
        }
        if failure == 0 && fsync(fd) != 0 && errno != EINVAL && errno != EROFS { failure = errno }
        if close(fd) != 0 && failure == 0 { failure = errno }
        if failure != 0 {
            unlink(tmp)
            throw DicomError.io("cannot write \(path): \(errnoText(failure))", errno: failure)
        }
        if rename(tmp, path) != 0 {
            let e = errno
            unlink(tmp)
            throw DicomError.io("cannot rename \(tmp) to \(path): \(errnoText(e))", errno: e)
        }
    }
}
