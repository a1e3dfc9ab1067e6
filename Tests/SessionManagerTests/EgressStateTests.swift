import Testing
@testable import SessionManager

@Suite struct EgressStateTests {
    typealias Event = EgressEvent

    private func run(_ events: [Event]) -> Result<EgressState, EgressState.IllegalTransition> {
        var state = EgressState.starting
        for event in events {
            switch state.applying(event) {
            case .success(let next): state = next
            case .failure(let refusal): return .failure(refusal)
            }
        }
        return .success(state)
    }

    @Test(arguments: [
        ([Event.mediaStarted(at: 1), .stopRequested, .finalized(EgressResults())], EgressStatus.complete),
        ([.stopRequested, .finalized(EgressResults())], .aborted),
        ([.mediaStarted(at: 1), .failed(error: "e", code: 500, details: "", results: EgressResults())], .failed),
        ([.failed(error: "e", code: 500, details: "", results: EgressResults())], .failed),
        ([.mediaStarted(at: 1), .stopRequested, .failed(error: "e", code: 500, details: "", results: EgressResults())], .failed),
        ([.mediaStarted(at: 1), .limitReached(EgressResults())], .limitReached),
        ([.mediaStarted(at: 1), .stopRequested], .ending),
        ([.mediaStarted(at: 1)], .active),
    ])
    func lifecycles(events: [Event], status: EgressStatus) throws {
        #expect(try run(events).get().status == status)
    }

    @Test(arguments: [
        ([Event.finalized(EgressResults())], EgressStatus.starting, Event.finalized(EgressResults())),
        ([.mediaStarted(at: 1), .mediaStarted(at: 1)], .active, .mediaStarted(at: 1)),
        ([.stopRequested, .stopRequested], .ending, .stopRequested),
        ([.stopRequested, .finalized(EgressResults()), .stopRequested], .aborted, .stopRequested),
        ([.failed(error: "e", code: 500, details: "", results: EgressResults()), .mediaStarted(at: 1)], .failed, .mediaStarted(at: 1)),
        ([.limitReached(EgressResults())], .starting, .limitReached(EgressResults())),
    ])
    func illegalTransitionsAreRefusedNamingTheState(events: [Event], from: EgressStatus, event: Event) {
        #expect(throws: EgressState.IllegalTransition(from: from, event: event)) { try run(events).get() }
    }

    @Test(arguments: [
        ([Event](), EgressStatus.starting),
        ([.mediaStarted(at: 1), .progress(EgressResults()), .roomIdentified("RM_a")], .active),
        ([.mediaStarted(at: 1), .sourceEnded(reason: "left")], .ending),
        ([.mediaStarted(at: 1), .stopRequested, .sourceEnded(reason: "left"), .finalized(EgressResults())], .complete),
        ([.stopRequested, .finalized(EgressResults()), .progress(EgressResults())], .aborted),
    ])
    func reportsThatChangeNoState(events: [Event], status: EgressStatus) throws {
        #expect(try run(events).get().status == status)
    }

    @Test func aSourceThatEndsAfterTheEgressEndedIsRefused() {
        let events: [Event] = [.stopRequested, .finalized(EgressResults()), .sourceEnded(reason: "left")]
        #expect(throws: EgressState.IllegalTransition(from: .aborted, event: .sourceEnded(reason: "left"))) { try run(events).get() }
    }

    @Test func endedStatusesAreTheTerminalOnes() {
        #expect(EgressStatus.allCases.filter(\.isEnded) == [.complete, .failed, .aborted, .limitReached])
    }
}
