import HTTP
import Auth
import Logging
import APIMessages
import EgressWire
import SessionManager
import Support
import Synchronization

/// Turns egress changes into LiveKit `WebhookEvent`s — `egress_started`, `egress_updated`,
/// `egress_ended`, with the `EgressInfo` — and queues them for the server's endpoints and for
/// the webhooks the egress's request names (each signed with its own `signing_key`'s secret).
public final class WebhookNotifier: EgressObserver {
    private let configuration: WebhookConfiguration
    private let keys: APIKeys
    private let defaultKey: String
    private let client: HTTPClient
    private let logger: Logger
    private let endpoints = Mutex<[String: WebhookEndpoint]>([:])
    /// Open while every endpoint is idle (what `drain` waits for).
    private let allIdle = Gate()

    /// Throws when a configured URL is not http(s) or the configured key is unknown.
    public init(configuration: WebhookConfiguration, keys: APIKeys, client: HTTPClient, logger: Logger) throws(WebhookError) {
        let key = configuration.apiKey ?? keys.keys.first ?? ""
        guard keys.secret(for: key) != nil else { throw WebhookError("webhook API key \(key) is not one of the server's keys") }
        for url in configuration.urls where HTTPURL(url) == nil {
            throw WebhookError("webhook URL \(url) is not an http:// or https:// URL")
        }
        self.configuration = configuration
        self.keys = keys
        self.defaultKey = key
        self.client = client
        self.logger = logger
    }

    /// Whether the egress's events go anywhere: the server's endpoints, or its request's own.
    public func observes(_ record: EgressRecord) -> Bool {
        !configuration.urls.isEmpty || !record.spec.webhooks.isEmpty
    }

    /// Queues the change as a `WebhookEvent` (its id and time the change's) for every endpoint
    /// it goes to; `done` once each of them has delivered it or given up.
    public func notify(_ change: EgressChange, done: @escaping @Sendable () -> Void) {
        var event = Livekit_WebhookEvent()
        event.event = switch change.kind {
        case .started: "egress_started"
        case .updated: "egress_updated"
        case .ended: "egress_ended"
        }
        event.egressInfo = Livekit_EgressInfo(change.record)
        event.id = change.id
        event.createdAt = change.createdAt
        var destinations = configuration.urls.map { ($0, defaultKey) }
        for webhook in change.record.spec.webhooks where webhook.allows(event.event) {
            destinations.append((webhook.url, webhook.signingKey ?? defaultKey))
        }
        let endpoints = destinations.compactMap { endpoint(url: $0.0, key: $0.1) }
        let remaining = Atomic(endpoints.count)
        if endpoints.isEmpty { done() }
        for endpoint in endpoints {
            endpoint.enqueue(event) {
                if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { done() }
            }
        }
    }

    private func endpoint(url: String, key: String) -> WebhookEndpoint? {
        guard let parsed = HTTPURL(url), let secret = keys.secret(for: key) else { return nil }
        return endpoints.withLock { endpoints in
            let id = key + " " + url
            if let existing = endpoints[id] { return existing }
            let endpoint = WebhookEndpoint(url: parsed, signer: WebhookSigner(apiKey: key, secret: secret), client: client,
                                           configuration: configuration, logger: logger) { [weak self] in self?.endpointIdle() }
            endpoints[id] = endpoint
            return endpoint
        }
    }

    /// Waits until every queued event is delivered or given up on, for at most `timeout`: at
    /// shutdown, the last `egress_ended` events still go out. Returns whether all were.
    @discardableResult
    public func drain(timeout: Duration) async -> Bool {
        await allIdle.wait(until: { isIdle }, timeout: timeout)
    }

    /// Every endpoint has delivered (or given up on) all it was given.
    private var isIdle: Bool { endpoints.withLock { $0.values.allSatisfy(\.isIdle) } }

    private func endpointIdle() {
        allIdle.signal { isIdle }
    }

    /// Deliveries so far, summed over every endpoint.
    public var statistics: WebhookStatistics {
        endpoints.withLock { endpoints in
            endpoints.values.reduce(into: WebhookStatistics()) { sum, endpoint in
                let one = endpoint.statistics
                sum.delivered += one.delivered
                sum.failed += one.failed
                sum.dropped += one.dropped
            }
        }
    }
}

/// A webhook configuration that cannot be used.
public struct WebhookError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
