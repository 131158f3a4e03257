import DicomBytes

/// Kind of a decoded value; raw values mirror PETCT_KIND_* in petct.h.
public enum ValueKind: UInt8, Sendable {
    case empty = 0
    case text = 1  // UTF-8 in heap, '\' separated for multi-valued VRs, padding stripped
    case int = 2  // Int64 values in heap
    case uint = 3  // UInt64 values in heap (UV)
    case float = 4  // Float64 values in heap
    case bytes = 5  // raw bytes in source
    case tags = 6  // UInt32 tags in heap (AT)
    case sequence = 7  // SQ; `count` items follow
    case item = 8  // item; `count` elements follow
    case rawText = 9  // undecodable text: raw bytes in heap
}

/// Flags of an element; raw values mirror PETCT_ELEM_* in petct.h.
public struct ElementFlags: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let undefinedLength = ElementFlags(rawValue: 0x01)
    public static let encapsulated = ElementFlags(rawValue: 0x02)
    public static let vrFromDictionary = ElementFlags(rawValue: 0x04)
    public static let invalidValue = ElementFlags(rawValue: 0x08)
}

/// One record of the flattened element tree, in pre-order. A `.sequence` record is followed by its
/// `.item` records, an `.item` record by its elements; `descendants` counts the records below.
public struct Element: Sendable {
    public var tag: UInt32
    /// Two ASCII letters, first in the low byte ("US" == 0x5355). 0 for items.
    public var vr: UInt16
    public var kind: ValueKind
    public var flags: ElementFlags
    public var count: UInt32
    public var descendants: UInt32
    /// Offset into `heap`, or into `source` for `.bytes`.
    public var valueOffset: Int
    public var valueLength: Int
    /// Offset of the element's tag in `source`, -1 when synthesized.
    public var fileOffset: Int

    public init(
        tag: UInt32, vr: UInt16, kind: ValueKind, flags: ElementFlags = [], count: UInt32 = 0,
        descendants: UInt32 = 0, valueOffset: Int = 0, valueLength: Int = 0, fileOffset: Int = -1
    ) {
        self.tag = tag; self.vr = vr; self.kind = kind; self.flags = flags; self.count = count
        self.descendants = descendants; self.valueOffset = valueOffset; self.valueLength = valueLength
        self.fileOffset = fileOffset
    }

    public var group: UInt16 { UInt16(truncatingIfNeeded: tag >> 16) }
    public var vrString: String {
        vr == 0 ? "" : String(decoding: [UInt8(vr & 0xFF), UInt8(vr >> 8)], as: UTF8.self)
    }
}

/// Packs a two-letter VR into the `Element.vr` form.
@inlinable public func vrCode(_ s: StaticString) -> UInt16 {
    s.withUTF8Buffer { UInt16($0[0]) | (UInt16($0[1]) << 8) }
}

/// Properties of how a data set was encoded; raw values mirror PETCT_DS_*.
public struct DatasetFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let preamble = DatasetFlags(rawValue: 0x1)
    public static let fileMeta = DatasetFlags(rawValue: 0x2)
    public static let implicitVR = DatasetFlags(rawValue: 0x4)
    public static let bigEndian = DatasetFlags(rawValue: 0x8)
    public static let deflated = DatasetFlags(rawValue: 0x10)
    public static let stoppedBeforePixels = DatasetFlags(rawValue: 0x20)
}

/// A parsed DICOM file: the source bytes, a flat pre-order element table (file meta first) and a heap
/// of decoded values. Immutable after parsing, so it can be shared between threads.
public final class Dataset: @unchecked Sendable {
    public let source: [UInt8]
    public let heap: [UInt8]
    public let elements: [Element]
    public let flags: DatasetFlags
    /// The transfer syntax the data set (after the file meta) was read with.
    public let transferSyntax: String
    /// First value of Specific Character Set, "" when absent.
    public let characterSet: String
    /// Size of the file it was read from (-1 for buffers); set once, right after parsing.
    public private(set) var fileSize = -1
    /// Offset of the pixel data element where a header-only read stopped, -1 otherwise.
    public internal(set) var pixelDataOffset = -1

