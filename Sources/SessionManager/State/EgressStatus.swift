/// The status of an egress, numbered as `livekit.EgressStatus` on the wire.
public enum EgressStatus: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case starting = 0
    case active = 1
    case ending = 2
    case complete = 3
    case failed = 4
    case aborted = 5
    case limitReached = 6

    /// Complete, failed, aborted or limit reached: nothing will change it any more.
    public var isEnded: Bool {
        switch self {
        case .starting, .active, .ending: false
        case .complete, .failed, .aborted, .limitReached: true
        }
    }

    public var description: String {
        switch self {
        case .starting: "EGRESS_STARTING"
        case .active: "EGRESS_ACTIVE"
        case .ending: "EGRESS_ENDING"
        case .complete: "EGRESS_COMPLETE"
        case .failed: "EGRESS_FAILED"
        case .aborted: "EGRESS_ABORTED"
        case .limitReached: "EGRESS_LIMIT_REACHED"
        }
    }
}
