#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened for reading with plain POSIX calls. Reads append to a growing byte array, so a caller
/// can start with a prefix and read more only when it needs it.
public final class InputFile {
    public let path: String
    private var fd: Int32
    /// Size reported by fstat when opened.
    public let size: Int
    /// Bytes read so far (always a prefix of the file).
    public private(set) var bytes: [UInt8] = []
    /// True once the whole file has been read (read returned end of file).
    public private(set) var atEnd = false

    public init(path: String) throws(DicomError) {
        self.path = path
        let f = open(path, O_RDONLY | O_CLOEXEC)
        if f < 0 {
            throw DicomError(.io, "cannot open \(path): \(InputFile.errnoText())")
        }
        var st = stat()
        if fstat(f, &st) != 0 {
            let msg = InputFile.errnoText()
            close(f)
            throw DicomError(.io, "cannot stat \(path): \(msg)")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            close(f)
            throw DicomError(.io, "cannot read \(path): is a directory")
        }
        fd = f
        size = Int(st.st_size)
    }

    deinit { if fd >= 0 { close(fd) } }

    static func errnoText() -> String {
        guard let p = strerror(errno) else { return "error \(errno)" }
        return String(cString: p)
    }

    /// Reads until at least `total` bytes are held or the file ends.
    public func fill(upTo total: Int) throws(DicomError) {
        guard !atEnd, bytes.count < total else { return }
        let want = total - bytes.count
        let old = bytes.count
        var err: Int32 = 0
        var got = 0
        var eof = false
        bytes.append(contentsOf: repeatElement(0, count: want))
        bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            while got < want {
                let n = Glibc.read(fd, base + old + got, want - got)
                if n < 0 {
                    if errno == EINTR { continue }
                    err = errno
                    return
                }
                if n == 0 { eof = true; return }
                got += n
            }
        }
        bytes.removeLast(want - got)
        if err != 0 {
            throw DicomError(.io, "cannot read \(path): \(String(cString: strerror(err)))")
        }
        if eof { atEnd = true; close(fd); fd = -1 }
    }

    /// Reads the rest of the file.
    public func fillAll() throws(DicomError) {
        while !atEnd {
            let target = max(bytes.count &* 2, max(size &+ 1, 65536))
            try fill(upTo: target)
        }
    }
}

/// Reads a whole file.
public func readWholeFile(_ path: String) throws(DicomError) -> [UInt8] {
    let f = try InputFile(path: path)
    try f.fillAll()
    return f.bytes
}
