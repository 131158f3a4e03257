#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension StringProtocol {
    /// Without leading and trailing spaces and NULs (DICOM value padding): the one trim of the core.
    public func trimmingPadding() -> SubSequence {
        var s = self[...]
        while let f = s.first, f == " " || f == "\0" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\0" { s = s.dropLast() }
        return s
    }
}

/// The C library's text for an errno value ("No such file or directory").
public func errnoText(_ code: Int32) -> String {
    guard let p = strerror(code) else { return "error \(code)" }
    return String(cString: p)
}
