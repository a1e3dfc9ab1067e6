import Support

/// When a datagram arrived, on both of the hub's clocks: wall-clock Unix ns (RTP timing against
/// sender reports) and monotonic ns (jitter, NACK and transport-wide feedback timing).
struct Arrival: Sendable {
    var wall: Int64
    var monotonic: Int64

    static func now() -> Arrival {
        Arrival(wall: WallClock.nanoseconds(), monotonic: MonotonicClock.nanoseconds())
    }

    /// How long before now a kernel receive time may be (older is taken as wrong: a wall clock
    /// that was stepped since).
    static let maxAge: Int64 = 1_000_000_000

    /// The arrival at `wall` (the kernel's receive time), this being now: the monotonic time
    /// moved back by as much. Nil, in the future or older than `maxAge`: now.
    func backdated(toWallClock wall: Int64?) -> Arrival {
        guard let wall else { return self }
        let (age, overflowed) = self.wall.subtractingReportingOverflow(wall)
        guard !overflowed, age >= 0, age <= Self.maxAge else { return self }
        return Arrival(wall: wall, monotonic: monotonic - age)
    }
}
