// The buffers handed across the C ABI: the in-memory encode + parse call, the data set view's buffers
// owned by the handle, and the bounded copy of source bytes.
import CPetct
import Testing

@testable import PetctExport

/// Text records for `values` (tag, VR, text) and their heap.
func textRecords(_ values: [(UInt32, String, String)]) -> ([petct_write_element], [UInt8]) {
    var heap: [UInt8] = []
    var records: [petct_write_element] = []
    for (tag, vr, text) in values {
        let bytes = Array(vr.utf8)
        var r = petct_write_element()
        r.tag = tag
        r.vr = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
        r.kind = UInt8(PETCT_KIND_TEXT)
        r.count = 1
        r.value_offset = UInt64(heap.count)
        r.value_length = UInt64(text.utf8.count)
        heap += Array(text.utf8)
        records.append(r)
    }
    return (records, heap)
}

@Test func encodeReadParsesTheWrittenRecordsInMemory() {
    let (records, heap) = textRecords([
        (0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.7"), (0x0008_0018, "UI", "2.25.7"),
        (0x0010_0010, "PN", "Doe^Jane"),
    ])
    var ds: OpaquePointer?
    var err = petct_error()
    let rc = petct_encode_read(records, records.count, heap, heap.count, 0, &ds, &err)
    #expect(rc == 0)
    guard let ds else { return }
    defer { petct_dataset_free(ds) }
    var v1 = petct_dataset_view()
    var v2 = petct_dataset_view()
    #expect(petct_dataset_get_view(ds, &v1) == 0)
    #expect(petct_dataset_get_view(ds, &v2) == 0)
    // the handle owns the buffers: every view points at the same storage, and the source is not shared
    #expect(v1.elements == v2.elements && v1.heap == v2.heap)
    #expect(v1.source == nil && v1.source_length > 132)
    let elements = UnsafeBufferPointer(start: v1.elements, count: v1.element_count)
    guard let name = elements.first(where: { $0.tag == 0x0010_0010 }) else {
        Issue.record("PatientName missing")
        return
    }
    let text = UnsafeRawBufferPointer(start: v1.heap, count: v1.heap_length)[
        Int(name.value_offset)..<Int(name.value_offset + name.value_length)]
    #expect(String(decoding: text, as: UTF8.self) == "Doe^Jane")
    // the preamble's DICM magic, copied through the bounded call; a range past the end is refused
    var magic = [UInt8](repeating: 0, count: 4)
    #expect(petct_dataset_copy_source(ds, 128, 4, &magic) == 0)
    #expect(magic == Array("DICM".utf8))
    #expect(petct_dataset_copy_source(ds, UInt64(v1.source_length) - 2, 4, &magic) == Int32(PETCT_E_ARGUMENT))
}

@Test func encodeReadReportsABadRecord() {
    var (records, heap) = textRecords([(0x0010_0010, "PN", "Doe^Jane")])
    records[0].kind = 200
    var ds: OpaquePointer?
    var err = petct_error()
    #expect(petct_encode_read(records, records.count, heap, heap.count, 0, &ds, &err) == Int32(PETCT_E_ARGUMENT))
    #expect(ds == nil)
}

/// The whole source of `ds`, copied through petct_dataset_copy_source.
func sourceBytes(_ ds: OpaquePointer) -> [UInt8] {
    var v = petct_dataset_view()
    guard petct_dataset_get_view(ds, &v) == 0 else { return [] }
    var bytes = [UInt8](repeating: 0, count: v.source_length)
    guard petct_dataset_copy_source(ds, 0, bytes.count, &bytes) == 0 else { return [] }
    return bytes
}

@Test func encodeOnlyHoldsTheBytesThatEncodeReadParses() {
    let (records, heap) = textRecords([
        (0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.7"), (0x0008_0018, "UI", "2.25.7"),
        (0x0010_0010, "PN", "Doe^Jane"),
    ])
    var parsed: OpaquePointer?
    var encoded: OpaquePointer?
    var err = petct_error()
    #expect(petct_encode_read(records, records.count, heap, heap.count, 0, &parsed, &err) == 0)
    #expect(petct_encode_read(records, records.count, heap, heap.count, PETCT_ENCODE_ONLY, &encoded, &err) == 0)
    guard let parsed, let encoded else { return }
    defer {
        petct_dataset_free(parsed)
        petct_dataset_free(encoded)
    }
    var v = petct_dataset_view()
    #expect(petct_dataset_get_view(encoded, &v) == 0)
    #expect(v.element_count == 0 && v.heap_length == 0 && v.flags == 0)  // not parsed
    let bytes = sourceBytes(encoded)
    #expect(bytes.count > 132 && Array(bytes[128..<132]) == Array("DICM".utf8))
    #expect(bytes == sourceBytes(parsed))  // the same Part 10 bytes the parse read
}

@Test func encodeOnlyReportsABadRecord() {
    var (records, heap) = textRecords([(0x0010_0010, "PN", "Doe^Jane")])
    records[0].kind = 200
    var ds: OpaquePointer?
    var err = petct_error()
    let rc = petct_encode_read(records, records.count, heap, heap.count, PETCT_ENCODE_ONLY, &ds, &err)
    #expect(rc == Int32(PETCT_E_ARGUMENT) && ds == nil)
}
