import DicomBytes

public struct DictionaryEntry: Sendable {
    public var tag: UInt32
    public var vr: String
    public var vm: String
    public var keyword: String
    public var name: String
    public var retired: Bool
}

/// The DICOM PS3.6 data dictionary (public elements only; private creators and private elements are
/// not in it). Backed by `DictionaryTable.text`, a generated string literal parsed lazily on first use.
///
/// Lookup order for a tag (as pydicom's `get_entry` / `raw_element_vr`):
/// 1. exact entry;
/// 2. for non-private (even group) tags, the repeating-group masks (50xx, 60xx, 7Fxx, 1000xxx0, ...),
///    first match in table order;
/// 3. for non-private tags with element 0000, a generic group length entry: UL, VM 1, keyword
///    "GenericGroupLength", name "Group Length", retired.
/// Everything else (including all odd groups) is unknown: nil.
public enum DataDictionary {
    /// The entry for `tag`, nil when unknown. For repeating-group entries, `tag` of the result is the
    /// requested tag (e.g. 0x60023000 -> OverlayData with tag 0x60023000).
    public static func entry(for tag: UInt32) -> DictionaryEntry? {
        guard let line = FastTable.shared.lineIndex(for: tag) else {
            if isGenericGroupLength(tag) {
                return DictionaryEntry(
                    tag: tag, vr: "UL", vm: "1", keyword: genericGroupLengthKeyword,
                    name: "Group Length", retired: true)
            }
            return nil
        }
        var e = FullTable.shared.entries[line]
        e.tag = tag
        return e
    }

    /// The tag of a keyword, nil when unknown. Repeating-group keywords give the same tag as
    /// `allEntries` (e.g. "OverlayData" -> 0x60003000). "GenericGroupLength" has no single tag: nil.
    public static func tag(forKeyword keyword: String) -> UInt32? {
        FullTable.shared.keywordToTag[keyword]
    }

    /// Number of lines (entries) in the generated table, masked entries included.
    public static var entryCount: Int { FullTable.shared.entries.count }

    /// All table entries in table order. Repeating-group entries carry the smallest tag that matches
    /// their mask and is not shadowed by an exact entry (e.g. 0x60003000 for 60xx3000, 0x00280410
    /// for 002804x0 since 00280400 is Transform Label); `repeatingMask(for:)` tells them apart.
    public static var allEntries: [DictionaryEntry] { FullTable.shared.entries }

    /// The mask text ("60xx3000") of a repeating-group tag, nil for other tags.
    public static func repeatingMask(for tag: UInt32) -> String? {
        guard let line = FastTable.shared.lineIndex(for: tag), line >= FastTable.shared.plainCount else { return nil }
        return FullTable.shared.masks[line - FastTable.shared.plainCount]
    }

    public static let genericGroupLengthKeyword = "GenericGroupLength"

    @usableFromInline
    static func isGenericGroupLength(_ tag: UInt32) -> Bool {
        tag & 0x0001_FFFF == 0  // even group, element 0000
    }
}

/// The VR of a tag for reading without explicit VRs: the one "VR for a tag" path of the reader. A code
/// is either two packed letters like `Element.vr` (first letter in the low byte, "US" == 0x5355) or
/// one of the pseudo codes below (never valid letters) for the ambiguous PS3.6 VRs, which the reader
/// resolves from the data set (Pixel Representation, LUT Descriptor, undefined length).
///
/// Lock-free: the codes sit in the dictionary's hash table, built once on first use behind a `static
/// let` (initialised exactly once, thread-safely, by the runtime) and never mutated afterwards. The
/// full entries with strings (`DataDictionary.entry(for:)`) are not needed for this.
public enum DictionaryVR {
    public static let unknown: UInt16 = 0  // not in the dictionary (private, unassigned)
    public static let usOrSS: UInt16 = 1
    public static let obOrOW: UInt16 = 2  // "OB or OW" and "OW or OB"
    public static let usOrOW: UInt16 = 3
    public static let usOrSSOrOW: UInt16 = 4
    public static let none: UInt16 = 5  // items and delimiters ("NONE")

    /// The code of `tag`. Generic group lengths (even group, element 0000) give UL.
    @inlinable
    public static func lookup(_ tag: UInt32) -> UInt16 {
        UInt16(truncatingIfNeeded: FastTable.shared.packed(for: tag))
    }
}

