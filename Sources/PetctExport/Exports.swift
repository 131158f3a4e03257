// The C ABI of petct: every exported symbol lives in this file, named petct_*, declared in
// Sources/CPetct/include/petct.h. Functions here only translate between C and the Swift layers;
// they never abort on bad input (every failure becomes a status code plus a filled petct_error).
import CPetct
import DicomBytes
import DicomCodecs
import DicomDictionary
import DicomParser
import DicomPixels
import DicomWriter
import Glibc
import PetctConcurrency
import PetctMasks
import PetctPairing
import PetctSUV
import PetctSeries

// MARK: - reading

@_cdecl("petct_read_file")
public func petct_read_file(
    _ path: UnsafePointer<CChar>?, _ flags: UInt32, _ cancel: UnsafePointer<Int32>?,
    _ out: UnsafeMutablePointer<OpaquePointer?>?,
    _ err: UnsafeMutablePointer<petct_error>?
) -> Int32 {
    guard let path, let out else { return argumentError(err, "path and out must not be NULL") }
    out.pointee = nil
    do {
        return publish(
            try DicomReader.read(
                path: FilePath(cString: path), options: readOptions(flags),
                cancel: CancelFlag(cancel)), out)
    } catch {
        return fill(err, error)
    }
}

@_cdecl("petct_read_buffer")
public func petct_read_buffer(
    _ data: UnsafePointer<UInt8>?, _ length: Int, _ flags: UInt32,
    _ out: UnsafeMutablePointer<OpaquePointer?>?,
    _ err: UnsafeMutablePointer<petct_error>?
) -> Int32 {
    guard let out, data != nil || length == 0 else { return argumentError(err, "data and out must not be NULL") }
    out.pointee = nil
    do {
        try Limits.probeAllocation(length, what: "a copy of the buffer")
        let bytes = length == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: length))
        return publish(try DicomReader.read(bytes: bytes, options: readOptions(flags)), out)
    } catch {
        return fill(err, error)
    }
}

@_cdecl("petct_dataset_free")
public func petct_dataset_free(_ ds: OpaquePointer?) {
    guard let ds else { return }
    Unmanaged<DatasetHandle>.fromOpaque(UnsafeRawPointer(ds)).release()
}

@_cdecl("petct_dataset_get_view")
public func petct_dataset_get_view(_ ds: OpaquePointer?, _ out: UnsafeMutablePointer<petct_dataset_view>?) -> Int32 {
    guard let h = DatasetHandle.from(ds), let out else { return Int32(PETCT_E_ARGUMENT) }
    let d = h.dataset
    out.pointee.elements = UnsafePointer(h.cElements.pointer)
    out.pointee.element_count = h.cElements.count
    out.pointee.heap = UnsafePointer(h.heap.pointer)
    out.pointee.heap_length = h.heap.count
    out.pointee.source = nil  // read through petct_dataset_copy_source: no pointer into Swift's array
    out.pointee.source_length = d.source.count
    out.pointee.flags = d.flags.rawValue
    out.pointee.reserved = 0
    copyCString(d.transferSyntax, into: &out.pointee.transfer_syntax)
    copyCString(d.characterSet, into: &out.pointee.character_set)
    return statusOK
}

@_cdecl("petct_dataset_copy_source")
public func petct_dataset_copy_source(
    _ ds: OpaquePointer?, _ offset: UInt64, _ length: Int, _ out: UnsafeMutablePointer<UInt8>?
) -> Int32 {
    guard let h = DatasetHandle.from(ds), out != nil || length == 0, length >= 0 else {
        return Int32(PETCT_E_ARGUMENT)
    }
    let source = h.dataset.source
    guard offset <= UInt64(source.count), length <= source.count - Int(offset) else {
        return Int32(PETCT_E_ARGUMENT)
    }
    if length > 0 {
        source.withUnsafeBufferPointer { src in
            out!.update(from: src.baseAddress! + Int(offset), count: length)
        }
    }
    return statusOK
}

@_cdecl("petct_dataset_encoded_value")
public func petct_dataset_encoded_value(
    _ ds: OpaquePointer?, _ index: Int, _ offset: UnsafeMutablePointer<Int>?,
    _ length: UnsafeMutablePointer<Int>?
) -> Int32 {
    guard let h = DatasetHandle.from(ds), let offset, let length,
        let r = h.dataset.encodedValueRange(at: index)
    else { return 0 }
    offset.pointee = r.lowerBound
    length.pointee = r.count
    return 1
}