    /// Records the size of the file read (before the data set is shared); returns self.
    public func with(fileSize n: Int) -> Dataset {
        fileSize = n
        return self
    }

    public init(
        source: [UInt8], heap: [UInt8], elements: [Element], flags: DatasetFlags,
        transferSyntax: String, characterSet: String
    ) {
        self.source = source; self.heap = heap; self.elements = elements; self.flags = flags
        self.transferSyntax = transferSyntax; self.characterSet = characterSet
    }

    public var isLittleEndian: Bool { !flags.contains(.bigEndian) }

    // MARK: navigation

    /// Indices of the direct children of `parent` (an `.item` index), or of the top level when nil.
    public func children(of parent: Int? = nil) -> ChildIndices {
        if let parent {
            return ChildIndices(
                elements: elements, start: parent + 1, end: parent + 1 + Int(elements[parent].descendants))
        }
        return ChildIndices(elements: elements, start: 0, end: elements.count)
    }

    /// The bytes element `i`'s value was decoded from, as a range of `source` (a DS element's text,
    /// before it became numbers). Found again from the element's header at `fileOffset`: nil for
    /// synthesized elements, sequences, items, values of undefined length, or a header that does not
    /// hold the element's tag. Callers that rely on it check it against the decoded value.
    public func encodedValueRange(at i: Int) -> Range<Int>? {
        guard i >= 0, i < elements.count else { return nil }
        let e = elements[i]
        let n = source.count
        guard e.fileOffset >= 0, e.kind != .sequence, e.kind != .item, !e.flags.contains(.undefinedLength),
            n >= 8, e.fileOffset <= n - 8
        else { return nil }
        let o = e.fileOffset
        let meta = e.group == 0x0002  // the file meta is always explicit VR little endian
        let be = !meta && flags.contains(.bigEndian)
        func u16(_ k: Int) -> Int {
            be ? Int(source[k]) << 8 | Int(source[k + 1]) : Int(source[k]) | Int(source[k + 1]) << 8
        }
        func u32(_ k: Int) -> Int { be ? u16(k) << 16 | u16(k + 2) : u16(k) | u16(k + 2) << 16 }
        guard UInt32(u16(o)) << 16 | UInt32(u16(o + 2)) == e.tag else { return nil }
        let a = source[o + 4], b = source[o + 5]
        let letters = (0x41...0x5A).contains(a) && (0x41...0x5A).contains(b)
        let start: Int, length: Int
        if (meta || !flags.contains(.implicitVR)) && letters {
            let code = VRCode.pack(a, b)
            if VRCode.isKnown(code) && VRCode.hasLongLength(code) {
                guard o <= n - 12 else { return nil }
                start = o + 12; length = u32(o + 8)
            } else {
                start = o + 8; length = u16(o + 6)
            }
        } else {
            start = o + 8; length = u32(o + 4)
        }
        return start..<(start + min(length, n - start))
    }

    /// Index of the element `tag` directly in `item` (top level when nil). Linear in the number of
    /// siblings, skipping subtrees; data sets are sorted by tag so it stops early.
    public func index(of tag: UInt32, in item: Int? = nil) -> Int? {
        for i in children(of: item) {
            let t = elements[i].tag
            if t == tag { return i }
            if t > tag && elements[i].group != 0x0002 { return nil }
        }
        return nil
    }

    /// Item record indices of the sequence at `index`.
    public func items(ofSequence index: Int) -> ChildIndices {
        ChildIndices(elements: elements, start: index + 1, end: index + 1 + Int(elements[index].descendants))
    }

    /// Items of sequence `tag` found in `item` (top level when nil); empty when absent.
    public func items(_ tag: UInt32, in item: Int? = nil) -> [Int] {
        guard let i = index(of: tag, in: item), elements[i].kind == .sequence else { return [] }
        return Array(items(ofSequence: i))
    }

