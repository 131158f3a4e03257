#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Process-wide resource limits of the core (set through petct_set_limits; petct.config in Python).
///
/// - Decoded bytes: one compressed unit (a frame of encapsulated pixel data, or a deflated data set)
///   may decode to at most `max(maxDecodedBytes, decodeRatio x its compressed bytes)`. The floor lets
///   any ordinary image through whatever its ratio (a 512x512x2 CT slice is 0.5 MiB, a whole-body PET
///   frame a few MiB); above the floor a ratio of 200 is allowed: 5x below deflate's own maximum
///   (~1032:1, reached only by constant data, i.e. bombs) and an order of magnitude above what lossless
///   (2-4:1) or lossy (10-50:1) medical images compress to. Checked from the headers and the codestream's own
///   dimensions before the output is allocated.
/// - Stream bytes: what is read from a file that is not a regular file (pipe, FIFO, device) or past
///   the size a regular file had when opened, so an endless stream (/dev/zero) ends with an error.
public enum Limits {
    nonisolated(unsafe) public static var maxDecodedBytes: Int = 64 << 20
    nonisolated(unsafe) public static var decodeRatio: Int = 200
    nonisolated(unsafe) public static var maxStreamBytes: Int = 256 << 20

    /// How many bytes `compressed` bytes may decode to.
    public static func decodedAllowance(compressed: Int) -> Int {
        let (r, o) = max(0, compressed).multipliedReportingOverflow(by: max(1, decodeRatio))
        return max(maxDecodedBytes, o ? Int.max : r)
    }

    /// Throws a `.limit` error when `decoded` bytes from `compressed` bytes exceed the allowance.
    public static func checkDecoded(
        _ decoded: Int, compressed: Int, what: String, offset: Int = -1,
        tag: UInt32? = nil
    ) throws(DicomError) {
        let allowed = decodedAllowance(compressed: compressed)
        if decoded < 0 || decoded > allowed {
            throw DicomError(
                .limit,
                "\(what) would decode to \(decoded) bytes from \(compressed) compressed bytes, "
                    + "above the decode limit max(max_decoded_bytes=\(maxDecodedBytes), decode_ratio=\(decodeRatio) "
                    + "x compressed) = \(allowed) bytes; raise petct.config.max_decoded_bytes or "
                    + "petct.config.decode_ratio to read it", offset: offset, tag: tag)
        }
    }

    /// Throws `.outOfMemory` when `bytes` cannot be allocated now. Swift traps when an array allocation
    /// fails, so an allocation whose size comes from the input (already bounded by the bytes present or
    /// the limits) is probed with malloc first; the probe is released at once.
    public static func probeAllocation(_ bytes: Int, what: String, offset: Int = -1, tag: UInt32? = nil)
        throws(DicomError)
    {
        guard bytes >= 0 else { throw DicomError(.malformed, "\(what): negative size", offset: offset, tag: tag) }
        if bytes < 1 << 24 { return }
        guard let p = malloc(bytes) else {
            throw DicomError(.outOfMemory, "cannot allocate \(bytes) bytes for \(what)", offset: offset, tag: tag)
        }
        free(p)
    }
}

/// A flag the caller of a long native call sets (from another thread) to ask the core to stop; loops
/// check it between slices, frames and files and then throw `.cancelled`.
public struct CancelFlag: @unchecked Sendable {
    public let pointer: UnsafePointer<Int32>?
    public init(_ pointer: UnsafePointer<Int32>?) { self.pointer = pointer }
    public static let none = CancelFlag(nil)

    public var isSet: Bool {
        guard let pointer else { return false }
        return loadVolatile(pointer) != 0
    }

    public func check() throws(DicomError) {
        if isSet { throw DicomError(.cancelled, "interrupted") }
    }
}

@inline(never)
func loadVolatile(_ p: UnsafePointer<Int32>) -> Int32 {
    // Not inlined, so the load is not hoisted out of the caller's loop.
    UnsafeRawPointer(p).load(as: Int32.self)
}