// MARK: - pixels

@_cdecl("petct_pixel_info_get")
public func petct_pixel_info_get(
    _ ds: OpaquePointer?, _ out: UnsafeMutablePointer<petct_pixel_info>?,
    _ err: UnsafeMutablePointer<petct_error>?
) -> Int32 {
    guard let h = DatasetHandle.from(ds), let out else { return argumentError(err, "NULL argument") }
    do {
        let info = try PixelDecoder.info(h.dataset)
        var c = petct_pixel_info()
        c.frames = UInt32(info.frames); c.rows = UInt32(info.rows); c.columns = UInt32(info.columns)
        c.samples = UInt32(info.samples); c.bits_allocated = UInt32(info.bitsAllocated)
        c.bits_stored = UInt32(info.bitsStored); c.pixel_representation = UInt32(info.pixelRepresentation)
        c.planar_configuration = UInt32(info.planarConfiguration)
        c.dtype_kind = CChar(bitPattern: info.dtypeKind); c.itemsize = UInt8(info.itemsize)
        c.ndim = UInt8(info.shape.count)
        withUnsafeMutableBytes(of: &c.shape) { raw in
            for (i, v) in info.shape.prefix(4).enumerated() {
                raw.storeBytes(of: UInt64(v), toByteOffset: i * 8, as: UInt64.self)
            }
        }
        c.nbytes = UInt64(info.nbytes)
        copyCString(info.photometric, into: &c.photometric)
        copyCString(info.transferSyntax, into: &c.transfer_syntax)
        out.pointee = c
        return statusOK
    } catch {
        return fill(err, error)
    }
}

@_cdecl("petct_pixel_decode")
public func petct_pixel_decode(
    _ ds: OpaquePointer?, _ out: UnsafeMutableRawPointer?, _ nbytes: Int,
    _ threads: Int32, _ cancel: UnsafePointer<Int32>?,
    _ err: UnsafeMutablePointer<petct_error>?
) -> Int32 {
    guard let h = DatasetHandle.from(ds), let out else { return argumentError(err, "NULL argument") }
    do {
        try PixelDecoder.decode(
            h.dataset, into: UnsafeMutableRawBufferPointer(start: out, count: nbytes),
            threads: Int(threads), cancel: CancelFlag(cancel))
        return statusOK
    } catch {
        return fill(err, error)
    }
}

@_cdecl("petct_pixel_decode_rescaled")
public func petct_pixel_decode_rescaled(
    _ ds: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?, _ count: Int,
    _ threads: Int32, _ cancel: UnsafePointer<Int32>?,
    _ err: UnsafeMutablePointer<petct_error>?
) -> Int32 {
    guard let h = DatasetHandle.from(ds), let out else { return argumentError(err, "NULL argument") }
    do {
        try PixelDecoder.decodeRescaled(
            h.dataset, into: UnsafeMutableBufferPointer(start: out, count: count),
            threads: Int(threads), cancel: CancelFlag(cancel))
        return statusOK
    } catch {
        return fill(err, error)
    }
}

// MARK: - dictionary

@_cdecl("petct_dict_lookup_tag")
public func petct_dict_lookup_tag(_ tag: UInt32, _ out: UnsafeMutablePointer<petct_dict_entry>?) -> Int32 {
    guard let out, let e = DataDictionary.entry(for: tag) else { return 0 }
    out.pointee.tag = tag
    out.pointee.retired = e.retired ? 1 : 0
    copyCString(e.vr, into: &out.pointee.vr)
    copyCString(e.vm, into: &out.pointee.vm)
    copyCString(e.keyword, into: &out.pointee.keyword)
    copyCString(e.name, into: &out.pointee.name)
    return 1
}

@_cdecl("petct_dict_lookup_keyword")
public func petct_dict_lookup_keyword(_ keyword: UnsafePointer<CChar>?, _ tag: UnsafeMutablePointer<UInt32>?) -> Int32 {
    guard let keyword, let tag, let t = DataDictionary.tag(forKeyword: String(cString: keyword)) else { return 0 }
    tag.pointee = t
    return 1
}

// MARK: - series scan

