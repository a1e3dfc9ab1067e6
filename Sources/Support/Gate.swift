import Synchronization

/// Lets tasks wait, without polling, until a condition holds (no egress live, every webhook
/// delivered). Whoever changes what the condition reads calls `signal` afterwards with the same
/// condition; a waiter gives up at its timeout. The condition is read under the gate's lock and
/// may take locks of its own (never the gate's).
public final class Gate: Sendable {
    private let state = Mutex(State())

    private struct State {
        var nextID = 0
        var waiting: [Int: CheckedContinuation<Bool, Never>] = [:]
        /// Waiters whose timeout passed before they were registered.
        var expired: Set<Int> = []
    }

    public init() {}

    /// Waits until `condition` holds (true) or `timeout` passes first (false).
    public func wait(until condition: () -> Bool, timeout: Duration) async -> Bool {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            guard !Task.isCancelled else { return }
            expire(id)
        }
        defer {
            timer.cancel()
            _ = state.withLock { $0.expired.remove(id) }
        }
        return await withCheckedContinuation { continuation in
            let answer: Bool? = state.withLock { state in
                if condition() { return true }
                if state.expired.remove(id) != nil { return false }
                state.waiting[id] = continuation
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    /// `condition` may hold now: if it does, every waiter goes on.
    public func signal(_ condition: () -> Bool) {
        let ready: [CheckedContinuation<Bool, Never>] = state.withLock { state in
            guard !state.waiting.isEmpty, condition() else { return [] }
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for continuation in ready { continuation.resume(returning: true) }
    }

    private func expire(_ id: Int) {
        let waiter: CheckedContinuation<Bool, Never>? = state.withLock { state in
            if let waiter = state.waiting.removeValue(forKey: id) { return waiter }
            state.expired.insert(id)
            return nil
        }
        waiter?.resume(returning: false)
    }
}
