import DicomBytes

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Paths are bytes end to end. The writer receives its path in the escaped String form of `FilePath`
// (a byte that is not UTF-8 rides as U+10FF00 + byte), so every path system call this module makes
// takes a String and goes through these overloads, which pass the original bytes to the C library:
// a Latin-1 file name is written under its own name, never under U+FFFD.

func open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    FilePath(path).cString.withUnsafeBufferPointer { Glibc.open($0.baseAddress!, flags, mode) }
}

@discardableResult
func unlink(_ path: String) -> Int32 {
    FilePath(path).cString.withUnsafeBufferPointer { Glibc.unlink($0.baseAddress!) }
}

func rename(_ from: String, _ to: String) -> Int32 {
    FilePath(from).cString.withUnsafeBufferPointer { a in
        FilePath(to).cString.withUnsafeBufferPointer { b in Glibc.rename(a.baseAddress!, b.baseAddress!) }
    }
}

func lstat(_ path: String, _ buf: UnsafeMutablePointer<stat>) -> Int32 {
    FilePath(path).cString.withUnsafeBufferPointer { Glibc.lstat($0.baseAddress!, buf) }
}

func readlink(_ path: String, _ buf: UnsafeMutablePointer<CChar>, _ size: Int) -> Int {
    FilePath(path).cString.withUnsafeBufferPointer { Glibc.readlink($0.baseAddress!, buf, size) }
}

func stat(_ path: String, _ buf: UnsafeMutablePointer<stat>) -> Int32 {
    FilePath(path).cString.withUnsafeBufferPointer { fstatat(AT_FDCWD, $0.baseAddress!, buf, 0) }
}
