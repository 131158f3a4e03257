// The write round-trip property of the fuzz harness: read -> flatten -> encode -> read gives the same
// elements (tag, VR, kind, value at every sequence level), as python/tests/test_roundtrip.py checks
// through petct.dcmwrite on the oracle files.
//
// The harness flattens a data set the way python/petct/flatten.py does (the writer's only other
// caller), then compares. Documented exceptions, each one what the writer legitimately changes (the
// README's fuzzing paragraph lists the same):
//  1. the file meta group (0002,xxxx) at the top level: the writer builds its own (a data set without
//     SOP UIDs gets placeholder Media Storage SOP UIDs there, its fallback, as encode_for_decoding);
//  2. group lengths (gggg,0000) are not compared, and the command group (0000,xxxx) at the top level
//     is not written (a Part 10 file holds no command set; flatten.py drops it too);
//  3. ambiguous-VR tags (US or SS, OB or OW...): the writer resolves the VR from the value, Pixel
//     Representation and Bits Allocated, so the VR is not compared; integer values are compared
//     modulo 2^16 (a US 65535 written as SS reads back -1), byte values as bytes;
//  4. byte values (OW / OF / OL / OD / OV) of big-endian data: flattened as little-endian words, as
//     flatten.py does, and compared as such;
//  5. text in a character set other than UTF-8: the reader holds it decoded (UTF-8), so the harness
//     writes UTF-8 with Specific Character Set "ISO_IR 192" (flatten.py's fallback) and compares
//     decoded text; (0008,0005) itself is then not compared. Text of VRs without a character set
//     (CS, UI, DA...: read as ISO 8859-1) is flattened back to ISO 8859-1;
//  6. a byte value of odd length (invalid DICOM, read as found) gets the padding byte the writer
//     must add: compared with a trailing 0x00 (UN, OB: pydicom keeps the padding of byte values);
//  7. undecodable text (kind rawText: bytes no decoder accepted) is written as its bytes: under
//     "ISO_IR 192" it may decode on the second read, so only its tag is compared;
//  8. text whose padding strip is not idempotent: DS whitespace the reader kept because a NUL
//     followed it ("1\x0c\0" reads "1\x0c"), PN NULs or spaces a trailing '=' hid ("A\0=" reads
//     "A\0"): the writer's padding byte or the second strip removes them, so trailing DS whitespace
//     and PN NUL / space / '=' are compared trimmed.
//  9. text of a character-set VR that holds both an escape sequence and U+FFFD: the decoder's
//     fallback for an ISO 2022 fragment with undecodable bytes (pydicom's, kept) decodes the whole
//     fragment, escape sequence included, with the first set; read again, the fragment decodes and
//     the escape sequence goes. Only its tag is compared.
// 10. a DS read as numbers from a value longer than DS's 16 characters (invalid DS) whose number needs
//     more digits than 16 characters hold: written with the most digits that fit (formatDS), so
//     compared to 1e-9 relative (WriterTests' dsFormattingKeepsEveryDigitThatFits: anything a
//     16-character spelling holds comes back exactly).
// Not an exception but part of the flattening (5, `charsetPlan`): text is written back in the
// character set it will be read again with, which depends on its place in the sorted output.
// A data set the writer refuses (unknown VR letters, a value of the wrong kind for its VR, duplicate
// tags in one data set, a native pixel data record under an encapsulated syntax...) is skipped: that is the writer's documented argument check.
// A file the writer produced that the reader refuses, or any other difference, is a finding.
import DicomBytes
import DicomDictionary
import DicomParser
import DicomWriter

#if canImport(Glibc)
import Glibc
#endif

/// Triage mode: with PETCT_FUZZ_REPORT set, a difference is printed and the run goes on (replay a
/// whole folder: `PETCT_FUZZ_REPORT=1 $BIN -runs=0 DIR`); otherwise it is printed, then traps.
let reportOnly = getenv("PETCT_FUZZ_REPORT") != nil

