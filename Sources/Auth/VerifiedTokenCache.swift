import Synchronization

/// Tokens whose signature and claims have been verified, keyed by their exact text, so that a
/// client that sends the same token with every call pays for HMAC and JSON once. Only the
/// signature and the parsing are skipped: expiry is checked on every use, and an expired token
/// is dropped. Bounded: when full, the entries nearest expiry make room (an attacker can only
/// fill it with tokens signed by the server's own keys).
final class VerifiedTokenCache: Sendable {
    private let capacity: Int
    private let entries = Mutex<[String: AccessToken]>([:])

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    func token(for text: String) -> AccessToken? {
        entries.withLock { $0[text] }
    }

    func insert(_ token: AccessToken, for text: String) {
        entries.withLock { entries in
            if entries.count >= capacity, entries[text] == nil {
                // The quarter nearest expiry goes: amortized, one sort per capacity/4 insertions.
                let leaving = entries.sorted { $0.value.expiresAt < $1.value.expiresAt }.prefix(max(1, capacity / 4))
                for (key, _) in leaving { entries[key] = nil }
            }
            entries[text] = token
        }
    }

    func remove(_ text: String) {
        _ = entries.withLock { $0.removeValue(forKey: text) }
    }

    var count: Int { entries.withLock { $0.count } }
}