@_cdecl("petct_scan_files")
public func petct_scan_files(
    _ paths: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int, _ threads: Int32,
    _ flags: UInt32, _ cancel: UnsafePointer<Int32>?, _ filesDone: UnsafeMutablePointer<Int64>?,
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ err: UnsafeMutablePointer<petct_error>?
) -> Int32 {
    guard let out, let list = pathList(paths, count) else { return argumentError(err, "bad path list") }
    out.pointee = nil
    let keep = flags & UInt32(PETCT_SCAN_KEEP_HEADERS) != 0
    let flag = CancelFlag(cancel)
    let report: ((Int) -> Void)? = filesDone.map { p in { n in storeCounter(p, Int64(n)) } }
    let r = SeriesScanner.scanKeepingHeaders(
        paths: list, threads: Int(threads), keep: keep, cancel: flag, filesDone: report)
    if flag.isSet { return fill(err, DicomError(.cancelled, "interrupted")) }
    out.pointee = retain(ScanHandle(json: JSONEncoding.scan(r.result), headers: r.headers))
    return statusOK
}

@_cdecl("petct_scan_json")
public func petct_scan_json(_ scan: OpaquePointer?) -> UnsafePointer<CChar>? {
    borrow(scan, as: ScanHandle.self)?.json.pointer
}

@_cdecl("petct_scan_free")
public func petct_scan_free(_ scan: OpaquePointer?) { release(scan, as: ScanHandle.self) }

// MARK: - volumes

@_cdecl("petct_volume_open")
public func petct_volume_open(
    _ paths: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int, _ threads: Int32,
    _ headers: OpaquePointer?, _ cancel: UnsafePointer<Int32>?,
    _ out: UnsafeMutablePointer<OpaquePointer?>?,
    _ err: UnsafeMutablePointer<petct_error>?
) -> Int32 {
    guard let out, let list = pathList(paths, count) else { return argumentError(err, "bad path list") }
    out.pointee = nil
    let known = borrow(headers, as: ScanHandle.self)?.headers ?? [:]
    do {
        out.pointee = retain(
            VolumeHandle(
                try VolumePlan.open(
                    paths: list, threads: Int(threads), known: known,
                    cancel: CancelFlag(cancel))))
        return statusOK
    } catch {
        return fill(err, error)
    }
}

@_cdecl("petct_volume_json")
public func petct_volume_json(_ vol: OpaquePointer?) -> UnsafePointer<CChar>? {
    borrow(vol, as: VolumeHandle.self)?.json.pointer
}

@_cdecl("petct_volume_fill")
public func petct_volume_fill(
    _ vol: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?, _ count: Int,
    _ threads: Int32, _ cancel: UnsafePointer<Int32>?,
    _ err: UnsafeMutablePointer<petct_error>?
) -> Int32 {
    guard let h = borrow(vol, as: VolumeHandle.self), let out else { return argumentError(err, "NULL argument") }
    let p = h.plan
    guard count == p.sliceCount * p.rows * p.columns else {
        return argumentError(err, "output holds \(count) floats, the volume needs \(p.sliceCount * p.rows * p.columns)")
    }
    do {
        try p.fill(
            UnsafeMutableBufferPointer(start: out, count: count), threads: Int(threads),
            cancel: CancelFlag(cancel))
        return statusOK
    } catch {
        return fill(err, error)
    }
}

@_cdecl("petct_volume_free")
public func petct_volume_free(_ vol: OpaquePointer?) { release(vol, as: VolumeHandle.self) }

@_cdecl("petct_volume_suv")
public func petct_volume_suv(
    _ vol: OpaquePointer?, _ kind: UnsafePointer<CChar>?, _ factors: UnsafeMutablePointer<Double>?,
    _ count: Int, _ info: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
    _ err: UnsafeMutablePointer<petct_error>?
) -> Int32 {
    info?.pointee = nil
    guard let h = borrow(vol, as: VolumeHandle.self), let kind, let factors else {
        return argumentError(err, "NULL argument")
    }
    guard count == h.plan.sliceCount else {
        return argumentError(err, "factors holds \(count) values, the volume has \(h.plan.sliceCount) slices")
    }
    do {
        let kindName = String(cString: kind)
        let r = try SUVCalculator.compute(
            slices: h.plan.headers, kind: kindName,
            timeFrames: h.plan.timeFrameCount,
            frameStarts: h.plan.multiFrameStarts,
            frameDurationsMs: h.plan.multiFrameDurationsMs)
        for i in 0..<count { factors[i] = r.factors[i] }
        info?.pointee = h.keepReport(JSONEncoding.suvReport(r.info), kind: kindName)
        return statusOK
    } catch {
        return fill(err, error)
    }
}

