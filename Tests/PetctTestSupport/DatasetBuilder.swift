import DicomBytes
import DicomParser

/// A hand-built element value for `makeDataset`.
public indirect enum TestValue {
    case int([Int64], vr: StaticString = "US")
    case float([Double], vr: StaticString = "DS")
    case text(String, vr: StaticString = "CS")
    /// Raw bytes kept in the source (OB/OW/UN, bulk data); `encapsulated` marks fragments.
    case bytes([UInt8], vr: StaticString = "OW", encapsulated: Bool = false)
    case sequence([[(UInt32, TestValue)]])
}

/// Assembles a Dataset from (tag, value) pairs (sorted by tag) as the parser lays it out, without a
/// reader: numbers and text in the heap, bytes in the source (after 16 filler bytes, each value followed
/// by 3 bytes that are not part of it), sequences flattened in pre-order, empty text as `.empty`.
/// `fileMeta` adds a (0002,0010) element naming `transferSyntax`.
public func makeDataset(
    _ entries: [(UInt32, TestValue)], transferSyntax: String = TransferSyntax.explicitVRLittleEndian,
    bigEndian: Bool = false, fileMeta: Bool = true, flags: DatasetFlags = []
) -> Dataset {
    var heap: [UInt8] = []
    var source: [UInt8] = Array(repeating: 0xAA, count: 16)  // something before the values
    var elements: [Element] = []

    func appendBytes<T>(_ values: [T]) -> Int {
        let start = heap.count
        for var v in values { withUnsafeBytes(of: &v) { heap.append(contentsOf: $0) } }
        return start
    }

    func emit(_ list: [(UInt32, TestValue)]) {
        for (tag, value) in list.sorted(by: { $0.0 < $1.0 }) {
            switch value {
            case .int(let v, let vr):
                let off = appendBytes(v)
                elements.append(
                    Element(
                        tag: tag, vr: vrCode(vr), kind: .int, count: UInt32(v.count),
                        valueOffset: off, valueLength: v.count * 8))
            case .float(let v, let vr):
                let off = appendBytes(v)
                elements.append(
                    Element(
                        tag: tag, vr: vrCode(vr), kind: .float, count: UInt32(v.count),
                        valueOffset: off, valueLength: v.count * 8))
            case .text(let s, let vr):
                let off = heap.count
                heap.append(contentsOf: Array(s.utf8))
                elements.append(
                    Element(
                        tag: tag, vr: vrCode(vr), kind: s.isEmpty ? .empty : .text, count: 1,
                        valueOffset: off, valueLength: s.utf8.count))
            case .bytes(let b, let vr, let encapsulated):
                let off = source.count
                source.append(contentsOf: b)
                source.append(contentsOf: [0xEE, 0xEE, 0xEE])  // trailing bytes that are not part of the value
                elements.append(
                    Element(
                        tag: tag, vr: vrCode(vr), kind: .bytes,
                        flags: encapsulated ? [.encapsulated, .undefinedLength] : [],
                        count: 1, valueOffset: off, valueLength: b.count, fileOffset: off - 12))
            case .sequence(let items):
                let seqIndex = elements.count
                elements.append(Element(tag: tag, vr: vrCode("SQ"), kind: .sequence, count: UInt32(items.count)))
                for item in items {
                    let itemIndex = elements.count
                    elements.append(Element(tag: Tags.item, vr: 0, kind: .item, count: UInt32(item.count)))
                    emit(item)
                    elements[itemIndex].descendants = UInt32(elements.count - itemIndex - 1)
                }
                elements[seqIndex].descendants = UInt32(elements.count - seqIndex - 1)
            }
        }
    }
    emit((fileMeta ? [(Tags.transferSyntaxUID, .text(transferSyntax, vr: "UI"))] : []) + entries)
    return Dataset(
        source: source, heap: heap, elements: elements,
        flags: flags.union(bigEndian ? [.bigEndian] : []), transferSyntax: transferSyntax,
        characterSet: "")
}
