/// A webhook an egress's request names: the egress's events go there too, signed with the
/// secret of its own API key.
public struct RequestWebhook: Sendable, Equatable, Codable {
    public var url: String
    /// The API key whose secret signs the events; nil for the server's webhook key.
    public var signingKey: String?
    /// When not empty, only these events are sent.
    public var includeEvents: [String]
    /// These events are never sent.
    public var excludeEvents: [String]

    public init(url: String, signingKey: String? = nil, includeEvents: [String] = [], excludeEvents: [String] = []) {
        self.url = url
        self.signingKey = signingKey
        self.includeEvents = includeEvents
        self.excludeEvents = excludeEvents
    }

    /// Whether `event` (`egress_started`, ...) is sent to this webhook.
    public func allows(_ event: String) -> Bool {
        (includeEvents.isEmpty || includeEvents.contains(event)) && !excludeEvents.contains(event)
    }
}

extension RequestWebhook {
    /// The most webhooks one request may name.
    public static let maxPerRequest = 16
}