// MARK: - resampling

@_cdecl("petct_resample")
public func petct_resample(
    _ src: UnsafePointer<Float>?, _ srcGrid: UnsafePointer<petct_grid>?,
    _ dst: UnsafeMutablePointer<Float>?, _ dstGrid: UnsafePointer<petct_grid>?,
    _ method: Int32, _ fillValue: Float, _ mask: UnsafeMutablePointer<UInt8>?,
    _ threads: Int32, _ err: UnsafeMutablePointer<petct_error>?
) -> Int32 {
    guard let src, let dst, let srcGrid, let dstGrid, let sg = grid(srcGrid), let dg = grid(dstGrid),
        let m = ResampleMethod(rawValue: method)
    else { return argumentError(err, "bad resample arguments") }
    let n = dg.slices * dg.rows * dg.columns
    do {
        try Resampler.resample(
            src: UnsafeBufferPointer(start: src, count: sg.slices * sg.rows * sg.columns), srcGrid: sg,
            dst: UnsafeMutableBufferPointer(start: dst, count: n), dstGrid: dg, method: m,
            fill: fillValue, mask: mask.map { UnsafeMutableBufferPointer(start: $0, count: n) },
            threads: Int(threads))
        return statusOK
    } catch {
        return fill(err, error)
    }
}

// MARK: - segmentations

@_cdecl("petct_masks_open")
public func petct_masks_open(
    _ paths: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int,
    _ out: UnsafeMutablePointer<OpaquePointer?>?,
    _ err: UnsafeMutablePointer<petct_error>?
) -> Int32 {
    guard let out, let list = pathList(paths, count) else { return argumentError(err, "bad path list") }
    out.pointee = nil
    do {
        out.pointee = retain(MasksHandle(try MaskSet(paths: list)))
        return statusOK
    } catch {
        return fill(err, error)
    }
}

@_cdecl("petct_masks_json")
public func petct_masks_json(_ masks: OpaquePointer?) -> UnsafePointer<CChar>? {
    borrow(masks, as: MasksHandle.self)?.json.pointer
}

@_cdecl("petct_masks_fill")
public func petct_masks_fill(
    _ masks: OpaquePointer?, _ index: Int, _ gridPtr: UnsafePointer<petct_grid>?,
    _ flags: UInt32, _ threshold: Double, _ threads: Int32, _ out: UnsafeMutableRawPointer?,
    _ nbytes: Int, _ err: UnsafeMutablePointer<petct_error>?
) -> Int32 {
    guard let h = borrow(masks, as: MasksHandle.self), let gridPtr, let g = grid(gridPtr), let out else {
        return argumentError(err, "bad mask arguments")
    }
    let fraction = flags & PETCT_MASKS_FRACTION != 0
    let n = g.slices * g.rows * g.columns
    guard nbytes == n * (fraction ? 4 : 1) else {
        return argumentError(err, "mask buffer is \(nbytes) bytes, the grid needs \(n * (fraction ? 4 : 1))")
    }
    guard threshold.isFinite else { return argumentError(err, "threshold must be finite") }
    let sink = MaskSink(
        bytes: fraction ? nil : out.assumingMemoryBound(to: UInt8.self),
        floats: fraction ? out.assumingMemoryBound(to: Float.self) : nil,
        rows: g.rows, columns: g.columns, threshold: threshold)
    do {
        try h.set.fill(index, grid: g, sink: sink, strict: flags & PETCT_MASKS_STRICT != 0, threads: Int(threads))
        return statusOK
    } catch {
        return fill(err, error)
    }
}

@_cdecl("petct_masks_free")
public func petct_masks_free(_ masks: OpaquePointer?) { release(masks, as: MasksHandle.self) }

// MARK: - limits

@_cdecl("petct_set_limits")
public func petct_set_limits(_ limits: UnsafePointer<petct_limits>?) {
    guard let l = limits?.pointee else { return }
    func clamp(_ v: UInt64) -> Int { v > UInt64(Int.max) ? Int.max : Int(v) }
    if l.max_decoded_bytes > 0 { Limits.maxDecodedBytes = clamp(l.max_decoded_bytes) }
    if l.decode_ratio > 0 { Limits.decodeRatio = clamp(l.decode_ratio) }
    if l.max_stream_bytes > 0 { Limits.maxStreamBytes = clamp(l.max_stream_bytes) }
}

