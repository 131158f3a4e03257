import Glibc
import Synchronization
import Testing

@testable import PetctConcurrency

/// Counts the loop bodies running at one moment, from inside the bodies (local to one test, so tests
/// running in parallel do not disturb it).
final class Gauge: Sendable {
    let now = Atomic<Int>(0)
    let peak = Atomic<Int>(0)
    let threads = Mutex<Set<UInt>>([])
    func enter() {
        let n = now.wrappingAdd(1, ordering: .relaxed).newValue
        var cur = peak.load(ordering: .relaxed)
        while cur < n {
            let (done, seen) = peak.compareExchange(expected: cur, desired: n, ordering: .relaxed)
            if done { break }
            cur = seen
        }
        let me = UInt(pthread_self())
        threads.withLock { _ = $0.insert(me) }
    }
    func leave() { now.wrappingSubtract(1, ordering: .relaxed) }
}

/// Busy work long enough for workers to overlap when they can.
func spin(_ n: Int) -> Int {
    var x = 0
    for i in 0..<n { x = x &+ (i &* 2_654_435_761) >> 3 }
    return x
}

@Test func oneThreadRunsOnTheCallersThreadOnly() {
    let g = Gauge()
    var covered = [Bool](repeating: false, count: 200)
    covered.withUnsafeMutableBufferPointer { buf in
        let shared = SharedBox(buf)
        Parallel.forEach(count: 200, threads: 1) { i in
            g.enter()
            _ = spin(20_000)
            shared.value[i] = true
            g.leave()
        }
    }
    #expect(covered.allSatisfy { $0 })
    #expect(g.peak.load(ordering: .relaxed) == 1)
    #expect(g.threads.withLock { $0.count } == 1)
}

@Test(arguments: [1, 2, 3])
func chunksNeverRunWiderThanThreads(threads: Int) {
    let g = Gauge()
    let seen = Mutex<[Range<Int>]>([])
    Parallel.chunks(count: 1000, threads: threads) { _, range in
        g.enter()
        _ = spin(200_000)
        seen.withLock { $0.append(range) }
        g.leave()
    }
    let ranges = seen.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
    #expect(ranges.count == threads)  // an explicit count: exactly that many chunks
    #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == 1000)
    for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
    #expect(g.peak.load(ordering: .relaxed) <= threads)
}

@Test func workersFollowThreadsAndCount() {
    #expect(Parallel.workers(count: 10, threads: 1) == 1)
    #expect(Parallel.workers(count: 10, threads: 4) == 4)
    #expect(Parallel.workers(count: 3, threads: 8) == 3)
    #expect(Parallel.workers(count: 0, threads: 8) == 1)
    #expect(Parallel.workers(count: 1000, threads: 0) == Parallel.cpuCount)
}

@Test func firstErrorKeepsTheLowestIndex() {
    struct E: Error, Equatable { let n: Int }
    let errors = FirstError<E>()
    #expect(!errors.hasError && errors.error == nil)
    Parallel.forEach(count: 64, threads: 4) { i in
        if i % 5 == 3 { errors.record(E(n: i), index: i) }
    }
    #expect(errors.hasError)
    #expect(errors.error == E(n: 3))
}

@Test func peakWidthRecordsTheWidestLoop() {
    // Other tests run loops at the same time, so only lower bounds hold here; the exact values are
    // checked from Python (python/tests/test_threads.py), where nothing else runs.
    Parallel.chunks(count: 100, threads: 3) { _, _ in }
    let p = Parallel.peak()
    #expect(p.width >= 3)
    #expect(p.active >= 1)
}

@Test func nestedInlineLoopsCountTheirThreadOnce() {
    // A loop inside another's body, both on one thread: one active thread, however deep.
    Parallel.chunks(count: 4, threads: 1) { _, _ in
        Parallel.forEach(count: 4, threads: 1) { _ in
            Parallel.forEach(count: 2, threads: 1) { _ in
                #expect(Stats.active.load(ordering: .relaxed) >= 1)
                #expect(Int(bitPattern: pthread_getspecific(Stats.depthKey)) == 3)
            }
        }
    }
    #expect(Int(bitPattern: pthread_getspecific(Stats.depthKey)) == 0)
}
