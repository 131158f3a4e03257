import DicomBytes
import Glibc
import Testing

@testable import PetctSUV

/// SUV of a 4D series: 2 time frames x 2 slices (stored frame by frame). Frame 1 starts 11:00:00 and
/// lasts 60 s, frame 2 starts 11:01:00 and lasts 120 s; 370 MBq F-18 injected at 10:00, 70 kg.
/// Expected values computed by hand (λ = ln2 / 6586.2 s):
///   START: 70000 / (370e6 · 2^(−3600/6586.2)) = 70000 / (370e6 · 0.684633) = 2.76337e-4 for every frame.
///   ADMIN: 70000 / 370e6 = 1.891892e-4.
///   NONE, frame 1: decay e^(−λ·3600) = 0.684633, in-frame λΔ/(1−e^(−λΔ)) with Δ = 60 s = 1.0031606,
///         factor 70000 · 1.0031606 / (370e6 · 0.684633) = 2.772101e-4;
///   NONE, frame 2: e^(−λ·3660) = 0.680323, Δ = 120 s -> 1.0063278, factor 2.798468e-4.
@Suite struct FrameTests {
    func dynamicInputs(_ dc: String) -> SUVInputs {
        var i = baseInputs(slices: 4)
        i.timeFrames = 2
        i.decayCorrection = dc
        if dc == "NONE" { i.correctedImage = ["ATTN"] }
        i.acquisitionTimes = [at(11), at(11), at(11, 1), at(11, 1)]
        i.frameDurationsMs = [60_000, 60_000, 120_000, 120_000]
        i.frameReferenceTimesMs = [30_000, 30_000, 120_000, 120_000]
        return i
    }

    @Test func startIsOneFactorDecayedToTheSeriesStart() throws {
        let r = try SUVComputation.compute(dynamicInputs("START"), kind: .bw)
        #expect(r.factors.allSatisfy { close($0, 2.7633668e-4, 1e-7) })
        #expect(r.info.frames.count == 2)
        #expect(r.info.frames.allSatisfy { $0.decayCorrection == "START" && close($0.decayFactor!, 0.6846329, 1e-6) })
        #expect(r.info.frames[1].path.hasPrefix("START"))
        #expect(r.info.frames[1].start == at(11, 1))
    }

    @Test func adminHasNoDecay() throws {
        let r = try SUVComputation.compute(dynamicInputs("ADMIN"), kind: .bw)
        #expect(r.factors.allSatisfy { close($0, 1.891892e-4, 1e-6) })
        #expect(r.info.frames.map { $0.decayFactor } == [1, 1])
        #expect(r.info.frames[0].path.hasPrefix("ADMIN"))
    }

    @Test func noneDecaysEachFrameFromItsOwnStart() throws {
        let r = try SUVComputation.compute(dynamicInputs("NONE"), kind: .bw)
        #expect(close(r.factors[0], 2.772101e-4, 1e-6) && close(r.factors[1], 2.772101e-4, 1e-6))
        #expect(close(r.factors[2], 2.798468e-4, 1e-6) && close(r.factors[3], 2.798468e-4, 1e-6))
        let f = r.info.frames
        #expect(f.count == 2 && f.allSatisfy { $0.decayCorrection == "NONE" && $0.path.hasPrefix("NONE") })
        #expect(close(f[0].decayFactor!, 0.6846329, 1e-6) && close(f[1].decayFactor!, 0.6803234, 1e-6))
        #expect(close(f[0].inFrameCorrection!, 1.0031606, 1e-7) && close(f[1].inFrameCorrection!, 1.0063278, 1e-7))
        #expect(r.info.frames.map(\.frame) == [0, 1])
    }

    @Test func threeDSeriesHaveNoFrameReport() throws {
        let r = try SUVComputation.compute(baseInputs(), kind: .bw)
        #expect(r.info.frames.isEmpty)
    }
}