/// A file system path as the bytes the caller passed. Paths are bytes end to end: the layers above
/// carry them as Swift `String`s in a lossless escaped form (`escaped(cString:)`): every byte of the
/// path that is not part of valid UTF-8, and every byte of a character in U+10FF00...U+10FFFF, becomes
/// the private-use scalar U+10FF00 + byte; everything else is the path's own UTF-8. `init(_:)` undoes
/// it, so a Latin-1 name reaches open() as the bytes it was given (never U+FFFD).
public struct FilePath: Hashable, Sendable, CustomStringConvertible {
    static let escapeBase: UInt32 = 0x10FF00

    /// The path bytes followed by one NUL.
    public let cString: [CChar]

    public init(cString p: UnsafePointer<CChar>) {
        let n = strlen(p)
        cString = Array(UnsafeBufferPointer(start: p, count: n + 1))
    }

    /// From the escaped form.
    public init(_ s: String) {
        // Escapes (U+10FF00...) start with byte F4 in UTF-8: without one the String's bytes are the path.
        if !s.utf8.contains(0xF4) {
            cString = Array(s.utf8CString)
            return
        }
        var out: [CChar] = []
        out.reserveCapacity(s.utf8.count + 1)
        for u in s.unicodeScalars {
            if u.value >= FilePath.escapeBase && u.value <= FilePath.escapeBase + 0xFF {
                out.append(CChar(bitPattern: UInt8(u.value - FilePath.escapeBase)))
            } else {
                for b in String(u).utf8 { out.append(CChar(bitPattern: b)) }
            }
        }
        out.append(0)
        cString = out
    }

    /// The escaped (lossless) String form of the C path `p`.
    public static func escaped(cString p: UnsafePointer<CChar>) -> String {
        let bytes = UnsafeBufferPointer(
            start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p))
        if !bytes.contains(0xF4), let valid = String(validatingCString: p) {
            return valid  // valid UTF-8 without the escape range: the path's own text
        }
        var s = String.UnicodeScalarView()
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = bytes[i]
            var len = 0
            if b0 < 0x80 {
                len = 1
            } else if b0 >= 0xC2 && b0 <= 0xDF {
                len = 2
            } else if b0 >= 0xE0 && b0 <= 0xEF {
                len = 3
            } else if b0 >= 0xF0 && b0 <= 0xF4 {
                len = 4
            }
            var scalar: Unicode.Scalar? = nil
            if len > 0 && i + len <= n {
                var v = UInt32(len == 1 ? b0 : len == 2 ? b0 & 0x1F : len == 3 ? b0 & 0x0F : b0 & 0x07)
                var ok = true
                for k in 1..<max(len, 1) where len > 1 {
                    let c = bytes[i + k]
                    if c & 0xC0 != 0x80 { ok = false; break }
                    v = v << 6 | UInt32(c & 0x3F)
                }
                let minimum: UInt32 = len == 1 ? 0 : len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000
                if ok && v >= minimum && v < FilePath.escapeBase, let u = Unicode.Scalar(v) { scalar = u }
            }
            if let scalar {
                s.append(scalar)
                i += len
            } else {
                s.append(Unicode.Scalar(FilePath.escapeBase + UInt32(b0))!)
                i += 1
            }
        }
        return String(s)
    }

    /// For messages: UTF-8 where valid, "\xNN" for other bytes (never used to open).
    public var description: String {
        cString.withUnsafeBufferPointer { b in FilePath.display(FilePath.escaped(cString: b.baseAddress!)) }
    }

    /// The escaped form rendered for messages.
    public static func display(_ escaped: String) -> String {
        var out = ""
        for u in escaped.unicodeScalars {
            if u.value >= escapeBase && u.value <= escapeBase + 0xFF {
                let b = UInt8(u.value - escapeBase)
                let hex: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
                out += "\\x" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)])
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    public func withCString<R>(_ body: (UnsafePointer<CChar>) throws(DicomError) -> R) throws(DicomError) -> R {
        let r: Result<R, DicomError> = cString.withUnsafeBufferPointer { b in
            do throws(DicomError) { return .success(try body(b.baseAddress!)) } catch { return .failure(error) }
        }
        return try r.get()
    }
}
