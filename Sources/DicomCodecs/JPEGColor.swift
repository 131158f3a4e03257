import DicomBytes

/// Header facts of a JPEG stream that decide how pydicom interprets its colour space.
///
/// pydicom (3.0) parses each JPEG frame up to its SOF marker; for 3-sample images it then:
/// - treats the data as RGB when the component ids are "R","G","B" (82,71,66) or "r","g","b";
/// - otherwise, when an APPn segment before the SOF starts with "JFIF" and Photometric
///   Interpretation does not contain "YBR", treats it as YBR_FULL_422 (JPEG Baseline) or YBR_FULL
///   (other JPEG syntaxes);
/// and with the default `as_rgb=True` converts YBR_FULL / YBR_FULL_422 to RGB
/// (see `JPEGColor.ybrFullToRGB`). The decoders in this module return the stream's components
/// unconverted, exactly like pylibjpeg does.
public struct JPEGStreamInfo: Sendable, Equatable {
    /// The SOFn marker code (0xC0...0xCF, or 0xF7 for JPEG-LS).
    public var frameMarker: UInt8
    public var precision: Int
    public var rows: Int
    public var columns: Int
    public var componentIDs: [Int]
    /// An APPn segment before the frame header starts with "JFIF" (last segment of each APPn kind).
    public var hasJFIF: Bool
    /// Component ids spell "RGB" or "rgb".
    public var hasRGBComponentIDs: Bool { componentIDs == [82, 71, 66] || componentIDs == [114, 103, 98] }
}

public enum JPEGInspector {
    /// Walks the marker segments from SOI to the first SOF (as pydicom does, without fill-byte
    /// tolerance); nil when the stream cannot be parsed that far.
    public static func inspect(_ d: UnsafeRawBufferPointer) -> JPEGStreamInfo? {
        let n = d.count
        if n < 4 || d[0] != 0xFF || d[1] != 0xD8 { return nil }
        var p = 2
        // Per APPn kind, whether its last payload starts with "JFIF".
        var jfif = [Bool](repeating: false, count: 16)
        while true {
            if n - p < 4 || d[p] != 0xFF { return nil }
            let m = d[p + 1]
            let isSOF = (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) || m == 0xF7
            let len = Int(d[p + 2]) << 8 | Int(d[p + 3])
            if isSOF {
                if len < 8 || n - p - 2 < len { return nil }
                let nf = Int(d[p + 9])
                if len < 8 + 3 * nf { return nil }
                var ids: [Int] = []
                for i in 0..<nf { ids.append(Int(d[p + 10 + 3 * i])) }
                return JPEGStreamInfo(
                    frameMarker: m, precision: Int(d[p + 4]),
                    rows: Int(d[p + 5]) << 8 | Int(d[p + 6]),
                    columns: Int(d[p + 7]) << 8 | Int(d[p + 8]),
                    componentIDs: ids, hasJFIF: jfif.contains(true))
            }
            if len < 2 || n - p - 2 < len { return nil }
            if m >= 0xE0 && m <= 0xEF {
                let payload = len - 2
                jfif[Int(m - 0xE0)] =
                    payload >= 4 && d[p + 4] == 0x4A && d[p + 5] == 0x46 && d[p + 6] == 0x49
                    && d[p + 7] == 0x46
            }
            p += 2 + len
        }
    }
}

public enum JPEGColor {
    /// Converts interleaved 8-bit YCbCr (YBR_FULL) samples to RGB in place, reproducing pydicom's
    /// `convert_color_space(arr, "YBR_FULL", "RGB")` bit for bit: float32 arithmetic, the products
    /// accumulated with fused multiply-adds as NumPy's float32 matmul does on FMA-capable CPUs, then
    /// floor(x + 0.5) clamped to 0...255.
    public static func ybrFullToRGB(_ data: inout [UInt8]) {
        let cbG = Float(-0.114 * 1.772 / 0.587), cbB = Float(1.772)
        let crR = Float(1.402), crG = Float(-0.299 * 1.402 / 0.587)
        data.withUnsafeMutableBufferPointer { b in
            guard let p = b.baseAddress else { return }
            var i = 0
            while i + 2 < b.count {
                let y = Float(p[i]), cb = Float(p[i + 1]) - 128, cr = Float(p[i + 2]) - 128
                // Column-wise: y*m0 (exact, m0 = 1), then fma with the Cb term, then the Cr term.
                let r = y.addingProduct(cb, 0).addingProduct(cr, crR)
                let g = y.addingProduct(cb, cbG).addingProduct(cr, crG)
                let bl = y.addingProduct(cb, cbB).addingProduct(cr, 0)
                p[i] = clampRound(r)
                p[i + 1] = clampRound(g)
                p[i + 2] = clampRound(bl)
                i += 3
            }
        }
    }

    @inline(__always)
    private static func clampRound(_ v: Float) -> UInt8 {
        let f = (v + 0.5).rounded(.down)
        return f <= 0 ? 0 : (f >= 255 ? 255 : UInt8(f))
    }
}
