// What the exports in Exports.swift share: error records, C strings, the handle classes that own what
// C sees (data sets, scans, volumes, masks) and the conversions of C arguments to Swift values. No
// `@_cdecl` here: every exported symbol stays in Exports.swift.
import CPetct
import DicomBytes
import DicomDictionary
import DicomParser
import DicomWriter
import Glibc
import PetctMasks
import PetctPairing
import PetctSUV
import PetctSeries

let statusOK = Int32(PETCT_OK)

/// Fills a C error record; message truncated to fit (on a UTF-8 boundary).
func fill(_ err: UnsafeMutablePointer<petct_error>?, _ e: DicomError) -> Int32 {
    guard let err else { return e.kind.rawValue }
    err.pointee.code = e.kind.rawValue
    err.pointee.tag = e.tag ?? PETCT_NO_TAG
    err.pointee.offset = Int64(e.offset)
    err.pointee.os_errno = e.osErrno
    err.pointee.reserved = 0
    err.pointee.item_index = Int64(e.itemIndex)
    copyCString(FilePath.display(e.message), into: &err.pointee.message)
    return e.kind.rawValue
}

func copyCString<T>(_ s: String, into tuple: inout T) {
    withUnsafeMutableBytes(of: &tuple) { raw in
        let cap = raw.count - 1
        var utf8 = Array(s.utf8)
        if utf8.count > cap {
            var n = cap
            while n > 0 && (utf8[n] & 0xC0) == 0x80 { n -= 1 }  // do not cut a code point
            utf8 = Array(utf8[0..<n])
        }
        for (i, b) in utf8.enumerated() { raw[i] = b }
        raw[utf8.count] = 0
    }
}

func argumentError(_ err: UnsafeMutablePointer<petct_error>?, _ message: String) -> Int32 {
    fill(err, DicomError(.argument, message))
}

/// A stable copy of an array, owned by a handle: allocated and filled once, freed in `deinit`, so a
/// pointer handed to C never escapes a `withUnsafeBufferPointer` closure.
final class OwnedBuffer<T> {
    let pointer: UnsafeMutablePointer<T>?
    let count: Int
    init(_ values: some Collection<T>) {
        count = values.count
        if count == 0 {
            pointer = nil
            return
        }
        let p = UnsafeMutablePointer<T>.allocate(capacity: count)
        _ = UnsafeMutableBufferPointer(start: p, count: count).initialize(from: values)
        pointer = p
    }
    deinit {
        guard let pointer else { return }
        pointer.deinitialize(count: count)
        pointer.deallocate()
    }
}

/// Owner of a Dataset handed to C. The element table (in the C layout) and the value heap are copied
/// once into buffers the handle owns; the view points into them. The source bytes (which hold the
/// pixel data) are not copied: the Dataset keeps them and `source` exposes them without a copy.
final class DatasetHandle {
    let dataset: Dataset
    let cElements: OwnedBuffer<petct_element>
    let heap: OwnedBuffer<UInt8>
    init(_ ds: Dataset) {
        dataset = ds
        cElements = OwnedBuffer(
            ds.elements.lazy.map { e in
                petct_element(
                    tag: e.tag, vr: e.vr, kind: e.kind.rawValue, flags: e.flags.rawValue, count: e.count,
                    descendants: e.descendants, value_offset: UInt64(e.valueOffset),
                    value_length: UInt64(e.valueLength), file_offset: Int64(e.fileOffset))
            })
        heap = OwnedBuffer(ds.heap)
    }
    static func from(_ p: OpaquePointer?) -> DatasetHandle? {
        guard let p else { return nil }
        return Unmanaged<DatasetHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }
}

func readOptions(_ flags: UInt32) -> ReadOptions {
    ReadOptions(
        stopBeforePixels: flags & PETCT_READ_STOP_BEFORE_PIXELS != 0,
        force: flags & PETCT_READ_FORCE != 0,
        decodeCharset: flags & PETCT_READ_NO_CHARSET == 0)
}

/// A data set that only holds `bytes` as its source (no elements): PETCT_ENCODE_ONLY's result, so the
/// encoded Part 10 bytes reach C through the existing handle and petct_dataset_copy_source, uncopied.
func encodedBytes(_ bytes: [UInt8]) -> Dataset {
    Dataset(source: bytes, heap: [], elements: [], flags: [], transferSyntax: "", characterSet: "")
}

func publish(_ ds: Dataset, _ out: UnsafeMutablePointer<OpaquePointer?>) -> Int32 {
    let handle = DatasetHandle(ds)
    out.pointee = OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
    return statusOK
}

/// A Swift-owned, NUL-terminated UTF-8 copy of a JSON document, allocated and copied once, freed with
/// its owner (`deinit`): the pointer handed to C stays valid as long as the owner lives.
final class CText {
    let storage: OwnedBuffer<CChar>
    init(_ s: String) { storage = OwnedBuffer(s.utf8CString) }
    var pointer: UnsafePointer<CChar> { UnsafePointer(storage.pointer!) }
}

