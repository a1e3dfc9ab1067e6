/// Per-connection counters for frames that cost the server work but carry no request, each a
/// token bucket. nghttp2 1.52 (Debian) limits CONTINUATION frames and queued ACKs itself, and
/// RST_STREAM with a GOAWAY(INTERNAL_ERROR); this adds PING, SETTINGS, RST_STREAM (answered
/// ENHANCE_YOUR_CALM) and the empty-frame kinds.
struct FloodGuard {
    enum Kind: CaseIterable {
        case ping, settings, reset, emptyFrame

        var name: String {
            switch self {
            case .ping: "PING"
            case .settings: "SETTINGS"
            case .reset: "RST_STREAM"
            case .emptyFrame: "empty or control"
            }
        }
    }

    private var buckets: [TokenBucket]

    init(_ configuration: HTTP2Configuration, now: ContinuousClock.Instant) {
        buckets = Kind.allCases.map { kind in
            let limit = switch kind {
            case .ping: configuration.pingLimit
            case .settings: configuration.settingsLimit
            case .reset: configuration.resetLimit
            case .emptyFrame: configuration.emptyFrameLimit
            }
            return TokenBucket(limit, now: now)
        }
    }

    /// Takes a token for one frame of `kind`; false when the client has exceeded its limit.
    mutating func admit(_ kind: Kind, now: ContinuousClock.Instant) -> Bool {
        buckets[Kind.allCases.firstIndex(of: kind)!].take(now: now)
    }

    /// Gives back `tokens` of `kind` (up to its burst): a client that opens request streams
    /// earns the WINDOW_UPDATEs a busy client sends with them (grpcio sends one or two per call),
    /// while one that sends such frames without requests still meets the limit.
    mutating func credit(_ kind: Kind, _ tokens: Double) {
        buckets[Kind.allCases.firstIndex(of: kind)!].add(tokens)
    }
}

struct TokenBucket {
    private let burst: Double
    private let perSecond: Double
    private var tokens: Double
    private var refilledAt: ContinuousClock.Instant

    init(_ limit: HTTP2Configuration.RateLimit, now: ContinuousClock.Instant) {
        burst = Double(limit.burst)
        perSecond = Double(limit.perSecond)
        tokens = burst
        refilledAt = now
    }

    mutating func add(_ count: Double) {
        tokens = min(burst, tokens + count)
    }

    mutating func take(now: ContinuousClock.Instant) -> Bool {
        let elapsed = now - refilledAt
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        tokens = min(burst, tokens + seconds * perSecond)
        refilledAt = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
