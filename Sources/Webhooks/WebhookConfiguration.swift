/// Where and how egress events are POSTed. Every value has a documented default.
public struct WebhookConfiguration: Sendable {
    /// Endpoints that receive every egress's events (default none).
    public var urls: [String] = []
    /// The API key whose secret signs events to `urls`, and to a request's webhooks that name no
    /// key (default: the server's only key, or the first in order).
    public var apiKey: String?
    /// Events waiting per endpoint; beyond this the oldest waiting event is dropped (default 256).
    public var queueLimit = 256
    /// Attempts after the first on transport errors, 429 and 5xx (default 4).
    public var retries = 4
    /// Backoff before the first retry, doubled each time up to `maxBackoff` (default 1 s to 30 s).
    public var initialBackoff: Duration = .seconds(1)
    public var maxBackoff: Duration = .seconds(30)
    /// One attempt's time limit (default 10 s).
    public var requestTimeout: Duration = .seconds(10)

    public init() {}
}