/// The `DictionaryVR` code of a VR field of the table: two letters packed, or a pseudo code.
func vrFieldCode(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt16 {
    let n = end - start
    guard n >= 2 else { return DictionaryVR.unknown }
    if n == 2 { return UInt16(p[start]) | (UInt16(p[start + 1]) << 8) }
    let text = String(decoding: UnsafeBufferPointer(rebasing: p[start..<end]), as: UTF8.self)
    switch text {
    case "US or SS": return DictionaryVR.usOrSS
    case "OB or OW", "OW or OB": return DictionaryVR.obOrOW
    case "US or OW": return DictionaryVR.usOrOW
    case "US or SS or OW": return DictionaryVR.usOrSSOrOW
    case "NONE": return DictionaryVR.none
    default: return UInt16(p[start]) | (UInt16(p[start + 1]) << 8)  // unexpected: the first VR named
    }
}

/// Splits the table into lines and fields without allocating per line. Calls `body` with the
/// line index and the field boundaries (start offsets of the six fields, plus the end of the line).
func forEachTableLine(_ body: (Int, UnsafeBufferPointer<UInt8>, _ fields: UnsafeBufferPointer<Int>) -> Void) {
    DictionaryTable.text.withUTF8Buffer { p in
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 8) { f in
            var i = 0
            var line = 0
            let n = p.count
            while i < n {
                // skip stray newlines
                if p[i] == 0x0A { i += 1; continue }
                var k = 0
                f[0] = i
                k = 1
                while i < n && p[i] != 0x0A {
                    if p[i] == UInt8(ascii: "|") && k < 6 { f[k] = i + 1; k += 1 }
                    i += 1
                }
                // f[6] = end of line; the last field ends at f[6], field j ends at f[j+1]-1
                f[6] = i + 1
                if k == 6 {
                    body(line, p, UnsafeBufferPointer(f))
                    line += 1
                }
            }
        }
    }
}

@inline(__always)
func hexValue(_ c: UInt8) -> UInt32? {
    switch c {
    case 0x30...0x39: return UInt32(c - 0x30)
    case 0x41...0x46: return UInt32(c - 0x41 + 10)
    case 0x61...0x66: return UInt32(c - 0x61 + 10)
    default: return nil
    }
}

/// Open-addressing hash table tag -> (line index + 1) << 16 | VR code, plus the masked entries.
/// Built once (thread-safe: `static let` is initialized lazily and atomically) into one buffer that
/// lives for the whole process and is never mutated afterwards (plain pointers: no reference
/// counting on the lookup path).
@usableFromInline
final class FastTable: @unchecked Sendable {
    @usableFromInline static let shared = FastTable()

    @usableFromInline static let bits = 14
    @usableFromInline static let size = 1 << bits
    static let maskSlots = 512
    static let groupLengthPacked = UInt32(UInt8(ascii: "U")) | (UInt32(UInt8(ascii: "L")) << 8)

    /// size keys, then size values (0 = empty slot).
    @usableFromInline let table: UnsafeMutablePointer<UInt32>
    /// maskSlots each of: keys (value with x digits = 0), care masks, packed values (0 = empty).
    let maskTable: UnsafeMutablePointer<UInt32>
    /// The distinct care masks (5 in PS3.6: 0xFF00FFFF, 0xFFFFFF00, ...). PS3.6 masks do not
    /// overlap, so (care, tag & care) identifies the entry.
    let maskCares: UnsafeMutablePointer<UInt32>
    let maskCareCount: Int
    /// Bit i set when some mask can match a tag whose top byte is i (pre-filter for misses).
    let maskTopBytes: (UInt64, UInt64, UInt64, UInt64)
    let plainCount: Int

    private init() {
        let size = FastTable.size
        let table = UnsafeMutablePointer<UInt32>.allocate(capacity: 2 * size)
        table.initialize(repeating: 0, count: 2 * size)
        var masked: [(UInt32, UInt32, UInt32)] = []
        var plain = 0
        forEachTableLine { line, p, f in
            var value: UInt32 = 0
            var care: UInt32 = 0
            for j in 0..<8 {
                let c = p[f[0] + j]
                value <<= 4; care <<= 4
                if c == UInt8(ascii: "x") { continue }
                value |= hexValue(c) ?? 0
                care |= 0xF
            }
            let packed = (UInt32(line + 1) << 16) | UInt32(vrFieldCode(p, f[1], f[2] - 1))
            if care == 0xFFFF_FFFF {
                guard plain < size / 2 else { return }
                var slot = Int(FastTable.hash(value))
                while table[size + slot] != 0 { slot = (slot + 1) & (size - 1) }
                table[slot] = value
                table[size + slot] = packed
                plain += 1
            } else {
                masked.append((value, care, packed))
            }
        }
        let n = FastTable.maskSlots
        let maskTable = UnsafeMutablePointer<UInt32>.allocate(capacity: 3 * n)
        maskTable.initialize(repeating: 0, count: 3 * n)
        var cares: [UInt32] = []
        var top: [UInt64] = [0, 0, 0, 0]
        for (value, care, packed) in masked.prefix(n / 2) {
            if !cares.contains(care) { cares.append(care) }
            var slot = Int(FastTable.hash(value)) & (n - 1)
            while maskTable[2 * n + slot] != 0 { slot = (slot + 1) & (n - 1) }
            maskTable[slot] = value
            maskTable[n + slot] = care
            maskTable[2 * n + slot] = packed
            if care & 0xFF00_0000 == 0xFF00_0000 {
                let b = Int(value >> 24)
                top[b >> 6] |= 1 << UInt64(b & 63)
            } else {
                top = [~0, ~0, ~0, ~0]
            }
        }
        self.table = table
        self.maskTable = maskTable
        let caresBuffer = UnsafeMutablePointer<UInt32>.allocate(capacity: max(cares.count, 1))
        caresBuffer.initialize(from: cares, count: cares.count)
        self.maskCares = caresBuffer
        self.maskCareCount = cares.count
        self.maskTopBytes = (top[0], top[1], top[2], top[3])
        self.plainCount = plain
    }

