import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wraps a value that is shared between the workers of a parallel loop. The caller guarantees that
/// the workers touch disjoint parts of it (or only read it).
public struct SharedBox<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}

/// Parallel loops over `DispatchQueue.concurrentPerform`.
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
    /// `body` gets (worker-local chunk number, range).
    public static func chunks(count: Int, threads: Int, granularity: Int = 4,
                              _ body: (Int, Range<Int>) -> Void) {
        guard count > 0 else { return }
        let w = workers(count: count, threads: threads)
        if w == 1 {
            body(0, 0..<count)
            return
        }
        // With an explicit thread count, exactly `threads` iterations bound the concurrency;
        // with 0 (all cores) finer chunks let the pool balance the load.
        let pieces = threads > 0 ? w : min(count, w * max(1, granularity))
        withoutActuallyEscaping(body) { escaping in
            let shared = SharedBox(escaping)
            DispatchQueue.concurrentPerform(iterations: pieces) { p in
                let lo = count * p / pieces
                let hi = count * (p + 1) / pieces
                if lo < hi { shared.value(p, lo..<hi) }
            }
        }
    }
}

/// A mutex-protected first error, for parallel loops whose items can fail.
public final class FirstError<E: Error>: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var stored: (index: Int, error: E)?
    public init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    /// Records `error` for item `index`; the error of the lowest index wins (deterministic).
    public func record(_ error: E, index: Int) {
        pthread_mutex_lock(&mutex)
        if stored == nil || index < stored!.index { stored = (index, error) }
        pthread_mutex_unlock(&mutex)
    }

    public var error: E? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return stored?.error
    }

    /// True once any error was recorded (cheap early-out for workers).
    public var hasError: Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return stored != nil
    }
}
