import CZlib
import DicomBytes
@_exported import PetctTestSupport

@testable import DicomParser

/// The shared stream builder (PetctTestSupport), under the short name these tests use.
typealias DS = DicomStream

extension Dataset {
    func idx(_ tag: UInt32, in item: Int? = nil) -> Int? { index(of: tag, in: item) }
    func el(_ tag: UInt32, in item: Int? = nil) -> Element? { index(of: tag, in: item).map { elements[$0] } }
    func vrOf(_ tag: UInt32, in item: Int? = nil) -> String? { el(tag, in: item)?.vrString }
    func bytes(_ tag: UInt32, in item: Int? = nil) -> [UInt8]? {
        guard let i = index(of: tag, in: item), let r = bytesRange(at: i) else { return nil }
        return Array(source[r])
    }
    func tagValues(_ tag: UInt32) -> [UInt32] {
        guard let e = el(tag), e.kind == .tags else { return [] }
        return heap.withUnsafeBytes { h in
            (0..<Int(e.count)).map { h.loadUnaligned(fromByteOffset: e.valueOffset + 4 * $0, as: UInt32.self) }
        }
    }
    func uints(_ tag: UInt32) -> [UInt64] {
        guard let e = el(tag), e.kind == .uint else { return [] }
        return heap.withUnsafeBytes { h in
            (0..<Int(e.count)).map { h.loadUnaligned(fromByteOffset: e.valueOffset + 8 * $0, as: UInt64.self) }
        }
    }
}

/// Raw deflate (no zlib header) of `input`, as the Deflated transfer syntax stores it.
func rawDeflate(_ input: [UInt8]) throws -> [UInt8] {
    var s = z_stream()
    guard
        deflateInit2_(
            &s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size)) == Z_OK
    else { throw DicomError(.internalError, "deflateInit2") }
    defer { deflateEnd(&s) }
    var out = [UInt8](repeating: 0, count: input.count + 1024)
    var inp = input
    let produced: Int = inp.withUnsafeMutableBufferPointer { ib in
        out.withUnsafeMutableBufferPointer { ob in
            s.next_in = ib.baseAddress; s.avail_in = UInt32(ib.count)
            s.next_out = ob.baseAddress; s.avail_out = UInt32(ob.count)
            _ = deflate(&s, Z_FINISH)
            return ob.count - Int(s.avail_out)
        }
    }
    return Array(out[0..<produced])
}
