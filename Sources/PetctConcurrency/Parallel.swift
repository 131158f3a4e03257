// Concurrency helpers shared by every layer that runs parallel loops (the bottom target: it depends on
// nothing). One bounded loop, one box for values shared by its workers, one first-error record.
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wraps a value shared between the workers of a parallel loop. The caller guarantees that the workers
/// touch disjoint parts of it (or only read it).
public struct SharedBox<T>: @unchecked Sendable {
    public var value: T
    public init(_ value: T) { self.value = value }
}

/// Parallel loops over `DispatchQueue.concurrentPerform`, never wider than the `threads` asked for.
public enum Parallel {
    /// Online processors (at least 1).
    public static var cpuCount: Int {
        let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return n > 0 ? Int(n) : 1
    }

    /// Number of workers for `threads` (0 = all cores) and `count` work items.
    public static func workers(count: Int, threads: Int) -> Int {
        let t = threads > 0 ? threads : cpuCount
        return max(1, min(count, t))
    }

    /// Splits 0..<count into contiguous chunks and runs `body` on them concurrently with at most
    /// `threads` (0 = all cores) running at once. `granularity` chunks per worker balance uneven work.
    /// `body` gets (chunk number, range).
    public static func chunks(
        count: Int, threads: Int, granularity: Int = 4,
        _ body: (Int, Range<Int>) -> Void
    ) {
        guard count > 0 else { return }
        let w = workers(count: count, threads: threads)
        Stats.record(width: w)
        if w == 1 {
            Stats.enter()
            body(0, 0..<count)
            Stats.leave()
            return
        }
        // With an explicit thread count, exactly `threads` iterations bound the concurrency;
        // with 0 (all cores) finer chunks let the pool (one thread per core) balance the load.
        let pieces = threads > 0 ? w : min(count, w * max(1, granularity))
        withoutActuallyEscaping(body) { escaping in
            let shared = SharedBox(escaping)
            DispatchQueue.concurrentPerform(iterations: pieces) { p in
                let lo = count * p / pieces
                let hi = count * (p + 1) / pieces
                if lo < hi {
                    Stats.enter()
                    shared.value(p, lo..<hi)
                    Stats.leave()
                }
            }
        }
    }

    /// Runs `body(i)` for every i in 0..<count with at most `threads` (0 = all cores) at once.
    public static func forEach(count: Int, threads: Int, _ body: (Int) -> Void) {
        chunks(count: count, threads: threads, granularity: 4) { _, range in
            for i in range { body(i) }
        }
    }

    /// Test hook: how wide the parallel loops of this process were since the last reset.
    /// `width` is the largest number of workers a loop was allowed (1 for a loop run inline on the
    /// caller's thread); `active` the most threads seen running loop bodies at the same moment
    /// (nested loops count their thread once; <= width while one call runs).
    public static func peak(reset: Bool = false) -> (width: Int, active: Int) {
        if reset {
            return (Stats.width.exchange(0, ordering: .relaxed), Stats.peakActive.exchange(0, ordering: .relaxed))
        }
        return (Stats.width.load(ordering: .relaxed), Stats.peakActive.load(ordering: .relaxed))
    }
}

/// The widths and the threads running loop bodies. A thread counts once however deeply its loops nest
/// (a loop run inline inside another's body adds no thread): a per-thread depth in a pthread key.
enum Stats {
    static let width = Atomic<Int>(0)
    static let active = Atomic<Int>(0)
    static let peakActive = Atomic<Int>(0)
    static let depthKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    static func record(width w: Int) { raise(width, to: w) }

    static func enter() {
        let depth = Int(bitPattern: pthread_getspecific(depthKey))
        pthread_setspecific(depthKey, UnsafeRawPointer(bitPattern: depth + 1))
        if depth == 0 {
            let now = active.wrappingAdd(1, ordering: .relaxed).newValue
            raise(peakActive, to: now)
        }
    }

    static func leave() {
        let depth = Int(bitPattern: pthread_getspecific(depthKey)) - 1
        pthread_setspecific(depthKey, UnsafeRawPointer(bitPattern: depth))
        if depth == 0 { active.wrappingSubtract(1, ordering: .relaxed) }
    }

    private static func raise(_ a: borrowing Atomic<Int>, to v: Int) {
        var cur = a.load(ordering: .relaxed)
        while cur < v {
            let (done, seen) = a.compareExchange(expected: cur, desired: v, ordering: .relaxed)
            if done { return }
            cur = seen
        }
    }
}

/// The first error of a parallel loop whose items can fail: the error of the lowest item index wins,
/// so the result does not depend on scheduling.
public final class FirstError<E: Error & Sendable>: Sendable {
    private let stored = Mutex<(index: Int, error: E)?>(nil)
    public init() {}

    /// Records `error` for item `index`.
    public func record(_ error: E, index: Int) {
        stored.withLock { s in
            if s == nil || index < s!.index { s = (index, error) }
        }
    }

    public var error: E? { stored.withLock { $0?.error } }

    /// True once any error was recorded (cheap early-out for workers).
    public var hasError: Bool { stored.withLock { $0 != nil } }
}