func finding(_ message: String) {
    fputs("petct-fuzz finding: \(message)\n", stderr)
    fflush(stderr)
    if !reportOnly { abort() }
}

/// Text VRs decoded with the data set's character set (the others are read as ISO 8859-1).
let charsetVRs: Set<UInt16> = [VRCode.PN, VRCode.LO, VRCode.SH, VRCode.UC, VRCode.LT, VRCode.ST, VRCode.UT]

/// Word size of a byte VR whose words are swapped between big and little endian, else 1.
func wordSize(_ vr: UInt16) -> Int {
    switch vr {
    case VRCode.OW: return 2
    case VRCode.OF, VRCode.OL: return 4
    case VRCode.OD, VRCode.OV: return 8
    default: return 1
    }
}

func isAmbiguous(_ e: Element) -> Bool {
    e.kind != .sequence && e.kind != .item && AmbiguousVR.first(DictionaryVR.lookup(e.tag)) != nil
}

/// A `.bytes` value of `ds` as little-endian bytes (exception 4), nil when outside the source.
func byteValue(_ ds: Dataset, _ e: Element) -> [UInt8]? {
    guard e.valueOffset >= 0, e.valueLength >= 0, e.valueOffset <= ds.source.count - e.valueLength else {
        return nil
    }
    var v = Array(ds.source[e.valueOffset..<(e.valueOffset + e.valueLength)])
    let w = wordSize(e.vr)
    if !ds.isLittleEndian && w > 1 && !e.flags.contains(.encapsulated) && v.count % w == 0 {
        var k = 0
        while k < v.count { v[k..<(k + w)].reverse(); k += w }
    }
    return v
}

func heapValue(_ ds: Dataset, _ e: Element) -> [UInt8]? {
    guard e.valueOffset >= 0, e.valueLength >= 0, e.valueOffset <= ds.heap.count - e.valueLength else { return nil }
    return Array(ds.heap[e.valueOffset..<(e.valueOffset + e.valueLength)])
}

/// UTF-8 text whose code points are all below 256 as ISO 8859-1 bytes, nil otherwise.
func latin1(_ utf8: [UInt8]) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count)
    for scalar in String(decoding: utf8, as: UTF8.self).unicodeScalars {
        guard scalar.value < 256 else { return nil }
        out.append(UInt8(scalar.value))
    }
    return out
}

/// True when UTF-8 `v` holds U+FFFD (bytes the decoder replaced).
func containsReplacement(_ v: [UInt8]) -> Bool {
    var k = 0
    while k + 2 < v.count {
        if v[k] == 0xEF && v[k + 1] == 0xBF && v[k + 2] == 0xBD { return true }
        k += 1
    }
    return false
}

/// One element in comparable form; sequence items as child lists, sorted by tag as the writer sorts.
struct Node: Equatable, CustomStringConvertible {
    var tag: UInt32
    var vr: UInt16
    var kind: ValueKind
    var ambiguous: Bool
    var value: [UInt8]
    var items: [[Node]]
    /// A DS read as numbers from a text value longer than DS's 16 characters (exception 10).
    var longDS = false

    var description: String {
        let hex = value.prefix(reportOnly ? 100_000 : 48).map { String($0, radix: 16) }.joined(separator: " ")
        return "\(formatTag(tag)) \(VRCode.string(vr)) kind \(kind) \(value.count) bytes [\(hex)"
            + (value.count > 48 ? " ...]" : "]") + (items.isEmpty ? "" : " \(items.count) items")
    }
}

