/// The lifecycle of one egress as an explicit state machine:
///
///     STARTING ──media──▶ ACTIVE ──stop / source ended──▶ ENDING ──finalized──▶ COMPLETE
///        │                  │                               (no media ever: ABORTED)
///        └──stop──▶ ENDING  ├──limit──▶ LIMIT_REACHED
///                           └──failure (from any live state)──▶ FAILED
///
/// Each event has one exhaustive switch; an event that does not apply to the current state
/// is refused, never silently ignored.
public enum EgressState: Sendable, Equatable, Codable {
    case starting
    case active
    /// Finalizing outputs; `hadMedia` decides between COMPLETE and ABORTED.
    case ending(hadMedia: Bool)
    case complete
    case failed
    case aborted
    case limitReached

    public struct IllegalTransition: Error, Sendable, Equatable, CustomStringConvertible {
        public let from: EgressStatus
        public let event: EgressEvent
        public var description: String { "\(event) does not apply to an egress in \(from)" }
    }

    public var status: EgressStatus {
        switch self {
        case .starting: .starting
        case .active: .active
        case .ending: .ending
        case .complete: .complete
        case .failed: .failed
        case .aborted: .aborted
        case .limitReached: .limitReached
        }
    }

    /// The state after `event`, or the refusal. Progress and the room's id change no state; a
    /// source that ends while the egress is already ending changes nothing either.
    public func applying(_ event: EgressEvent) -> Result<EgressState, IllegalTransition> {
        let refused = Result<EgressState, IllegalTransition>.failure(IllegalTransition(from: status, event: event))
        switch event {
        case .roomIdentified, .progress:
            return .success(self)
        case .sourceEnded where status == .ending:
            return .success(self)
        case .mediaStarted:
            switch self {
            case .starting: return .success(.active)
            case .active, .ending, .complete, .failed, .aborted, .limitReached: return refused
            }
        case .stopRequested, .sourceEnded:
            switch self {
            case .starting: return .success(.ending(hadMedia: false))
            case .active: return .success(.ending(hadMedia: true))
            case .ending, .complete, .failed, .aborted, .limitReached: return refused
            }
        case .finalized:
            switch self {
            case .ending(let hadMedia): return .success(hadMedia ? .complete : .aborted)
            case .starting, .active, .complete, .failed, .aborted, .limitReached: return refused
            }
        case .failed:
            switch self {
            case .starting, .active, .ending: return .success(.failed)
            case .complete, .failed, .aborted, .limitReached: return refused
            }
        case .limitReached:
            switch self {
            case .active, .ending(hadMedia: true): return .success(.limitReached)
            case .starting, .ending(hadMedia: false), .complete, .failed, .aborted, .limitReached: return refused
            }
        }
    }
}
