import Support

/// When a datagram arrived, on both of the hub's clocks: wall-clock Unix ns (RTP timing against
/// sender reports) and monotonic ns (jitter, NACK and transport-wide feedback timing).
struct Arrival: Sendable {
    var wall: Int64
    var monotonic: Int64

    static func now() -> Arrival {
        Arrival(wall: WallClock.nanoseconds(), monotonic: MonotonicClock.nanoseconds())
    }

    /// How far a kernel receive time may be from this reading of the clocks (further is taken as
    /// wrong: a wall clock that was stepped since).
    static let maxAge: Int64 = 1_000_000_000

    /// The arrival at `wall` (the kernel's receive time), the clocks having been read at this
    /// arrival: the monotonic time moved by as much — back, or on for a datagram that came while
    /// a batch read after this reading was under way. Nil or further than `maxAge`: this one.
    func backdated(toWallClock wall: Int64?) -> Arrival {
        guard let wall else { return self }
        let (age, overflowed) = self.wall.subtractingReportingOverflow(wall)
        guard !overflowed, age.magnitude <= Self.maxAge else { return self }
        return Arrival(wall: wall, monotonic: monotonic - age)
    }
}
