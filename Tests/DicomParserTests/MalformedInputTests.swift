import DicomBytes
import DicomDictionary
import Testing

@testable import DicomParser

#if canImport(Glibc)
import Glibc
#endif

// Malformed and truncated input: nesting depth, truncation at every offset, error offsets, inflate cap.

@Test func deepNestingIsAnErrorNotACrash() throws {
    var content: [UInt8] = []
    for _ in 0..<3000 {
        var d = DS()
        d.seq(0x0040_A730, [content], undefined: true, undefinedItems: true)
        content = d.bytes
    }
    do {
        _ = try DicomReader.read(bytes: part10(ts: explicitLE, body: content))
        Issue.record("expected an error")
    } catch {
        #expect(error.kind == .malformed)
        #expect(error.tag == 0x0040_A730)
    }
}

@Test func truncationAtEveryOffsetNeverCrashes() throws {
    var item = DS(); item.text(0x0008_0100, "SH", "X"); item.us(0x0028_0010, [1])
    var d = DS()
    d.text(0x0008_0005, "CS", "ISO_IR 100")
    d.text(0x0008_0060, "CS", "CT")
    d.seq(0x0008_1032, [item.bytes], undefined: true, undefinedItems: true)
    d.seq(0x0008_1140, [item.bytes])
    d.text(0x0018_0050, "DS", "1.5")
    d.header(0x7FE0_0010, "OB", nil)
    d.item([]); d.item([1, 2, 3, 4]); d.seqDelim()
    for ts in [explicitLE, implicitLE, explicitBE] {
        let file = part10(ts: ts, body: d.bytes)
        var ok = 0, failed = 0
        for cut in 0...file.count {
            let prefix = Array(file[0..<cut])
            for force in [false, true] {
                do {
                    _ = try DicomReader.read(bytes: prefix, options: ReadOptions(force: force))
                    ok += 1
                } catch {
                    failed += 1
                    #expect(error.kind == .malformed || error.kind == .invalidDicom)
                }
            }
        }
        #expect(ok > 0 && failed > 0)
    }
    // the complete file parses
    let full = try DicomReader.read(bytes: part10(ts: explicitLE, body: d.bytes))
    #expect(full.double(0x0018_0050) == 1.5)
}

@Test func truncatedValuesAreCutAsPydicomDoes() throws {
    // A defined-length value running past the end of the data is read short and ends the data set.
    var d = DS()
    d.text(0x0008_0060, "CS", "CT")
    d.header(0x0010_0010, "PN", 200)
    d.bytes += Array("short".utf8) + [0x20]
    let ds = try DicomReader.read(bytes: part10(ts: explicitLE, body: d.bytes))
    #expect(ds.string(0x0010_0010) == "short")
    // a defined-length item running past its sequence is cut at the sequence end
    var item = DS(); item.text(0x0008_0100, "SH", "AB")
    var s = DS()
    s.header(0x0008_1032, "SQ", 8 + 10)
    s.tag(Tags.item); s.u32(100); s.bytes += item.bytes
    s.text(0x0010_0010, "PN", "Next")
    let ds2 = try DicomReader.read(bytes: part10(ts: explicitLE, body: s.bytes))
    #expect(ds2.string(0x0008_0100, in: ds2.items(0x0008_1032).first) == "AB")
    #expect(ds2.string(0x0010_0010) == "Next")
}

@Test func malformedErrorsCarryOffsetAndTag() throws {
    // an undefined-length sequence without its delimiter
    var item = DS(); item.text(0x0008_0100, "SH", "X")
    var d = DS()
    d.text(0x0008_0060, "CS", "CT")
    d.header(0x0008_1032, "SQ", nil)
    d.item(item.bytes)
    let file = part10(ts: explicitLE, body: d.bytes)
    do {
        _ = try DicomReader.read(bytes: file)
        Issue.record("expected an error")
    } catch {
        #expect(error.kind == .malformed)
        #expect(error.tag == 0x0008_1032)
        #expect(error.offset == file.count)
    }
}

@Test func trailingBytesShorterThanAHeaderAreIgnored() throws {
    var d = DS(); d.text(0x0008_0060, "CS", "CT")
    let ds = try DicomReader.read(bytes: part10(ts: explicitLE, body: d.bytes + [0, 0, 0]))
    #expect(ds.string(0x0008_0060) == "CT")
}

@Test func inflateIsCapped() throws {
    let zeros = [UInt8](repeating: 0, count: 1 << 20)
    let packed = try rawDeflate(zeros)
    let full = try packed.withUnsafeBytes { try inflateRaw($0) }
    #expect(full == zeros)
    do {
        _ = try packed.withUnsafeBytes { try inflateRaw($0, maxOutput: 100_000) }
        Issue.record("expected the cap to raise")
    } catch {
        #expect((error as? DicomError)?.kind == .limit)
    }
    // garbage is not a deflate stream
    #expect(throws: DicomError.self) { try [UInt8](repeating: 0xFF, count: 64).withUnsafeBytes { try inflateRaw($0) } }
}