/// Publishes a progress count to a counter the caller polls from another thread (petct_scan_files'
/// `files_done`): one aligned 8-byte store, not inlined so it is not merged or dropped; only one thread
/// (the one running the call) writes it, and the C caller reads it with an atomic load.
@inline(never)
func storeCounter(_ p: UnsafeMutablePointer<Int64>, _ value: Int64) {
    UnsafeMutableRawPointer(p).storeBytes(of: value, as: Int64.self)
}

func pathList(_ paths: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int) -> [String]? {
    guard count >= 0, paths != nil || count == 0 else { return nil }
    var out: [String] = []
    out.reserveCapacity(count)
    for i in 0..<count {
        guard let p = paths![i] else { return nil }
        out.append(FilePath.escaped(cString: p))  // lossless: bytes that are not UTF-8 survive
    }
    return out
}

func retain<T: AnyObject>(_ obj: T) -> OpaquePointer { OpaquePointer(Unmanaged.passRetained(obj).toOpaque()) }
func borrow<T: AnyObject>(_ p: OpaquePointer?, as _: T.Type) -> T? {
    guard let p else { return nil }
    return Unmanaged<T>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
}
func release<T: AnyObject>(_ p: OpaquePointer?, as _: T.Type) {
    guard let p else { return }
    Unmanaged<T>.fromOpaque(UnsafeRawPointer(p)).release()
}

/// A scan: its JSON document and, with PETCT_SCAN_KEEP_HEADERS, the parsed header of every file it read.
final class ScanHandle {
    let json: CText
    let headers: [String: Dataset]
    init(json: String, headers: [String: Dataset]) { self.json = CText(json); self.headers = headers }
}

final class VolumeHandle {
    let plan: VolumePlan
    let json: CText
    /// The SUV reports computed so far, one per kind, each kept until the volume is freed so the pointer
    /// petct_volume_suv hands out stays valid. Guarded by `lock`: calls on one volume may run at once.
    private var reports: [String: CText] = [:]
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init(_ plan: VolumePlan) {
        self.plan = plan
        json = CText(JSONEncoding.volume(plan.info))
        pthread_mutex_init(lock, nil)
    }
    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }
    /// The report kept for `kind`: the first one stored (a later computation gives the same text).
    func keepReport(_ text: String, kind: String) -> UnsafePointer<CChar> {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if let kept = reports[kind] { return kept.pointer }
        let owned = CText(text)
        reports[kind] = owned
        return owned.pointer
    }
}

func grid(_ g: UnsafePointer<petct_grid>) -> Grid? {
    let c = g.pointee
    guard c.slices > 0, c.rows > 0, c.columns > 0, c.slices < 1 << 20, c.rows < 1 << 20, c.columns < 1 << 20 else {
        return nil
    }
    let origin = withUnsafeBytes(of: c.origin) { Array($0.bindMemory(to: Double.self)) }
    let direction = withUnsafeBytes(of: c.direction) { Array($0.bindMemory(to: Double.self)) }
    let spacing = withUnsafeBytes(of: c.spacing) { Array($0.bindMemory(to: Double.self)) }
    let offsets = c.slice_offsets.map { Array(UnsafeBufferPointer(start: $0, count: Int(c.slices))) }
    let shifts = c.slice_shifts.map { Array(UnsafeBufferPointer(start: $0, count: 3 * Int(c.slices))) }
    return Grid(
        slices: Int(c.slices), rows: Int(c.rows), columns: Int(c.columns), origin: origin,
        direction: direction, spacing: spacing, sliceOffsets: offsets, sliceShifts: shifts)
}

final class MasksHandle {
    let set: MaskSet
    let json: CText
    init(_ set: MaskSet) { self.set = set; json = CText(JSONEncoding.masks(set.infos)) }
}

/// The lists of petct_list, each built once (a global `let`) and never freed or written again: static
/// storage for C.
nonisolated(unsafe) let coreLists: [UnsafePointer<CChar>] = {
    func vrName(_ code: UInt16) -> String {
        String(decoding: [UInt8(code & 0xFF), UInt8(code >> 8)], as: UTF8.self)
    }
    let lists = [TransferSyntax.native, SUVKind.allCases.map(\.rawValue), VRCode.singleValuedText.map(vrName)]
    return lists.map { names in
        let text = Array(names.joined(separator: "\\").utf8CString)
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: text.count)
        p.initialize(from: text, count: text.count)
        return UnsafePointer(p)
    }
}()

/// The writer's records from their C layout (`count` records at `elements`, checked non-NULL).
func writeElements(_ elements: UnsafePointer<petct_write_element>?, _ count: Int) throws(DicomError) -> [WriteElement] {
    var list: [WriteElement] = []
    list.reserveCapacity(count)
    for i in 0..<count {
        let c = elements![i]
        guard let kind = ValueKind(rawValue: c.kind), c.value_offset <= UInt64(Int.max),
            c.value_length <= UInt64(Int.max)
        else {
            throw DicomError(.argument, "record \(i): bad value kind or range", tag: c.tag)
        }
        list.append(
            WriteElement(
                tag: c.tag, vr: c.vr, kind: kind, count: c.count, descendants: c.descendants,
                valueOffset: Int(c.value_offset), valueLength: Int(c.value_length),
                encapsulated: UInt32(c.flags) & PETCT_WRITE_ENCAPSULATED != 0))
    }
    return list
}
