import DicomBytes
import Testing

@testable import PetctSeries

/// An enhanced multi-frame PET with a temporal dimension: 2 time points x 2 positions, stored out of
/// order; frames are grouped by TemporalPositionIndex and ordered by time, then along the normal.
@Test func enhancedMultiFrameWithTemporalIndexIsFourD() throws {
    let dir = tempDir()
    defer { removeDir(dir) }
    var f = slice(series: "mf4d", modality: "PT", instance: 1, ipp: nil, iop: nil, values: (0..<24).map { UInt16($0) })
    f.text(0x0028_0008, "IS", "4")
    var shared = TestFile()
    var ori = TestFile(); ori.ds(0x0020_0037, [1, 0, 0, 0, 1, 0])
    shared.seq(0x0020_9116, [ori])
    f.seq(0x5200_9229, [shared])
    // stored frames: (t=2, z=3), (t=1, z=3), (t=2, z=0), (t=1, z=0)
    let stored: [(t: UInt32, z: Double)] = [(2, 3), (1, 3), (2, 0), (1, 0)]
    f.seq(
        0x5200_9230,
        stored.map { t, z in
            var item = TestFile()
            var pos = TestFile(); pos.ds(0x0020_0032, [0, 0, z])
            item.seq(0x0020_9113, [pos])
            var content = TestFile()
            content.elements.append((0x0020_9128, "UL", [UInt8(t), 0, 0, 0]))
            item.seq(0x0020_9111, [content])
            return item
        })
    f.write("\(dir)/mf.dcm")
    let plan = try VolumePlan.open(paths: ["\(dir)/mf.dcm"], threads: 1)
    #expect(plan.timeFrameCount == 2)
    #expect(plan.frames == [3, 1, 2, 0])  // t=1: z=0, z=3; t=2: z=0, z=3
    #expect(plan.info.shape == [2, 2, 2, 3])
    #expect(plan.info.timeFrames?.groupedBy == "TemporalPositionIndex (0020,9128)")
    #expect(plan.info.timeFrames?.frames.map(\.temporalPositionIndex) == [1, 2])
}

/// Single-frame files that repeat positions with different TriggerTime are gates, ordered by it.
@Test func repeatedPositionsWithTriggerTimesAreGates() throws {
    let dir = tempDir()
    defer { removeDir(dir) }
    var paths: [String] = []
    for (n, (trigger, z)) in [(400.0, 0.0), (0, 2), (400, 2), (0, 0)].enumerated() {
        var f = slice(series: "g", modality: "PT", instance: n + 1, ipp: [0, 0, z])
        f.ds(0x0018_1060, [trigger])
        paths.append("\(dir)/g\(n).dcm")
        f.write(paths.last!)
    }
    let plan = try VolumePlan.open(paths: paths, threads: 1)
    #expect(plan.timeFrameCount == 2)
    #expect(plan.paths == ["\(dir)/g3.dcm", "\(dir)/g1.dcm", "\(dir)/g0.dcm", "\(dir)/g2.dcm"])
    #expect(plan.info.timeFrames?.kind == "gated")
    #expect(plan.info.timeFrames?.frames.map(\.gate) == [1, 2])
}

/// A frame missing a position is an error naming that frame and a file of it.
@Test func framesWithDifferentPositionsAreAnError() throws {
    let dir = tempDir()
    defer { removeDir(dir) }
    var paths: [String] = []
    for (n, (t, z)) in [(0.0, 0.0), (0, 2), (0, 4), (1000, 0), (1000, 2)].enumerated() {
        var f = slice(series: "d", modality: "PT", instance: n + 1, ipp: [0, 0, z])
        f.ds(0x0054_1300, [t])
        paths.append("\(dir)/d\(n).dcm")
        f.write(paths.last!)
    }
    do {
        _ = try VolumePlan.open(paths: paths, threads: 1)
        Issue.record("expected a geometry error")
    } catch {
        #expect(error.kind == .geometry)
        #expect(error.message.contains("frame 2 of 2 has 2 slices, frame 1 has 3"))
        #expect(error.message.contains("d3.dcm"))
    }
}

/// The same instance in two files is a duplicate file (left out, named); two different files at one
/// position with the same timing are an error naming both.
@Test func duplicateInstancesAndCollisions() throws {
    let dir = tempDir()
    defer { removeDir(dir) }
    slice(series: "s", instance: 1, ipp: [0, 0, 0]).write("\(dir)/a.dcm")
    slice(series: "s", instance: 2, ipp: [0, 0, 2]).write("\(dir)/b.dcm")
    slice(series: "s", instance: 2, ipp: [0, 0, 2]).write("\(dir)/b-copy.dcm")  // same SOPInstanceUID
    let plan = try VolumePlan.open(paths: ["\(dir)/a.dcm", "\(dir)/b.dcm", "\(dir)/b-copy.dcm"], threads: 1)
    #expect(plan.sliceCount == 2 && plan.timeFrameCount == 1)
    #expect(
        plan.geometry.warnings.contains { $0.hasPrefix("duplicate file \(dir)/b-copy.dcm: the same SOPInstanceUID") })

    var other = slice(series: "s", instance: 3, ipp: [0, 0, 2])  // another instance, same place
    other.text(0x0008_0032, "TM", "110000")
    other.write("\(dir)/c.dcm")
    do {
        _ = try VolumePlan.open(paths: ["\(dir)/a.dcm", "\(dir)/b.dcm", "\(dir)/c.dcm"], threads: 1)
        Issue.record("expected a geometry error")
    } catch {
        #expect(error.kind == .geometry)
        #expect(
            error.message.contains("b.dcm") && error.message.contains("c.dcm")
                && error.message.contains("same position"))
    }
}
