import Synchronization

/// A queued record store write that someone waits on: completed by the writer once the batch
/// holding it is durable (or failed), awaited by the request that queued it.
final class WriteTicket: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Result<Void, EgressStoreError>, Never>?)
        case done(Result<Void, EgressStoreError>)
    }

    private let state = Mutex(State.waiting(nil))

    func complete(_ result: Result<Void, EgressStoreError>) {
        let waiter = state.withLock { state -> CheckedContinuation<Result<Void, EgressStoreError>, Never>? in
            guard case .waiting(let waiter) = state else { return nil }
            state = .done(result)
            return waiter
        }
        waiter?.resume(returning: result)
    }

    /// The write's outcome, once there is one.
    func outcome() async -> Result<Void, EgressStoreError> {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Result<Void, EgressStoreError>? in
                if case .done(let result) = state { return result }
                state = .waiting(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// Throws the write's failure, if it failed.
    func durable() async throws(EgressStoreError) {
        if case .failure(let error) = await outcome() { throw error }
    }
}
