import Testing

@testable import PetctExport

/// The per-scalar reference the writer must agree with: JSON string escaping as RFC 8259 requires.
private func referenceQuoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let h = Array("0123456789ABCDEF")
                out += "\\u00" + String(h[Int(u.value >> 4)]) + String(h[Int(u.value & 0xF)])
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

@Test func stringsAreEscapedExactly() {
    let cases = [
        "", "plain/path/IM0001.dcm", "quote\"in", "back\\slash", "tab\there\nnew\rline",
        "\u{01}\u{1F}\u{7F}", "Müller^Jürgen", "山田^太郎", "emoji 🙂 end", "\"", "\\\\\"\"",
        "trailing\u{0}", "ÿ\u{1B}$B;3ED\u{1B}(B",
    ]
    for s in cases {
        var w = JSONWriter()
        w.value(s)
        #expect(w.text == referenceQuoted(s), "\(s.debugDescription)")
    }
    var w = JSONWriter()
    w.beginObject()
    w.values(["a\"b", "c"], "k\\ey")
    w.value(nil as String?, "n")
    w.endObject()
    #expect(w.text == #"{"k\\ey":["a\"b","c"],"n":null}"#)
}
