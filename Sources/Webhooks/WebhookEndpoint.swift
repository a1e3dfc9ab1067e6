import HTTP
import APIMessages
import CoreMetrics
import Logging
import Protobuf
import Support
import Synchronization

/// One destination (a URL and the key that signs for it): an ordered, bounded queue of events
/// and one task delivering them, oldest first, each retried with exponential backoff on
/// transport errors, 429 and 5xx before the next is sent. Enqueueing never waits, so recording
/// never waits on a slow endpoint; what overflows is dropped, counted, logged, and reported in
/// the next event's `numDropped`.
final class WebhookEndpoint: Sendable {
    let url: HTTPURL
    private let signer: WebhookSigner
    private let client: HTTPClient
    private let configuration: WebhookConfiguration
    private let logger: Logger
    /// Called when the queue has emptied and delivery stops.
    private let onIdle: @Sendable () -> Void
    private let state = Mutex(State())

    private struct State {
        /// Each event with what to call once it has been delivered or given up on.
        var queue: [(event: Livekit_WebhookEvent, done: @Sendable () -> Void)] = []
        var isDelivering = false
        var droppedSinceLastSent: Int32 = 0
        var statistics = WebhookStatistics()
    }

    init(url: HTTPURL, signer: WebhookSigner, client: HTTPClient, configuration: WebhookConfiguration, logger: Logger,
         onIdle: @escaping @Sendable () -> Void = {}) {
        self.url = url
        self.onIdle = onIdle
        self.signer = signer
        self.client = client
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "webhook"] = "\(url)"
        self.logger = logger
    }

    var statistics: WebhookStatistics { state.withLock { $0.statistics } }

    /// Nothing is waiting or being delivered.
    var isIdle: Bool { state.withLock { !$0.isDelivering } }

    /// Queues `event` (a `livekit.WebhookEvent`) and starts delivery if it is idle; `done` is
    /// called once it has been delivered, refused, retried to the end, or dropped.
    func enqueue(_ event: Livekit_WebhookEvent, done: @escaping @Sendable () -> Void = {}) {
        let (start, dropped) = state.withLock { state -> (Bool, (event: Livekit_WebhookEvent, done: @Sendable () -> Void)?) in
            var dropped: (event: Livekit_WebhookEvent, done: @Sendable () -> Void)?
            if state.queue.count >= configuration.queueLimit {
                dropped = state.queue.removeFirst()
                state.droppedSinceLastSent += 1
                state.statistics.dropped += 1
                Self.count("dropped")
            }
            state.queue.append((event, done))
            guard !state.isDelivering else { return (false, dropped) }
            state.isDelivering = true
            return (true, dropped)
        }
        if let dropped {
            logger.warning("webhook queue full: dropped the oldest event", metadata: ["event": "\(dropped.event.event)", "id": "\(dropped.event.id)"])
            dropped.done()
        }
        if start { Task { await deliverAll() } }
    }

    private func deliverAll() async {
        while let (queued, dropped) = next() {
            var event = queued.event
            if dropped > 0 { event.numDropped = dropped }
            await deliver(event)
            queued.done()
        }
        onIdle()
    }

    /// `egress_webhook_deliveries_total{result}`: delivered, refused (a 4xx), failed (out of retries), dropped.
    private static func count(_ result: String) {
        Counter(label: "egress_webhook_deliveries_total", dimensions: [("result", result)]).increment()
    }

    private func next() -> ((event: Livekit_WebhookEvent, done: @Sendable () -> Void), Int32)? {
        state.withLock { state in
            guard !state.queue.isEmpty else {
                state.isDelivering = false
                return nil
            }
            let dropped = state.droppedSinceLastSent
            state.droppedSinceLastSent = 0
            return (state.queue.removeFirst(), dropped)
        }
    }

    private func deliver(_ event: Livekit_WebhookEvent) async {
        let body = Array(event.json(.webhook).text.utf8)
        var backoff = configuration.initialBackoff
        for attempt in 0...configuration.retries {
            if attempt > 0 {
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, configuration.maxBackoff)
            }
            let outcome: String
            do {
                let response = try await client.send("POST", url, headers: [
                    ("content-type", "application/webhook+json"),
                    ("authorization", signer.authorization(for: body, now: WallClock.nanoseconds() / 1_000_000_000)),
                ], body: body, timeout: configuration.requestTimeout)
                if (200..<300).contains(response.status) {
                    state.withLock { $0.statistics.delivered += 1 }
                    Self.count("delivered")
                    logger.debug("webhook delivered", metadata: ["event": "\(event.event)", "status": "\(response.status)"])
                    return
                }
                guard response.status == 429 || response.status >= 500 else {
                    state.withLock { $0.statistics.failed += 1 }
                    Self.count("refused")
                    logger.warning("webhook refused; not retried", metadata: ["event": "\(event.event)", "status": "\(response.status)"])
                    return
                }
                outcome = "status \(response.status)"
            } catch {
                outcome = "\(error)"
            }
            logger.info("webhook attempt failed", metadata: ["event": "\(event.event)", "attempt": "\(attempt + 1)", "outcome": "\(outcome)"])
        }
        state.withLock { $0.statistics.failed += 1 }
        Self.count("failed")
        logger.warning("webhook not delivered after \(configuration.retries + 1) attempts", metadata: ["event": "\(event.event)", "id": "\(event.id)"])
    }
}

/// What one endpoint's deliveries came to.
public struct WebhookStatistics: Sendable, Equatable {
    public var delivered = 0
    /// Given up on: refused with a 4xx other than 429, or out of retries.
    public var failed = 0
    /// Dropped from a full queue.
    public var dropped = 0
}
