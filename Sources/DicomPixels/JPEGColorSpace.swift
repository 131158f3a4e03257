import DicomBytes
import DicomParser

/// What pydicom reads from a JPEG codestream header to decide the colour space of 3-sample data:
/// the SOF component ids and whether an APPn segment starts with "JFIF".
struct JPEGHeaderColorInfo: Equatable {
    var rgbComponentIDs = false
    var jfif = false
}

enum JPEGHeaderParse: Equatable {
    case parsed(JPEGHeaderColorInfo)
    /// Not a parsable JPEG header: pydicom then changes nothing.
    case invalid
    /// Ran out of bytes (maybe only the first fragment was given).
    case truncated
}

enum JPEGColorSpace {
    /// Parses the markers up to the first SOF as pydicom's `_get_jpg_parameters` does.
    static func parse(_ b: UnsafeRawBufferPointer) -> JPEGHeaderParse {
        let n = b.count
        guard n >= 2 else { return .truncated }
        guard b[0] == 0xFF && b[1] == 0xD8 else { return .invalid }
        var offset = 2
        // Last content of each APPn marker starts with "JFIF".
        var appJFIF = [Bool](repeating: false, count: 16)
        while true {
            guard offset + 2 <= n else { return .truncated }
            let m0 = b[offset], m1 = b[offset + 1]
            if m0 == 0xFF && isSOF(m1) { break }
            guard offset + 4 <= n else { return .truncated }
            let length = Int(b[offset + 2]) << 8 | Int(b[offset + 3])
            if m0 == 0xFF && m1 >= 0xE0 && m1 <= 0xEF {
                let start = offset + 4, end = min(n, offset + 2 + length)
                var isJFIF = false
                if end - start >= 4 {
                    isJFIF = b[start] == 0x4A && b[start + 1] == 0x46 && b[start + 2] == 0x49 && b[start + 3] == 0x46
                }
                appJFIF[Int(m1 - 0xE0)] = isJFIF
            }
            offset += length + 2
        }
        // SOF: marker, length, precision, height, width, components, then 3 bytes per component.
        guard offset + 10 <= n else { return .truncated }
        let components = Int(b[offset + 9])
        var ids: [UInt8] = []
        var p = offset + 10
        for _ in 0..<components {
            guard p < n else { return .truncated }
            ids.append(b[p])
            p += 3
        }
        var info = JPEGHeaderColorInfo()
        info.rgbComponentIDs = ids == [82, 71, 66] || ids == [114, 103, 98]
        info.jfif = appJFIF.contains(true)
        return .parsed(info)
    }

    static func isSOF(_ m: UInt8) -> Bool {
        switch m {
        case 0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7: return true
        default: return false
        }
    }

    /// pydicom's `_conform_jpg_colorspace`, applied frame after frame (the change sticks).
    static func conform(_ pi: String, _ info: JPEGHeaderColorInfo, baseline8Bit: Bool) -> String {
        if info.rgbComponentIDs && pi != "RGB" { return "RGB" }
        if info.jfif && !pi.contains("YBR") { return baseline8Bit ? "YBR_FULL_422" : "YBR_FULL" }
        return pi
    }
}

extension PixelLayout {
    /// The photometric interpretation pydicom ends with after looking at every frame's header.
    func conformedPhotometric(_ ds: Dataset, frames: [[Range<Int>]]) -> String {
        var pi = info.photometric
        let baseline = info.transferSyntax == "1.2.840.10008.1.2.4.50"
        for fragments in frames {
            guard let first = fragments.first else { continue }
            var result: JPEGHeaderParse = ds.source.withUnsafeBytes {
                JPEGColorSpace.parse(UnsafeRawBufferPointer(rebasing: $0[first]))
            }
            if result == .truncated && fragments.count > 1 {
                var joined: [UInt8] = []
                for r in fragments { joined.append(contentsOf: ds.source[r]) }
                result = joined.withUnsafeBytes { JPEGColorSpace.parse($0) }
            }
            if case .parsed(let h) = result { pi = JPEGColorSpace.conform(pi, h, baseline8Bit: baseline) }
        }
        return pi
    }
}