/// The comparable elements of records [start, end) of `ds`; without (0008,0005) when `dropCharset`.
func nodes(_ ds: Dataset, _ start: Int, _ end: Int, top: Bool, dropCharset: Bool) -> [Node] {
    var out: [Node] = []
    var i = start
    while i < end {
        let e = ds.elements[i]
        let next = i + 1 + Int(e.descendants)
        defer { i = next }
        if e.tag & 0xFFFF == 0 || (top && (e.group == 0x0002 || e.group == 0x0000)) { continue }  // exceptions 1, 2
        if dropCharset && e.tag == Tags.specificCharacterSet { continue }  // exception 5
        var node = Node(tag: e.tag, vr: e.vr, kind: e.kind, ambiguous: isAmbiguous(e), value: [], items: [])
        switch e.kind {
        case .sequence:
            var j = i + 1
            while j < min(next, end) {
                let item = ds.elements[j]
                node.items.append(
                    nodes(ds, j + 1, min(j + 1 + Int(item.descendants), next), top: false, dropCharset: dropCharset))
                j += 1 + Int(item.descendants)
            }
        case .item, .empty: break
        case .bytes:
            node.value = byteValue(ds, e) ?? []
            if node.value.count % 2 == 1 && !e.flags.contains(.encapsulated) { node.value.append(0) }  // exception 6
        default:
            node.value = heapValue(ds, e) ?? []
            if e.kind == .float && e.vr == VRCode.DS, let r = ds.encodedValueRange(at: i) {
                node.longDS = ds.source[r].split(separator: 0x5C).contains { $0.count > 16 }
            }
            if e.kind == .text && (e.vr == VRCode.DS || e.vr == VRCode.PN) {  // exception 8
                let isDS = e.vr == VRCode.DS
                func hidden(_ c: UInt8) -> Bool {
                    if c == 0 || c == 0x20 { return true }
                    return isDS ? (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F) : c == 0x3D
                }
                while let last = node.value.last, hidden(last) { node.value.removeLast() }
                if node.value.isEmpty { node.kind = .empty }  // "\x0c\0" reads "\x0c", then nothing
            }
        }
        out.append(node)
    }
    return out.enumerated().sorted { ($0.element.tag, $0.offset) < ($1.element.tag, $1.offset) }.map(\.element)
}

/// Equal but for the documented exceptions.
func same(_ a: Node, _ b: Node) -> Bool {
    guard a.tag == b.tag else { return false }
    if a.kind == .rawText || b.kind == .rawText { return true }  // exception 7
    if a.kind == .text && charsetVRs.contains(a.vr) && a.value.contains(0x1B) && containsReplacement(a.value) {
        return true  // exception 9
    }
    if a.ambiguous {  // exception 3
        if a.kind == .int && b.kind == .int {
            guard a.value.count == b.value.count else { return false }
            for k in stride(from: 0, to: a.value.count, by: 8) {
                let low: Bool = a.value[k] == b.value[k]
                if !low || a.value[k + 1] != b.value[k + 1] { return false }
            }
            return true
        }
        return a.kind == b.kind && a.value == b.value
    }
    if a.longDS && b.kind == .float && a.value.count == b.value.count && a.value != b.value {  // exception 10
        return stride(from: 0, to: a.value.count, by: 8).allSatisfy { k in
            let x = a.value.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: k, as: Double.self) }
            let y = b.value.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: k, as: Double.self) }
            return x == y || abs(x - y) <= abs(x) * 1e-9
        }
    }
    guard a.vr == b.vr, a.kind == b.kind, a.value == b.value, a.items.count == b.items.count
    else { return false }
    for (x, y) in zip(a.items, b.items) where firstDifference(x, y) != nil { return false }
    return true
}

/// Index of the first differing node, nil when the lists are the same.
func firstDifference(_ a: [Node], _ b: [Node]) -> Int? {
    for k in 0..<min(a.count, b.count) where !same(a[k], b[k]) { return k }
    return a.count == b.count ? nil : min(a.count, b.count)
}

