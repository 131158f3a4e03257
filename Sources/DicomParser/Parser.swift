import DicomBytes

/// Where a data set being parsed sits; decides how its element loop ends.
enum Level {
    case meta  // group 0002, ends at the first other group
    case command  // group 0000, ends at the first other group
    case top  // main data set, ends at end of data (or an item delimiter, as pydicom)
    case definedItem  // item of defined length: ends at its end
    case undefinedItem  // item of undefined length: ends at an item delimiter
}

/// Per data set state inherited by nested items.
struct Context {
    var implicit: Bool
    var bigEndian: Bool
    var decoder: CharacterSetDecoder
    /// Nearest PixelRepresentation seen in this data set or an enclosing one, -1 when none.
    var pixelRep: Int
    /// First value of LUT Descriptor (0028,3002) in this data set (not inherited), -1 when none.
    var lutFirst: Int64 = -1
}

/// Tags whose negative first value pydicom turns positive when read as SS (pydicom.tag._LUT_DESCRIPTOR_TAGS).
@inline(__always) func isLUTDescriptor(_ tag: UInt32) -> Bool {
    tag == 0x0028_1101 || tag == 0x0028_1102 || tag == 0x0028_1103 || tag == 0x0028_3002
}

let maxDepth = 64
let undefinedLength: UInt32 = 0xFFFF_FFFF

/// One pass over the bytes: appends element records and decoded values.
struct Parser {
    var p: UnsafeRawBufferPointer
    var n: Int
    var elements: [Element] = []
    var heap: [UInt8] = []
    let decodeCharset: Bool
    let stopBeforePixels: Bool
    var stopped = false
    /// Offset of the pixel data element's tag where a stop-before-pixels parse stopped.
    var stoppedAt = -1
    var topCharacterSet: String? = nil
    var scratchD: [Double] = []
    var scratchI: [Int64] = []

    init(p: UnsafeRawBufferPointer, options: ReadOptions) {
        self.p = p
        self.n = p.count
        self.decodeCharset = options.decodeCharset
        self.stopBeforePixels = options.stopBeforePixels
        elements.reserveCapacity(max(16, min(256, p.count / 32)))
        heap.reserveCapacity(max(256, min(4096, p.count / 4)))
    }

    /// Grows the element table and the value heap ahead of an append, probing each growth first: Swift
    /// traps when an array cannot grow, so a table sized by the input (at most one 40-byte record per
    /// 8 input bytes) that does not fit becomes an `.outOfMemory` error instead of an abort.
    mutating func reserve(records: Int, heapBytes: Int) throws(DicomError) {
        if elements.count &+ records > elements.capacity {
            let want = max(elements.count &+ records, elements.capacity &* 2, 16)
            try Limits.probeAllocation(want &* MemoryLayout<Element>.stride, what: "the element table")
            elements.reserveCapacity(want)
        }
        if heap.count &+ heapBytes > heap.capacity {
            let want = max(heap.count &+ heapBytes, heap.capacity &* 2)
            try Limits.probeAllocation(want, what: "the decoded values")
            heap.reserveCapacity(want)
        }
    }

    // MARK: primitive reads (callers check bounds)

    @inline(__always) func u8(_ o: Int) -> UInt8 { p.load(fromByteOffset: o, as: UInt8.self) }
    @inline(__always) func u16(_ o: Int, _ be: Bool) -> UInt16 {
        let v = p.loadUnaligned(fromByteOffset: o, as: UInt16.self)
        return be ? v.byteSwapped : v
    }
    @inline(__always) func u32(_ o: Int, _ be: Bool) -> UInt32 {
        let v = p.loadUnaligned(fromByteOffset: o, as: UInt32.self)
        return be ? v.byteSwapped : v
    }
    @inline(__always) func tagAt(_ o: Int, _ be: Bool) -> UInt32 {
        (UInt32(u16(o, be)) << 16) | UInt32(u16(o + 2, be))
    }