@_cdecl("petct_get_limits")
public func petct_get_limits(_ out: UnsafeMutablePointer<petct_limits>?) {
    guard let out else { return }
    out.pointee = petct_limits(
        max_decoded_bytes: UInt64(Limits.maxDecodedBytes), decode_ratio: UInt64(Limits.decodeRatio),
        max_stream_bytes: UInt64(Limits.maxStreamBytes))
}

// MARK: - misc

// coreVersion: Version.swift, generated from VERSION by setup.py

@_cdecl("petct_abi_version")
public func petct_abi_version() -> Int32 { PETCT_ABI_VERSION }

@_cdecl("petct_core_version")
public func petct_core_version() -> UnsafePointer<CChar> {
    UnsafeRawPointer(coreVersion.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("petct_list")
public func petct_list(_ which: Int32) -> UnsafePointer<CChar>? {
    which >= 0 && Int(which) < coreLists.count ? coreLists[Int(which)] : nil
}

@_cdecl("petct_parallel_peak")
public func petct_parallel_peak(_ reset: Int32, _ active: UnsafeMutablePointer<Int32>?) -> Int32 {
    let p = Parallel.peak(reset: reset != 0)
    active?.pointee = Int32(clamping: p.active)
    return Int32(clamping: p.width)
}

@_cdecl("petct_codec_status")
public func petct_codec_status(_ codec: Int32, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guard let library = CodecLibrary(rawValue: codec) else { return -1 }
    let status = CodecLibraries.status(library)
    if let buf, cap > 0 {
        var n = 0
        for byte in status.description.utf8 where n < cap - 1 {
            buf[n] = CChar(bitPattern: byte)
            n += 1
        }
        buf[n] = 0
    }
    return status.available ? 1 : 0
}

// MARK: - writing

@_cdecl("petct_write_file")
public func petct_write_file(
    _ path: UnsafePointer<CChar>?, _ elements: UnsafePointer<petct_write_element>?,
    _ count: Int, _ heap: UnsafePointer<UInt8>?, _ heapLength: Int,
    _ err: UnsafeMutablePointer<petct_error>?
) -> Int32 {
    guard let path, count >= 0, heapLength >= 0, elements != nil || count == 0, heap != nil || heapLength == 0 else {
        return argumentError(err, "path, elements and heap must not be NULL")
    }
    let list: [WriteElement]
    do {
        list = try writeElements(elements, count)
    } catch {
        return fill(err, error)
    }
    do {
        try list.withUnsafeBufferPointer { ep throws(DicomError) in
            try DicomFileWriter.write(
                path: FilePath.escaped(cString: path), elements: ep,
                heap: UnsafeRawBufferPointer(start: heap, count: heapLength))
        }
        return statusOK
    } catch {
        return fill(err, error)
    }
}

@_cdecl("petct_encode_read")
public func petct_encode_read(
    _ elements: UnsafePointer<petct_write_element>?, _ count: Int, _ heap: UnsafePointer<UInt8>?,
    _ heapLength: Int, _ flags: UInt32, _ out: UnsafeMutablePointer<OpaquePointer?>?,
    _ err: UnsafeMutablePointer<petct_error>?
) -> Int32 {
    guard let out, count >= 0, heapLength >= 0, elements != nil || count == 0, heap != nil || heapLength == 0 else {
        return argumentError(err, "out, elements and heap must not be NULL")
    }
    out.pointee = nil
    do {
        let list = try writeElements(elements, count)
        let bytes = try list.withUnsafeBufferPointer { (ep) throws(DicomError) -> [UInt8] in
            try DicomFileWriter.encode(elements: ep, heap: UnsafeRawBufferPointer(start: heap, count: heapLength))
        }
        if flags & PETCT_ENCODE_ONLY != 0 {  // the bytes themselves, read out with petct_dataset_copy_source
            return publish(encodedBytes(bytes), out)
        }
        return publish(try DicomReader.read(bytes: bytes, options: readOptions(flags)), out)
    } catch {
        return fill(err, error)
    }
}