/// The path to the first differing node, for the finding's message.
func describeDifference(_ a: [Node], _ b: [Node], path: String = "") -> String {
    guard let k = firstDifference(a, b) else { return "\(path)no difference" }
    guard k < a.count, k < b.count else {
        return "\(path)\(a.count) elements before, \(b.count) after; first unmatched: "
            + (k < a.count ? "before \(a[k])" : "after \(b[k])")
    }
    let x = a[k], y = b[k]
    if x.tag == y.tag, x.kind == .sequence, y.kind == .sequence, x.items.count == y.items.count {
        for (n, (p, q)) in zip(x.items, y.items).enumerated()
        where firstDifference(p, q) != nil {
            return describeDifference(p, q, path: path + "\(formatTag(x.tag))[\(n)] > ")
        }
    }
    return "\(path)before \(x) / after \(y)"
}

/// Flattens `ds` into writer records as python/petct/flatten.py does (see the exceptions above).
/// Returns nil when the data set cannot be flattened (a value outside its buffer).
func flatten(_ ds: Dataset) -> (records: [WriteElement], heap: [UInt8], rewroteCharset: Bool)? {
    var heap = ds.heap
    var records: [WriteElement] = []
    records.reserveCapacity(ds.elements.count + 1)
    var topLevel = [Bool](repeating: false, count: ds.elements.count)
    var t = 0
    while t < ds.elements.count { topLevel[t] = true; t += 1 + Int(ds.elements[t].descendants) }
    let plan = charsetPlan(ds, topLevel: topLevel)
    let rewrite = plan.rewrite
    let utf8Term = Array("ISO_IR 192".utf8)
    if rewrite
        && !ds.elements.indices.contains(where: { topLevel[$0] && ds.elements[$0].tag == Tags.specificCharacterSet })
    {
        records.append(
            WriteElement(
                tag: Tags.specificCharacterSet, vr: VRCode.CS, kind: .text, count: 1, valueOffset: heap.count,
                valueLength: utf8Term.count))
        heap += utf8Term
    }
    let encapsulatedSyntax = !TransferSyntax.isNative(ds.transferSyntax)
    var i = 0
    while i < ds.elements.count {
        let e = ds.elements[i]
        // the file meta: the writer builds its own; only an encapsulated syntax is passed on (the
        // SOP UIDs are added below)
        if e.group == 0x0002 && topLevel[i]
            && !(encapsulatedSyntax && e.tag == Tags.transferSyntaxUID)
        {
            i += 1 + Int(e.descendants)
            continue
        }
        var r = WriteElement(
            tag: e.tag, vr: e.vr, kind: e.kind, count: e.count, descendants: e.descendants,
            valueOffset: e.valueOffset, valueLength: e.valueLength,
            encapsulated: e.flags.contains(.encapsulated))
        if e.kind == .bytes {
            guard let v = byteValue(ds, e) else { return nil }
            r.valueOffset = heap.count
            heap += v
        } else if rewrite && e.tag == Tags.specificCharacterSet {
            r.kind = .text
            r.valueOffset = heap.count
            r.valueLength = utf8Term.count
            heap += utf8Term
        } else if e.kind == .text && !plan.utf8OnReread[i], let v = heapValue(ds, e),
            v.contains(where: { $0 >= 0x80 })
        {
            guard let l = latin1(v) else { return nil }  // not representable where it is read again
            r.valueOffset = heap.count
            r.valueLength = l.count
            heap += l
        }
        records.append(r)
        i += 1
    }
    // Media Storage SOP Class / Instance UID: the writer's fallback when the data set has no SOP
    // UIDs (flatten.py passes file_meta's; encode_for_decoding puts placeholders): the meta's values
    // where the input has them, else placeholders. Only the file meta gets them (exception 1).
    for (tag, placeholder) in [
        (Tags.mediaStorageSOPClassUID, "1.2.840.10008.5.1.4.1.1.7"), (Tags.mediaStorageSOPInstanceUID, "2.25.0"),
    ] {
        var value = Array(placeholder.utf8)
        if let m = ds.elements.indices.first(where: { topLevel[$0] && ds.elements[$0].tag == tag }),
            ds.elements[m].kind == .text, let v = heapValue(ds, ds.elements[m]), !v.isEmpty
        {
            value = v
        }
        records.append(
            WriteElement(
                tag: tag, vr: VRCode.UI, kind: .text, count: 1, valueOffset: heap.count, valueLength: value.count))
        heap += value
    }
    return (records, heap, rewrite)
}

