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

    static func errnoText() -> String { DicomBytes.errnoText(errno) }

    /// Reads until at least `requested` bytes are held or the file ends. The new bytes go straight from
    /// `read(2)` into uninitialised array storage (no zero-fill first); only the prefix already held
    /// is copied when the array grows.
    /// A request past the size fstat reported is cut to that size + 1 byte (enough to see the end),
    /// but always grows by at least 64 KiB so a file that grows while it is read still makes progress.
    public func fill(upTo requested: Int) throws(DicomError) {
        guard !atEnd, bytes.count < requested else { return }
        let old = bytes.count
        let total = min(requested, max(size &+ 1, old &+ 65536))
        let want = total - old
        var err: Int32 = 0
        var eof = false
        let prefix = bytes
        let fd = self.fd
        bytes = [UInt8](unsafeUninitializedCapacity: total) { buf, initialized in
            guard let base = buf.baseAddress else { initialized = 0; return }
            prefix.withUnsafeBufferPointer { p in
                if let src = p.baseAddress, old > 0 { base.initialize(from: src, count: old) }
            }
            var got = 0
            while got < want {
                let n = Glibc.read(fd, base + old + got, want - got)
                if n < 0 {
                    if errno == EINTR { continue }
                    err = errno
                    break
                }
                if n == 0 { eof = true; break }
                got += n
            }
            initialized = old + got
        }
        if err != 0 {
            throw DicomError(.io, "cannot read \(path): \(DicomBytes.errnoText(err))")
        }
        if eof { atEnd = true; close(fd); self.fd = -1 }
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
