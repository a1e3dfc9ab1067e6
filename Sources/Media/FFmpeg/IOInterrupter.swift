import CFFmpeg
import Support
import Synchronization

/// Tells libavformat's blocking network I/O (connecting, writing to a stream whose server has
/// stopped reading) when to give up: at a deadline set before each operation, or at once when
/// the output is being closed. libavformat polls it while it waits.
public final class IOInterrupter: Sendable {
    /// Monotonic nanoseconds after which I/O gives up; 0: no deadline.
    private let deadline = Atomic<Int64>(0)
    private let stopped = Atomic<Bool>(false)

    public init() {}

    /// I/O from now on gives up `nanoseconds` from now.
    public func allow(_ nanoseconds: Int64) {
        deadline.store(MonotonicClock.nanoseconds() &+ nanoseconds, ordering: .relaxed)
    }

    /// Every I/O from now on gives up at once.
    public func interrupt() {
        stopped.store(true, ordering: .relaxed)
    }

    public var isInterrupted: Bool { stopped.load(ordering: .relaxed) }

    /// Whether I/O gives up now: interrupted, or past its deadline.
    public var shouldGiveUp: Bool {
        if stopped.load(ordering: .relaxed) { return true }
        let deadline = deadline.load(ordering: .relaxed)
        return deadline != 0 && MonotonicClock.nanoseconds() > deadline
    }
}

/// libavformat's interrupt callback: non-zero gives up the blocking call.
func ioInterruptCallback(_ opaque: UnsafeMutableRawPointer?) -> Int32 {
    guard let opaque else { return 0 }
    return Unmanaged<IOInterrupter>.fromOpaque(opaque).takeUnretainedValue().shouldGiveUp ? 1 : 0
}
