import Testing
@testable import SessionManager

@Suite struct EgressStateTests {
    typealias Event = EgressState.Event

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
        ([Event.mediaStarted, .endRequested, .finalized], EgressStatus.complete),
        ([.endRequested, .finalized], .aborted),
        ([.mediaStarted, .failed], .failed),
        ([.failed], .failed),
        ([.mediaStarted, .endRequested, .failed], .failed),
        ([.mediaStarted, .limitReached], .limitReached),
        ([.mediaStarted, .endRequested], .ending),
        ([.mediaStarted], .active),
    ])
    func lifecycles(events: [Event], status: EgressStatus) throws {
        #expect(try run(events).get().status == status)
    }

    @Test(arguments: [
        ([Event.finalized], EgressStatus.starting, Event.finalized),
        ([.mediaStarted, .mediaStarted], .active, .mediaStarted),
        ([.endRequested, .endRequested], .ending, .endRequested),
        ([.endRequested, .finalized, .endRequested], .aborted, .endRequested),
        ([.failed, .mediaStarted], .failed, .mediaStarted),
        ([.limitReached], .starting, .limitReached),
    ])
    func illegalTransitionsAreRefusedNamingTheState(events: [Event], from: EgressStatus, event: Event) {
        #expect(throws: EgressState.IllegalTransition(from: from, event: event)) { try run(events).get() }
    }

    @Test func endedStatusesAreTheTerminalOnes() {
        #expect(EgressStatus.allCases.filter(\.isEnded) == [.complete, .failed, .aborted, .limitReached])
    }
}
