#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time as the Egress API reports it: Unix nanoseconds.
public enum WallClock {
    public static func nanoseconds() -> Int64 { read(CLOCK_REALTIME) }
}

/// A clock for intervals (jitter, timeouts, pacing) that wall-clock changes never move.
public enum MonotonicClock {
    public static func nanoseconds() -> Int64 { read(CLOCK_MONOTONIC) }
}

private func read(_ clock: clockid_t) -> Int64 {
    var now = timespec()
    clock_gettime(clock, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}