    /// pydicom's check of the first element's VR bytes: implicit when they are not two upper-case letters.
    func detectImplicit(at pos: Int, assumed: Bool, inSequence: Bool) -> Bool {
        if inSequence && assumed { return true }
        guard pos >= 0, n - pos >= 6 else { return assumed }
        let a = u8(pos + 4), b = u8(pos + 5)
        return !(a > 0x40 && a < 0x5B && b > 0x40 && b < 0x5B)
    }

    // MARK: data sets

    /// Parses the elements of one data set starting at `start`. `limit` is the end of the enclosing
    /// region (an item's end or the end of the data). Returns the position after the data set and the
    /// number of direct child records added.
    mutating func parseDataset(
        from start: Int, limit: Int, level: Level, ctx inCtx: Context,
        depth: Int
    ) throws(DicomError) -> (pos: Int, count: UInt32) {
        var ctx = inCtx
        var pos = start
        var count: UInt32 = 0
        let be = ctx.bigEndian
        // The previous sibling: a run of one tag repeated (a sparse file's zeros read as (0000,0000)
        // elements) keeps only its last element, as pydicom's dict does, so the table does not grow
        // with the run.
        var lastTag: UInt32? = nil
        var lastRecord = -1, lastHeap = -1
        while true {
            if pos >= limit { break }
            if limit - pos < 8 {
                if level == .undefinedItem {
                    throw DicomError.malformed("item of undefined length has no item delimiter", offset: pos)
                }
                if level == .definedItem { pos = limit }
                break
            }
            try reserve(records: 1, heapBytes: 0)
            let tag = tagAt(pos, be)
            if tag == Tags.itemDelimiter {
                pos += 8
                break
            }
            let group = tag >> 16
            if level == .meta && group != 0x0002 { break }
            if level == .command && group != 0x0000 { break }
            if tag == Tags.sequenceDelimiter && level == .undefinedItem {
                // Missing item delimiter: let the enclosing sequence end here.
                break
            }
            if stopBeforePixels && level == .top
                && (tag == Tags.pixelData || tag == Tags.floatPixelData || tag == Tags.doubleFloatPixelData)
            {
                stopped = true
                stoppedAt = pos
                break
            }
            if tag == lastTag && lastRecord >= 0 && lastRecord <= elements.count && lastHeap <= heap.count {
                elements.removeSubrange(lastRecord..<elements.count)
                heap.removeSubrange(lastHeap..<heap.count)
                count -= 1
            }
            lastTag = tag
            lastRecord = elements.count
            lastHeap = heap.count
            let elemStart = pos
            var vr: UInt16 = 0
            var length: UInt32
            var hdr = 8
            var flags: ElementFlags = []
            var implicitElement = ctx.implicit
            if !ctx.implicit {
                let a = u8(pos + 4), b = u8(pos + 5)
                let code = VRCode.pack(a, b)
                if VRCode.isKnown(code) {
                    vr = code
                    if VRCode.hasLongLength(code) {
                        guard limit - pos >= 12 else {
                            throw DicomError.malformed("truncated element header", offset: pos, tag: tag)
                        }
                        length = u32(pos + 8, be)
                        hdr = 12
                    } else {
                        length = UInt32(u16(pos + 6, be))
                    }
                } else if !((a > 0x41 && a < 0x5A) || (a == 0x41 && b >= 0x41) || (a == 0x5A && b <= 0x5A)) {
                    // Not a VR at all: pydicom assumes this element is implicit VR.
                    implicitElement = true
                    length = u32(pos + 4, be)
                } else {
                    // Unknown letters: explicit with a 2-byte length; value kept raw.
                    vr = code
                    length = UInt32(u16(pos + 6, be))
                    flags.insert(.invalidValue)
                }
            } else {
                length = u32(pos + 4, be)
            }
            let valueStart = pos + hdr

            if implicitElement {
                flags.insert(.vrFromDictionary)
                vr = vrForImplicit(tag, length: length, valueStart: valueStart, ctx: ctx)
            } else if vr == VRCode.UN {
                if length == undefinedLength {
                    vr = VRCode.SQ  // pydicom infers a sequence for UN of undefined length
                } else if (group & 1) == 1 {
                    let el = tag & 0xFFFF
                    if el >= 0x10 && el <= 0xFF { vr = VRCode.LO; flags.insert(.vrFromDictionary) }
                } else if min(Int(length), max(0, limit - valueStart)) < 0xFFFF {
                    // pydicom checks the bytes it read, not the declared length: a value the end of
                    // the data cut short is resolved too (a written copy holds just those bytes)
                    let d = DictionaryVR.lookup(tag)
                    if d != DictionaryVR.unknown && d != DictionaryVR.none {
                        vr = resolveAmbiguous(d, tag: tag, implicit: true, undefined: false, ctx: ctx)
                        flags.insert(.vrFromDictionary)
                    }
                }
            }

            if length == undefinedLength {
                flags.insert(.undefinedLength)
                if vr == VRCode.SQ {
                    pos = try parseSequence(
                        tag: tag, vr: vr, flags: flags, fileOffset: elemStart, start: valueStart,
                        end: nil, limit: limit, ctx: ctx, depth: depth + 1)
                } else {
                    pos = try parseUndefinedValue(
                        tag: tag, vr: vr, flags: flags, fileOffset: elemStart,
                        start: valueStart, limit: limit, be: be, decoder: ctx.decoder)
                }
            } else {
                guard valueStart <= limit else {
                    throw DicomError.malformed("truncated element header", offset: elemStart, tag: tag)
                }
                // A value running past the end of its enclosing region is cut there, as pydicom reads
                // a short value (the data set then ends).
                let len = min(Int(length), limit - valueStart)
                if vr == VRCode.SQ {
                    _ = try parseSequence(
                        tag: tag, vr: vr, flags: flags, fileOffset: elemStart, start: valueStart,
                        end: valueStart + len, limit: limit, ctx: ctx, depth: depth + 1)
                } else {
                    // a value decodes to at most 4x its bytes (2-byte US -> Int64, Latin-1 -> UTF-8); byte
                    // values stay in the source
                    let inSource =
                        vr == VRCode.OB || vr == VRCode.OW || vr == VRCode.OD || vr == VRCode.OF
                        || vr == VRCode.OL || vr == VRCode.OV || vr == VRCode.UN
                    try reserve(records: 1, heapBytes: inSource ? 0 : len &* 4 &+ 64)
                    let idx = elements.count
                    appendValue(
                        tag: tag, vr: vr, flags: flags, start: valueStart, length: len,
                        fileOffset: elemStart, be: be, decoder: ctx.decoder)
                    if tag == Tags.specificCharacterSet {
                        applyCharacterSet(elements[idx], ctx: &ctx, level: level)
                    } else if tag == Tags.pixelRepresentation {
                        let e = elements[idx]
                        if e.kind == .int && e.valueLength >= 8 {
                            ctx.pixelRep = Int(
                                heap.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: e.valueOffset, as: Int64.self) }
                            )
                        }
                    } else if isLUTDescriptor(tag) {
                        fixLUTDescriptor(idx, ctx: &ctx)
                    }
                }
                pos = valueStart + len
            }
            count += 1
            if stopped { break }
        }
        return (pos, count)
    }

    func vrForImplicit(_ tag: UInt32, length: UInt32, valueStart: Int, ctx: Context) -> UInt16 {
        let d = DictionaryVR.lookup(tag)
        if d != DictionaryVR.unknown && d != DictionaryVR.none {
            return resolveAmbiguous(d, tag: tag, implicit: true, undefined: length == undefinedLength, ctx: ctx)
        }
        let group = tag >> 16, el = tag & 0xFFFF
        if length == undefinedLength {
            // Unknown tag of undefined length: a sequence when an item follows; else a private
            // creator is LO (pydicom's private_vr_for_tag, whatever the length), the rest UN.
            if n - valueStart >= 4 && tagAt(valueStart, ctx.bigEndian) == Tags.item { return VRCode.SQ }
            return (group & 1) == 1 && el >= 0x10 && el <= 0xFF ? VRCode.LO : VRCode.UN
        }
        if (group & 1) == 1 {
            return (el >= 0x10 && el <= 0xFF) ? VRCode.LO : VRCode.UN
        }
        if el == 0 { return VRCode.UL }
        return VRCode.UN
    }

    func resolveAmbiguous(_ d: UInt16, tag: UInt32, implicit: Bool, undefined: Bool, ctx: Context) -> UInt16 {
        AmbiguousVR.forReading(
            d, pixelRepresentation: Int(ctx.pixelRep), lutFirst: ctx.lutFirst,
            undefinedLength: undefined)
    }

    /// pydicom adds 65536 to a negative first LUT Descriptor value read as explicit SS with several
    /// values; remembers the first value for LUT Data's VR.
    mutating func fixLUTDescriptor(_ idx: Int, ctx: inout Context) {
        let e = elements[idx]
        guard e.kind == .int, e.count >= 1 else { return }
        var first = heap.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: e.valueOffset, as: Int64.self) }
        if e.vr == VRCode.SS && e.count > 1 && first < 0 && !e.flags.contains(.vrFromDictionary) {
            first += 65536
            heap.withUnsafeMutableBytes { $0.storeBytes(of: first, toByteOffset: e.valueOffset, as: Int64.self) }
        }
        if e.tag == 0x0028_3002 { ctx.lutFirst = first }
    }

    mutating func applyCharacterSet(_ e: Element, ctx: inout Context, level: Level) {
        var terms: [String] = []
        if e.kind == .text {
            let s = heap.withUnsafeBufferPointer {
                String(
                    decoding: UnsafeBufferPointer(rebasing: $0[e.valueOffset..<(e.valueOffset + e.valueLength)]),
                    as: UTF8.self)
            }
            terms = s.split(separator: "\\", omittingEmptySubsequences: false).map {
                String($0.trimmingSpaces())
            }
        }
        ctx.decoder = CharacterSetDecoder(specificCharacterSet: terms)
        if level == .top || level == .command || level == .meta {
            if topCharacterSet == nil { topCharacterSet = terms.first ?? "" }
        }
    }

    // MARK: sequences

    /// Parses a sequence value: items until `end` (defined length) or a sequence delimiter.
    mutating func parseSequence(
        tag: UInt32, vr: UInt16, flags: ElementFlags, fileOffset: Int, start: Int,
        end: Int?, limit: Int, ctx: Context, depth: Int
    ) throws(DicomError) -> Int {
        if depth > maxDepth {
            throw DicomError.malformed("sequences nested deeper than \(maxDepth) levels", offset: fileOffset, tag: tag)
        }
        let be = ctx.bigEndian
        let si = elements.count
        elements.append(Element(tag: tag, vr: VRCode.SQ, kind: .sequence, flags: flags, fileOffset: fileOffset))
        var items: UInt32 = 0
        var pos = start
        let regionEnd = end ?? limit
        while true {
            if end != nil && pos >= regionEnd { break }
            guard regionEnd - pos >= 8 else {
                throw DicomError.malformed(
                    end == nil
                        ? "sequence of undefined length has no delimiter"
                        : "truncated item header", offset: pos, tag: tag)
            }
            let itemTag = tagAt(pos, be)
            let itemLen = u32(pos + 4, be)
            if itemTag == Tags.sequenceDelimiter {
                pos += 8
                break
            }
            if itemTag != Tags.item {
                throw DicomError.malformed(
                    "expected an item tag in sequence, found \(formatTag(itemTag))", offset: pos, tag: tag)
            }
            let itemStart = pos + 8
            try reserve(records: 1, heapBytes: 0)
            let ii = elements.count
            elements.append(
                Element(
                    tag: itemTag, vr: 0, kind: .item,
                    flags: itemLen == undefinedLength ? .undefinedLength : [], fileOffset: pos))
            var child = ctx
            child.lutFirst = -1
            child.implicit = detectImplicit(at: itemStart, assumed: ctx.implicit, inSequence: true)
            let r: (pos: Int, count: UInt32)
            if itemLen == undefinedLength {
                r = try parseDataset(from: itemStart, limit: regionEnd, level: .undefinedItem, ctx: child, depth: depth)
                pos = r.pos
            } else {
                guard itemStart <= regionEnd else {
                    throw DicomError.malformed("truncated item header", offset: pos, tag: tag)
                }
                // Cut at the end of the enclosing region, as pydicom reads the short remainder.
                let len = min(Int(itemLen), regionEnd - itemStart)
                r = try parseDataset(
                    from: itemStart, limit: itemStart + len, level: .definedItem, ctx: child, depth: depth)
                pos = itemStart + len
            }
            elements[ii].count = r.count
            elements[ii].descendants = UInt32(truncatingIfNeeded: elements.count - ii - 1)
            items += 1
        }
        elements[si].count = items
        elements[si].descendants = UInt32(truncatingIfNeeded: elements.count - si - 1)
        if let end { return end }
        return pos
    }

    // MARK: undefined-length values (encapsulated pixel data)

    /// Reads an undefined-length non-sequence value. The value range is the item stream (basic offset
    /// table item and fragment items) up to, not including, the sequence delimiter, as pydicom's
    /// `PixelData` bytes.
    mutating func parseUndefinedValue(
        tag: UInt32, vr: UInt16, flags inFlags: ElementFlags, fileOffset: Int,
        start: Int, limit: Int, be: Bool, decoder: CharacterSetDecoder
    ) throws(DicomError) -> Int {
        var flags = inFlags
        var q = start
        var structured = true
        while true {
            guard limit - q >= 4 else { structured = false; break }
            let t = tagAt(q, be)
            if t == Tags.item {
                guard limit - q >= 8 else { structured = false; break }
                let l = u32(q + 4, be)
                guard l != undefinedLength, Int(l) <= limit - q - 8 else { structured = false; break }
                q += 8 + Int(l)
            } else if t == Tags.sequenceDelimiter {
                break
            } else {
                structured = false
                break
            }
        }
        if structured {
            flags.insert(.encapsulated)
        } else {
            // Byte search for the delimiter, as pydicom does for non-item content.
            let pat: (UInt8, UInt8, UInt8, UInt8) = be ? (0xFF, 0xFE, 0xE0, 0xDD) : (0xFE, 0xFF, 0xDD, 0xE0)
            var i = start
            var found = -1
            while i + 4 <= limit {
                if u8(i) == pat.0 && u8(i + 1) == pat.1 && u8(i + 2) == pat.2 && u8(i + 3) == pat.3 { found = i; break }
                i += 1
            }
            guard found >= 0 else {
                throw DicomError.malformed(
                    "value of undefined length has no sequence delimiter", offset: fileOffset, tag: tag)
            }
            q = found
        }
        let byteVR =
            vr == VRCode.OB || vr == VRCode.OW || vr == VRCode.OD || vr == VRCode.OF || vr == VRCode.OL
            || vr == VRCode.OV || vr == VRCode.UN
        if byteVR {
            elements.append(
                Element(
                    tag: tag, vr: vr, kind: .bytes, flags: flags, count: 1,
                    valueOffset: start, valueLength: q - start, fileOffset: fileOffset))
        } else {
            // Any other VR (a private creator's LO, UT...): the value up to the delimiter decoded as
            // that VR, as pydicom converts it (it was kept as bytes, which no writer takes for text).
            flags.remove(.encapsulated)
            try reserve(records: 1, heapBytes: (q - start) &* 4 &+ 64)
            appendValue(
                tag: tag, vr: vr, flags: flags, start: start, length: q - start, fileOffset: fileOffset, be: be,
                decoder: decoder)
        }
        return min(q + 8, limit)
    }
}