    @usableFromInline @inline(__always)
    static func hash(_ tag: UInt32) -> UInt32 {
        (tag &* 0x9E37_79B1) >> UInt32(32 - bits)
    }

    /// (line + 1) << 16 | VR code for `tag`, 0 when unknown. Generic group lengths: UL with line 0.
    @inlinable
    func packed(for tag: UInt32) -> UInt32 {
        let size = FastTable.size
        var slot = Int(FastTable.hash(tag))
        while true {
            let value = table[size &+ slot]
            if value == 0 { break }
            if table[slot] == tag { return value }
            slot = (slot &+ 1) & (size &- 1)
        }
        return slowPacked(for: tag)
    }

    @usableFromInline
    func slowPacked(for tag: UInt32) -> UInt32 {
        if tag & 0x0001_0000 != 0 { return 0 }  // private (odd group)
        let b = Int(tag >> 24)
        let word: UInt64
        switch b >> 6 {
        case 0: word = maskTopBytes.0
        case 1: word = maskTopBytes.1
        case 2: word = maskTopBytes.2
        default: word = maskTopBytes.3
        }
        if word & (1 << UInt64(b & 63)) != 0 {
            let n = FastTable.maskSlots
            let m = maskTable
            for k in 0..<maskCareCount {
                let care = maskCares[k]
                let v = tag & care
                var slot = Int(FastTable.hash(v)) & (n - 1)
                while m[2 * n + slot] != 0 {
                    if m[slot] == v && m[n + slot] == care { return m[2 * n + slot] }
                    slot = (slot + 1) & (n - 1)
                }
            }
        }
        return tag & 0xFFFF == 0 ? FastTable.groupLengthPacked : 0
    }

    /// Line index of `tag` in the table (exact or masked), nil when not in the table.
    func lineIndex(for tag: UInt32) -> Int? {
        let v = packed(for: tag) >> 16
        return v == 0 ? nil : Int(v) - 1
    }
}

/// Full entries with strings, and the keyword map. Built on first use of `entry(for:)` /
/// `tag(forKeyword:)`; the implicit-VR fast path never needs it.
final class FullTable: Sendable {
    static let shared = FullTable()

    let entries: [DictionaryEntry]
    let keywordToTag: [String: UInt32]
    /// Mask texts of the masked entries, in table order (they follow the plain entries).
    let masks: [String]

    private init() {
        var entries: [DictionaryEntry] = []
        entries.reserveCapacity(DictionaryTable.entryCount)
        var keywordToTag: [String: UInt32] = [:]
        keywordToTag.reserveCapacity(DictionaryTable.entryCount)
        var masks: [String] = []
        forEachTableLine { line, p, f in
            func field(_ j: Int) -> String {
                String(decoding: UnsafeBufferPointer(rebasing: p[f[j]..<(f[j + 1] - 1)]), as: UTF8.self)
            }
            let tagText = field(0)
            var tag: UInt32 = 0
            var xNibbles: [UInt32] = []  // shifts of the 'x' digits
            for (j, c) in tagText.utf8.enumerated() {
                tag = (tag << 4) | (hexValue(c) ?? 0)  // 'x' -> 0
                if c == UInt8(ascii: "x") { xNibbles.append(UInt32(28 - 4 * j)) }
            }
            if !xNibbles.isEmpty {
                // Representative tag: the smallest match of the mask that resolves to this line
                // (an exact entry may shadow some matches, e.g. 00280400 vs 002804x0).
                let base = tag
                for n in 0..<(UInt32(1) << UInt32(4 * xNibbles.count)) {
                    var t = base
                    for (k, shift) in xNibbles.reversed().enumerated() {
                        t |= ((n >> UInt32(4 * k)) & 0xF) << shift
                    }
                    if FastTable.shared.lineIndex(for: t) == line { tag = t; break }
                }
            }
            let e = DictionaryEntry(
                tag: tag, vr: field(1), vm: field(2), keyword: field(3), name: field(4),
                retired: f[6] - 1 > f[5])
            if tagText.utf8.contains(UInt8(ascii: "x")) { masks.append(tagText) }
            if !e.keyword.isEmpty && keywordToTag[e.keyword] == nil { keywordToTag[e.keyword] = tag }
            entries.append(e)
        }
        self.entries = entries
        self.keywordToTag = keywordToTag
        self.masks = masks
    }
}
