#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened for reading with plain POSIX calls. Reads append to a growing byte array, so a caller
/// can start with a prefix and read more only when it needs it.
///
/// The path is opened from its bytes (`FilePath`), with O_NONBLOCK so that opening a FIFO never waits
/// for a writer. With `regularOnly` (folder scans, volumes) anything but a regular file is refused
/// twice: by stat before the open (a FIFO, socket or device is never opened) and by fstat after it
/// (closing the race where the name is replaced in between). Otherwise (dcmread) a FIFO, pipe or
/// character device is read as a stream, capped at `Limits.maxStreamBytes`.
public final class InputFile {
    public let path: FilePath
    private var fd: Int32
    /// Size reported by fstat when opened (0 for streams).
    public let size: Int
    /// False for FIFOs, pipes, sockets and devices.
    public let isRegular: Bool
    /// Bytes read so far (always a prefix of the file).
    public private(set) var bytes: [UInt8] = []
    /// True once the whole file has been read (read returned end of file).
    public private(set) var atEnd = false
    /// Checked while a stream waits for data (poll in 100 ms steps), so a stalled writer can be left.
    public var cancel = CancelFlag.none

    public convenience init(path: String) throws(DicomError) {
        try self.init(path: FilePath(path))
    }

    public init(path: FilePath, regularOnly: Bool = false) throws(DicomError) {
        self.path = path
        if regularOnly {
            var st = stat()
            let rc = try path.withCString { p throws(DicomError) in stat(p, &st) }
            if rc != 0 {
                let e = errno
                throw DicomError.io("cannot stat \(path): \(InputFile.errnoText(e))", errno: e)
            }
            try InputFile.requireRegular(st.st_mode, path)
        }
        let f = try path.withCString { p throws(DicomError) in open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY) }
        if f < 0 {
            let e = errno
            throw DicomError.io("cannot open \(path): \(InputFile.errnoText(e))", errno: e)
        }
        var st = stat()
        if fstat(f, &st) != 0 {
            let e = errno
            close(f)
            throw DicomError.io("cannot stat \(path): \(InputFile.errnoText(e))", errno: e)
        }
        let kind = st.st_mode & S_IFMT
        if kind == S_IFDIR {
            close(f)
            throw DicomError.io("cannot read \(path): is a directory", errno: EISDIR)
        }
        if regularOnly && kind != S_IFREG {
            close(f)
            try InputFile.requireRegular(st.st_mode, path)
        }
        fd = f
        isRegular = kind == S_IFREG
        size = kind == S_IFREG ? max(0, Int(st.st_size)) : 0
    }

    deinit { if fd >= 0 { close(fd) } }

    static func requireRegular(_ mode: mode_t, _ path: FilePath) throws(DicomError) {
        let kind = mode & S_IFMT
        if kind == S_IFREG { return }
        if kind == S_IFDIR { throw DicomError.io("cannot read \(path): is a directory", errno: EISDIR) }
        let what: String
        switch kind {
        case S_IFIFO: what = "a FIFO"
        case S_IFSOCK: what = "a socket"
        case S_IFCHR: what = "a character device"
        case S_IFBLK: what = "a block device"
        default: what = "not a regular file"
        }
        throw DicomError(.invalidDicom, "\(path) is \(what), not a regular file: not read")
    }

    public static func errnoText(_ e: Int32) -> String { DicomBytes.errnoText(e) }

    /// Most bytes this file may deliver: its size (and, if it grows while read, up to the stream cap).
    var cap: Int { isRegular ? max(size, Limits.maxStreamBytes) : Limits.maxStreamBytes }

    /// Reads until at least `requested` bytes are held or the file ends. The new bytes go straight from
    /// `read(2)` into uninitialised array storage (no zero-fill first); only the prefix already held
    /// is copied when the array grows, and it grows geometrically (pipes and growing files included).
    /// A request past the size fstat reported is cut to that size + 1 byte (enough to see the end).
    /// Past `cap` the read fails with a `.limit` error instead of growing without bound.
    public func fill(upTo requested: Int) throws(DicomError) {
        guard !atEnd, bytes.count < requested else { return }
        let old = bytes.count
        if old > cap {
            throw DicomError(
                .limit,
                "\(path): more than \(cap) bytes read from \(isRegular ? "a growing file" : "a stream") "
                    + "(the stream limit); raise petct.config.max_stream_bytes to read it")
        }
        var total: Int
        if isRegular && old <= size {
            total = min(requested, size &+ 1)
        } else {
            total = max(requested, old &+ max(65536, old / 2))  // streams grow geometrically
        }
        total = min(total, cap &+ 1)
        try Limits.probeAllocation(total, what: "reading \(path)")
        let want = total - old
        // A stream returns as soon as the request is met (room for more is kept for the next fill).
        let need = min(want, max(1, requested - old))
        var err: Int32 = 0
        var eof = false
        let prefix = bytes
        let fd = self.fd
        bytes = []
        bytes = [UInt8](unsafeUninitializedCapacity: total) { buf, initialized in
            guard let base = buf.baseAddress else { initialized = 0; return }
            prefix.withUnsafeBufferPointer { p in
                if let src = p.baseAddress, old > 0 { base.initialize(from: src, count: old) }
            }
            var got = 0
            let stream = !isRegular
            let cancel = self.cancel
            while got < need {
                // 64 MiB at a time, so a cancel flag set during a long read is seen between calls.
                if got > 0 && cancel.isSet { err = -1; break }
                let n = Glibc.read(fd, base + old + got, min(want - got, 64 << 20))
                if n < 0 {
                    if errno == EINTR { continue }
                    if stream && (errno == EAGAIN || errno == EWOULDBLOCK) {
                        // The descriptor stays O_NONBLOCK (a FIFO without a writer reads as end of
                        // file); wait for data in 100 ms steps so a cancel flag set meanwhile is seen.
                        if cancel.isSet { err = -1; break }
                        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                        _ = poll(&p, 1, 100)
                        continue
                    }
                    err = errno
                    break
                }
                if n == 0 { eof = true; break }
                got += n
            }
            initialized = old + got
        }
        if err == -1 { throw DicomError(.cancelled, "interrupted") }
        if err != 0 {
            throw DicomError.io("cannot read \(path): \(InputFile.errnoText(err))", errno: err)
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