/// Exception 5: whether the harness writes every (0008,0005) as "ISO_IR 192" (non-ASCII text of a
/// character-set VR in a data set that is not UTF-8 throughout), and for each record whether its
/// text is decoded as UTF-8 when the written file is read again. The reader applies a character set
/// from where it stands on, as it streams (pydicom decodes a whole data set with it); the writer
/// sorts every level by tag. So text after its level's (0008,0005) in tag order is read under that
/// set, text before it under the enclosing level's (ISO 8859-1 at the top, as every text VR
/// without a character set), whatever the order the input had.
func charsetPlan(_ ds: Dataset, topLevel: [Bool]) -> (rewrite: Bool, utf8OnReread: [Bool]) {
    let utf8Term = Array("ISO_IR 192".utf8)
    var nonASCII = false
    var allUTF8 = ds.elements.indices.contains { topLevel[$0] && ds.elements[$0].tag == Tags.specificCharacterSet }
    for e in ds.elements {
        if e.tag == Tags.specificCharacterSet {
            if e.kind != .text || heapValue(ds, e) != utf8Term { allUTF8 = false }
        } else if e.kind == .text && charsetVRs.contains(e.vr), let v = heapValue(ds, e),
            v.contains(where: { $0 >= 0x80 })
        {
            nonASCII = true
        }
    }
    let rewrite = nonASCII && !allUTF8
    var utf8 = [Bool](repeating: false, count: ds.elements.count)
    func mark(_ start: Int, _ end: Int, inherited: Bool, top: Bool) {
        var levelUTF8: Bool? = top && rewrite ? true : nil  // the top level gets one when rewriting
        var i = start
        while i < end {
            let e = ds.elements[i]
            if e.tag == Tags.specificCharacterSet {
                levelUTF8 = rewrite || (e.kind == .text && heapValue(ds, e) == utf8Term)
            }
            i += 1 + Int(e.descendants)
        }
        i = start
        while i < end {
            let e = ds.elements[i]
            let next = min(end, i + 1 + Int(e.descendants))
            let here = e.tag > Tags.specificCharacterSet ? (levelUTF8 ?? inherited) : inherited
            utf8[i] = here && charsetVRs.contains(e.vr)
            var j = i + 1
            while e.kind == .sequence && j < next {
                let itemEnd = min(next, j + 1 + Int(ds.elements[j].descendants))
                mark(j + 1, itemEnd, inherited: here, top: false)
                j = itemEnd
            }
            i = next
        }
    }
    mark(0, ds.elements.count, inherited: false, top: true)
    return (rewrite, utf8)
}

/// Flattens `ds`, encodes it with the Swift writer and reads it again: the elements must come back.
func roundTrip(_ ds: Dataset) {
    guard let flat = flatten(ds) else { return }
    let encoded: [UInt8]
    do { encoded = try DicomFileWriter.encode(elements: flat.records, heap: flat.heap) } catch {
        if reportOnly { fputs("petct-fuzz skipped: the writer refuses: \(error)\n", stderr) }
        return
    }
    if reportOnly { fputs("petct-fuzz compared: \(ds.elements.count) records\n", stderr) }
    let again: Dataset
    do { again = try DicomReader.read(bytes: encoded, options: ReadOptions()) } catch {
        finding("the reader refuses what the writer wrote: \(error)")
        return
    }
    let a = nodes(ds, 0, ds.elements.count, top: true, dropCharset: flat.rewroteCharset)
    let b = nodes(again, 0, again.elements.count, top: true, dropCharset: flat.rewroteCharset)
    if firstDifference(a, b) != nil {
        finding("round trip changed an element: " + describeDifference(a, b))
    }
}
