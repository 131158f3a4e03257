import DicomBytes

/// A minimal JSON writer (no Foundation): the encoders of JSONEncoding.swift use it.
struct JSONWriter {
    private(set) var text = ""
    private var needsComma: [Bool] = [false]

    init() {}

    private mutating func separate() {
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
    }

    mutating func beginObject(_ key: String? = nil) {
        key.map { self.key($0) } ?? separate(); text += "{"; needsComma.append(false)
    }
    mutating func endObject() { needsComma.removeLast(); text += "}" }
    mutating func beginArray(_ key: String? = nil) {
        key.map { self.key($0) } ?? separate(); text += "["; needsComma.append(false)
    }
    mutating func endArray() { needsComma.removeLast(); text += "]" }

    private mutating func key(_ k: String) {
        separate()
        JSONWriter.appendQuoted(k, to: &text)
        text += ":"
    }

    /// Writes `key: value` inside an object, or a bare value inside an array when key is nil.
    mutating func value(_ v: String?, _ key: String? = nil) {
        if let key { self.key(key) } else { separate() }
        if let v { JSONWriter.appendQuoted(v, to: &text) } else { text += "null" }
    }
    mutating func value(_ v: Double?, _ key: String? = nil) {
        if let key { self.key(key) } else { separate() }
        if let v, v.isFinite { text += "\(v)" } else { text += "null" }
    }
    mutating func value(_ v: Int?, _ key: String? = nil) {
        if let key { self.key(key) } else { separate() }
        if let v { text += "\(v)" } else { text += "null" }
    }
    mutating func value(_ v: Bool?, _ key: String? = nil) {
        if let key { self.key(key) } else { separate() }
        if let v { text += v ? "true" : "false" } else { text += "null" }
    }
    mutating func values(_ vs: [Double], _ key: String? = nil) {
        beginArray(key); for v in vs { value(v) }; endArray()
    }
    mutating func values(_ vs: [Int], _ key: String? = nil) {
        beginArray(key); for v in vs { value(v) }; endArray()
    }
    mutating func values(_ vs: [String], _ key: String? = nil) {
        beginArray(key); for v in vs { value(v) }; endArray()
    }

    /// Appends `s` as a JSON string literal. Runs of bytes that need no escape are appended whole
    /// (splitting UTF-8 only at ASCII bytes keeps every run valid); quote, backslash and control characters
    /// are escaped.
    static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        var s = s
        s.withUTF8 { buf in
            var start = 0
            func flush(_ end: Int) {
                if start < end {
                    out += String(decoding: UnsafeBufferPointer(rebasing: buf[start..<end]), as: UTF8.self)
                }
            }
            for i in 0..<buf.count {
                let b = buf[i]
                guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
                flush(i)
                switch b {
                case 0x22: out += "\\\""
                case 0x5C: out += "\\\\"
                case 0x0A: out += "\\n"
                case 0x0D: out += "\\r"
                case 0x09: out += "\\t"
                default: out += "\\u00" + String(hex4(UInt16(b)).suffix(2))
                }
                start = i + 1
            }
            flush(buf.count)
        }
        out += "\""
    }
}
