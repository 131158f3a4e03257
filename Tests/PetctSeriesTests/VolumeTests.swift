import DicomBytes
import DicomParser
import Testing

@testable import PetctSeries

#if canImport(Glibc)
import Glibc
#endif

func place(_ p: [Double]?, _ o: [Double]?, _ n: Int?, _ name: String) -> SlicePlacement {
    SlicePlacement(position: p, orientation: o, instanceNumber: n, name: name)
}

@Test func sortsAlongTheNormalOfATiltedOrientation() throws {
    // Rows along x; columns tilted 100 degrees about x, so the normal points down-ish in z:
    // sorting by z alone or by InstanceNumber would give the reverse order.
    let t = 100.0 * Double.pi / 180
    let iop = [1, 0, 0, 0, cos(t), -sin(t)]
    let n = Vec3(1, 0, 0).cross(Vec3(0, cos(t), -sin(t)))
    let base = Vec3(-10, 20, 30)
    let perm = [3, 0, 4, 1, 2]
    let slices = perm.map { k in place((base + Double(k) * 2.5 * n).array, iop, 10 - k, "s\(k)") }
    let g = try Stacking.stack(slices, fallbackSpacing: nil)
    #expect(g.order.map { slices[$0].name } == ["s0", "s1", "s2", "s3", "s4"])
    #expect(abs(g.sliceSpacing - 2.5) < 1e-9)
    for (k, o) in g.offsets.enumerated() { #expect(abs(o - 2.5 * Double(k)) < 1e-9) }
    #expect(g.uniform)
    #expect(g.warnings.isEmpty)
    #expect((g.normal - n).norm < 1e-12)
    #expect(g.origin == base)
    // z decreases along the volume here
    #expect(g.positions[4].z < g.positions[0].z)
}

@Test func dropsDuplicatePositionsKeepingTheLowestInstance() throws {
    let iop = [1.0, 0, 0, 0, 1, 0]
    var slices = (0..<4).map { k in place([0, 0, Double(k) * 3], iop, k + 10, "f\(k)") }
    slices.append(place([0, 0, 6.0000001], iop, 2, "dup"))  // same position as f2, lower instance
    slices.append(place([0, 0, 3], iop, 50, "dup2"))  // same as f1, higher instance
    let g = try Stacking.stack(slices, fallbackSpacing: nil)
    #expect(g.order.map { slices[$0].name } == ["f0", "f1", "dup", "f3"])
    #expect(Set(g.dropped.map { slices[$0].name }) == ["f2", "dup2"])
    #expect(g.warnings.count == 2)
    #expect(g.warnings.contains { $0.contains("kept dup") && $0.contains("dropped f2") })
    #expect(g.warnings.contains { $0.contains("kept f1") && $0.contains("dropped dup2") })
    #expect(g.uniform)
    #expect(abs(g.sliceSpacing - 3) < 1e-9)
}

@Test func reportsGapsAndKeepsRealPositions() throws {
    let iop = [1.0, 0, 0, 0, 1, 0]
    let zs = [0.0, 2, 4, 8, 10, 12]
    let slices = zs.enumerated().map { k, z in place([5, 5, z], iop, k + 1, "g\(k)") }
    let g = try Stacking.stack(slices.reversed(), fallbackSpacing: nil)
    #expect(g.offsets == zs)
    #expect(g.sliceSpacing == 2)
    #expect(!g.uniform)
    #expect(g.warnings == ["gap of 4 mm between slice 2 and 3 (expected 2 mm)"])
    // tiny jitter is not a gap
    let jitter = [0.0, 2.001, 4, 6.002, 8]
    let g2 = try Stacking.stack(jitter.map { place([0, 0, $0], iop, nil, "j") }, fallbackSpacing: nil)
    #expect(g2.uniform && g2.warnings.isEmpty)
}

@Test func affineAndDirectionFollowTheGridConvention() throws {
    let t = 0.3
    let r = Vec3(cos(t), sin(t), 0), c = Vec3(-sin(t) * cos(0.2), cos(t) * cos(0.2), sin(0.2))
    let n = r.cross(c)
    let iop = r.array + c.array
    let origin = Vec3(1, 2, 3)
    let slices = (0..<3).map { k in place((origin + Double(k) * 4 * n).array, iop, k, "a\(k)") }
    let g = try Stacking.stack(slices, fallbackSpacing: nil)
    let a = g.affine(rowSpacing: 0.7, columnSpacing: 0.9)
    let d = g.direction
    #expect(a.count == 16 && d.count == 9)
    for (k, i, j) in [(0.0, 0.0, 0.0), (2, 5, 7), (1, 0, 3)] {
        let expected = origin + (4 * k) * n + (0.7 * i) * c + (0.9 * j) * r
        let p = Vec3(
            a[0] * k + a[1] * i + a[2] * j + a[3], a[4] * k + a[5] * i + a[6] * j + a[7],
            a[8] * k + a[9] * i + a[10] * j + a[11])
        #expect((p - expected).norm < 1e-9)
    }
    #expect(Array(a[12...]) == [0, 0, 0, 1])
    // columns of direction are n, c, r
    #expect((Vec3(d[0], d[3], d[6]) - n).norm < 1e-12)
    #expect((Vec3(d[1], d[4], d[7]) - c).norm < 1e-12)
    #expect((Vec3(d[2], d[5], d[8]) - r).norm < 1e-12)
}

@Test func missingGeometryFallsBackToInstanceOrder() throws {
    let slices = [place(nil, nil, 3, "c"), place([0, 0, 1], [1, 0, 0, 0, 1, 0], 1, "a"), place(nil, nil, 2, "b")]
    let g = try Stacking.stack(slices, fallbackSpacing: 2.5)
    #expect(g.order.map { slices[$0].name } == ["a", "b", "c"])
    #expect(g.offsets == [0, 2.5, 5])
    #expect(g.warnings.count == 1 && g.warnings[0].contains("InstanceNumber"))
    #expect(g.origin == Vec3(0, 0, 1))
}

@Test func mixedOrientationsAreAGeometryError() {
    let slices = [place([0, 0, 0], [1, 0, 0, 0, 1, 0], 1, "a"), place([0, 0, 1], [1, 0, 0, 0, 0, -1], 2, "odd")]
    do {
        _ = try Stacking.stack(slices, fallbackSpacing: nil)
        Issue.record("expected a geometry error")
    } catch {
        #expect(error.kind == .geometry)
        #expect(error.message.contains("odd"))
    }
}

// MARK: - files on disk

@Test func opensAndFillsASeriesFromFiles() throws {
    let dir = tempDir()
    defer { removeDir(dir) }
    var paths: [String] = []
    // written in shuffled order with shuffled names; slope/intercept differ per slice
    for (n, k) in [2, 0, 3, 1].enumerated() {
        let p = "\(dir)/x\(n).dcm"
        slice(
            series: "9.9", instance: 4 - k, ipp: [-5, -6, -100 + 2 * Double(k)], slope: Double(k + 1),
            intercept: -1000, values: (0..<6).map { UInt16(k * 100 + $0) }
        ).write(p)
        paths.append(p)
    }
    let plan = try VolumePlan.open(paths: paths, threads: 2)
    #expect(plan.sliceCount == 4 && plan.rows == 2 && plan.columns == 3)
    #expect(plan.paths == ["\(dir)/x1.dcm", "\(dir)/x3.dcm", "\(dir)/x0.dcm", "\(dir)/x2.dcm"])
    let j = plan.info
    #expect(j.shape == [4, 2, 3])
    #expect(j.origin == [-5.0, -6.0, -100.0])
    #expect(j.spacing == [2.0, 0.8, 0.9])
    #expect(j.sliceOffsets == [0.0, 2.0, 4.0, 6.0])
    #expect(j.uniform)
    #expect(j.rescale == [[1.0, -1000.0], [2.0, -1000.0], [3.0, -1000.0], [4.0, -1000.0]])
    #expect(j.instanceNumbers == [4, 3, 2, 1])
    #expect(j.modality == "CT")
    #expect(j.seriesUID == "9.9")
    #expect(j.frameOfReferenceUID == "1.2.3.9")
    #expect(j.units == nil)
    #expect(j.direction == [0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    var out = [Float](repeating: .nan, count: 24)
    try out.withUnsafeMutableBufferPointer { try plan.fill($0) }
    for k in 0..<4 {
        for v in 0..<6 {
            #expect(out[k * 6 + v] == Float(k + 1) * Float(k * 100 + v) - 1000)
        }
    }
}

@Test func openRejectsMixedImageSizesNamingTheFile() throws {
    let dir = tempDir()
    defer { removeDir(dir) }
    slice(series: "1", instance: 1, ipp: [0, 0, 0]).write("\(dir)/a.dcm")
    slice(series: "1", instance: 2, ipp: [0, 0, 1], rows: 4).write("\(dir)/b.dcm")
    do {
        _ = try VolumePlan.open(paths: ["\(dir)/a.dcm", "\(dir)/b.dcm"], threads: 1)
        Issue.record("expected a geometry error")
    } catch {
        #expect(error.kind == .geometry)
        #expect(error.message.contains("b.dcm"))
    }
    // an unreadable file is named too
    do {
        _ = try VolumePlan.open(paths: ["\(dir)/a.dcm", "\(dir)/missing.dcm"], threads: 1)
        Issue.record("expected an error")
    } catch {
        #expect(error.message.contains("missing.dcm"))
    }
}

@Test func multiFrameEnhancedObjectLoadsAsAVolume() throws {
    let dir = tempDir()
    defer { removeDir(dir) }
    var f = slice(series: "mf", instance: 1, ipp: nil, iop: nil, values: (0..<18).map { UInt16($0) })
    f.text(0x0028_0008, "IS", "3")
    var shared = TestFile()
    var ori = TestFile(); ori.ds(0x0020_0037, [1, 0, 0, 0, 1, 0])
    shared.seq(0x0020_9116, [ori])
    f.seq(0x5200_9229, [shared])
    // frames stored at z = 10, 4, 7 (out of order), per-frame slope
    let zs = [10.0, 4, 7]
    f.seq(
        0x5200_9230,
        zs.enumerated().map { i, z in
            var item = TestFile()
            var pos = TestFile(); pos.ds(0x0020_0032, [0, 0, z])
            item.seq(0x0020_9113, [pos])
            var tr = TestFile(); tr.ds(0x0028_1053, [Double(i + 1)]); tr.ds(0x0028_1052, [0])
            item.seq(0x0028_9145, [tr])
            return item
        })
    f.write("\(dir)/mf.dcm")
    let plan = try VolumePlan.open(paths: ["\(dir)/mf.dcm"], threads: 1)
    #expect(plan.sliceCount == 3)
    #expect(plan.frames == [1, 2, 0])
    #expect(plan.info.sliceOffsets == [0.0, 3.0, 6.0])
    #expect(plan.info.rescale == [[2.0, 0.0], [3.0, 0.0], [1.0, 0.0]])
    var out = [Float](repeating: .nan, count: 18)
    try out.withUnsafeMutableBufferPointer { try plan.fill($0) }
    #expect(Array(out[0..<6]) == (6..<12).map { Float($0) * 2 })
    #expect(Array(out[12..<18]) == (0..<6).map { Float($0) })
}

@Test func manyDuplicatesAreSummarised() throws {
    // a dynamic series: 3 time points at the same 10 positions
    let iop = [1.0, 0, 0, 0, 1, 0]
    var slices: [SlicePlacement] = []
    for t in 0..<3 {
        for k in 0..<10 { slices.append(place([0, 0, Double(k) * 2], iop, t * 10 + k + 1, "t\(t)k\(k)")) }
    }
    let g = try Stacking.stack(slices, fallbackSpacing: nil)
    #expect(g.order.map { slices[$0].name } == (0..<10).map { "t0k\($0)" })
    #expect(g.dropped.count == 20)
    #expect(g.warnings.count == 1)
    #expect(g.warnings[0].hasPrefix("10 duplicate slice positions"))
    #expect(g.sliceSpacing == 2 && g.uniform)
}

@Test func openReusesHeadersAScanKept() throws {
    let dir = tempDir()
    defer { removeDir(dir) }
    var paths: [String] = []
    for k in 0..<3 {
        let p = "\(dir)/s\(k).dcm"
        slice(
            series: "7.7", instance: k + 1, ipp: [0, 0, Double(k) * 2], slope: 1, intercept: -1000,
            values: (0..<6).map { UInt16(k * 10 + $0) }
        ).write(p)
        paths.append(p)
    }
    let notDicom = "\(dir)/notes.txt"
    let f = fopen(notDicom, "w"); fputs("not DICOM", f); fclose(f)

    // keep: false keeps nothing; keep: true keeps one header per readable file and the same JSON.
    let plain = SeriesScanner.scanKeepingHeaders(paths: paths + [notDicom], threads: 2, keep: false)
    #expect(plain.headers.isEmpty)
    let kept = SeriesScanner.scanKeepingHeaders(paths: paths + [notDicom], threads: 2, keep: true)
    #expect(kept.result == plain.result)
    #expect(Set(kept.headers.keys) == Set(paths))

    // A plan from kept headers equals one read from the files.
    let fromFiles = try VolumePlan.open(paths: paths, threads: 1)
    let fromScan = try VolumePlan.open(paths: paths, threads: 1, known: kept.headers)
    #expect(fromScan.info == fromFiles.info)
    #expect(fromScan.headers.indices.allSatisfy { fromScan.headers[$0] === kept.headers[fromScan.paths[$0]] })

    // The kept header really is what is used: s2's file now says slope 5, its kept header still 1.
    slice(
        series: "7.7", instance: 3, ipp: [0, 0, 4], slope: 5, intercept: -1000,
        values: (0..<6).map { UInt16(20 + $0) }
    ).write(paths[2])
    let reread = try VolumePlan.open(paths: paths, threads: 1)
    let reused = try VolumePlan.open(paths: paths, threads: 1, known: kept.headers)
    #expect(reread.info.rescale.contains([5.0, -1000.0]))
    #expect(!reused.info.rescale.contains([5.0, -1000.0]))
    // ... and filling that plan fails, naming the file and what changed, instead of mixing the two.
    var out = [Float](repeating: 0, count: 18)
    do {
        try out.withUnsafeMutableBufferPointer { try reused.fill($0, threads: 1) }
        Issue.record("expected an error for a file changed after the scan")
    } catch let error as DicomError {
        #expect(error.kind == .geometry)
        #expect(error.message.contains("s2.dcm") && error.message.contains("RescaleSlope"))
        #expect(error.tag == 0x0028_1053)
    }
    try out.withUnsafeMutableBufferPointer { try reread.fill($0, threads: 1) }
    #expect(out[12] == 5 * 20 - 1000)
    // Paths the scan did not read are read from disk.
    let partial = try VolumePlan.open(paths: paths, threads: 1, known: [paths[0]: kept.headers[paths[0]]!])
    #expect(partial.info == reread.info)
}
