// RLE and encapsulated pixel data writers for the pixel and codec tests.

/// PackBits: runs of 2+ equal bytes as replicate runs, everything else as literals (<= 128 bytes).
public func packBits(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var i = 0
    var literal: [UInt8] = []
    func flush() {
        var k = 0
        while k < literal.count {
            let n = min(128, literal.count - k)
            out.append(UInt8(n - 1))
            out.append(contentsOf: literal[k..<(k + n)])
            k += n
        }
        literal.removeAll()
    }
    while i < data.count {
        var run = 1
        while i + run < data.count && data[i + run] == data[i] && run < 128 { run += 1 }
        if run >= 2 {
            flush()
            out.append(UInt8(257 - run))
            out.append(data[i])
            i += run
        } else {
            literal.append(data[i])
            i += 1
        }
    }
    flush()
    return out
}

/// One RLE frame from interleaved values, each sample `bytes` wide (segments MSB first per sample; odd
/// segments padded with a no-op header byte).
public func rleFrame(_ values: [UInt64], samples: Int, bytes: Int) -> [UInt8] {
    let pixels = values.count / samples
    var segments: [[UInt8]] = []
    for s in 0..<samples {
        for b in stride(from: bytes - 1, through: 0, by: -1) {
            let plane = (0..<pixels).map { UInt8((values[$0 * samples + s] >> (8 * UInt64(b))) & 0xFF) }
            var seg = packBits(plane)
            if seg.count % 2 == 1 { seg.append(0x80) }  // no-op header as padding
            segments.append(seg)
        }
    }
    var header = [UInt32](repeating: 0, count: 16)
    header[0] = UInt32(segments.count)
    var offset = 64
    for (k, s) in segments.enumerated() { header[k + 1] = UInt32(offset); offset += s.count }
    return le32(header) + segments.flatMap { $0 }
}

/// Encapsulated value: Basic Offset Table (optionally filled) + fragment items + sequence delimiter.
public func encapsulate(_ frames: [[[UInt8]]], basicOffsets: Bool, delimiter: Bool = true) -> [UInt8] {
    var items: [UInt8] = []
    var offsets: [UInt32] = []
    for frame in frames {
        offsets.append(UInt32(items.count))
        for fragment in frame {
            var f = fragment
            if f.count % 2 == 1 { f.append(0) }
            items += le16([0xFFFE, 0xE000]) + le32([UInt32(f.count)]) + f
        }
    }
    let bot = basicOffsets ? le32(offsets) : []
    var out = le16([0xFFFE, 0xE000]) + le32([UInt32(bot.count)]) + bot + items
    if delimiter { out += le16([0xFFFE, 0xE0DD]) + le32([0]) }
    return out
}