    // MARK: typed values

    /// The whole text value (all values joined by '\'), nil when absent or not text.
    public func text(at i: Int) -> String? {
        let e = elements[i]
        switch e.kind {
        case .text, .rawText:
            return heap.withUnsafeBufferPointer {
                String(
                    decoding: UnsafeBufferPointer(rebasing: $0[e.valueOffset..<(e.valueOffset + e.valueLength)]),
                    as: UTF8.self)
            }
        case .empty: return ""
        case .int:
            return ints(at: i).map { String($0) }.joined(separator: "\\")
        case .float:
            return doubles(at: i).map { String($0) }.joined(separator: "\\")
        default: return nil
        }
    }

    public func string(_ tag: UInt32, in item: Int? = nil) -> String? {
        guard let i = index(of: tag, in: item) else { return nil }
        return text(at: i)
    }

    /// Text values split on '\'.
    public func strings(_ tag: UInt32, in item: Int? = nil) -> [String] {
        guard let s = string(tag, in: item), !s.isEmpty else { return [] }
        return s.split(separator: "\\", omittingEmptySubsequences: false).map(String.init)
    }

    public func doubles(at i: Int) -> [Double] {
        let e = elements[i]
        switch e.kind {
        case .float:
            return readArray(Double.self, e)
        case .int:
            return readArray(Int64.self, e).map(Double.init)
        case .uint:
            return readArray(UInt64.self, e).map(Double.init)
        case .text:
            return (text(at: i) ?? "").split(separator: "\\").compactMap { Double($0.trimmingSpaces()) }
        default:
            return []
        }
    }

    public func ints(at i: Int) -> [Int64] {
        let e = elements[i]
        switch e.kind {
        case .int: return readArray(Int64.self, e)
        case .uint: return readArray(UInt64.self, e).map { Int64(truncatingIfNeeded: $0) }
        case .float: return readArray(Double.self, e).compactMap { $0.isFinite && abs($0) < 9e18 ? Int64($0) : nil }
        case .text: return (text(at: i) ?? "").split(separator: "\\").compactMap { Int64($0.trimmingSpaces()) }
        default: return []
        }
    }

    public func doubles(_ tag: UInt32, in item: Int? = nil) -> [Double] {
        guard let i = index(of: tag, in: item) else { return [] }
        return doubles(at: i)
    }
    public func double(_ tag: UInt32, in item: Int? = nil) -> Double? { doubles(tag, in: item).first }
    public func ints(_ tag: UInt32, in item: Int? = nil) -> [Int64] {
        guard let i = index(of: tag, in: item) else { return [] }
        return ints(at: i)
    }
    public func int(_ tag: UInt32, in item: Int? = nil) -> Int? { ints(tag, in: item).first.map { Int($0) } }

    /// Raw bytes of a `.bytes` element (a slice of `source`).
    public func bytesRange(at i: Int) -> Range<Int>? {
        let e = elements[i]
        guard e.kind == .bytes else { return nil }
        return e.valueOffset..<(e.valueOffset + e.valueLength)
    }

    private func readArray<T>(_: T.Type, _ e: Element) -> [T] {
        let n = e.valueLength / MemoryLayout<T>.stride
        return heap.withUnsafeBytes { raw in
            (0..<n).map { raw.loadUnaligned(fromByteOffset: e.valueOffset + $0 * MemoryLayout<T>.stride, as: T.self) }
        }
    }
}

/// Direct-child iteration over the flat table, skipping subtrees.
public struct ChildIndices: Sequence, IteratorProtocol {
    let elements: [Element]
    var next_: Int
    let end: Int
    init(elements: [Element], start: Int, end: Int) { self.elements = elements; self.next_ = start; self.end = end }
    public mutating func next() -> Int? {
        guard next_ < end else { return nil }
        let i = next_
        next_ += 1 + Int(elements[i].descendants)
        return i
    }
}

extension Substring {
    func trimmingSpaces() -> Substring { trimmingPadding() }
}
