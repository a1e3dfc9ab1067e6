/// A ListEgress filter and page.
public struct EgressQuery: Sendable {
    public var roomName: String?
    public var egressID: String?
    /// Only egresses that have not ended.
    public var activeOnly: Bool
    /// The `next_page_token` of the previous page, or nil for the first page.
    public var pageToken: String?

    public init(roomName: String? = nil, egressID: String? = nil, activeOnly: Bool = false, pageToken: String? = nil) {
        self.roomName = roomName
        self.egressID = egressID
        self.activeOnly = activeOnly
        self.pageToken = pageToken
    }

    public func matches(_ record: EgressRecord) -> Bool {
        if let roomName, record.spec.roomName != roomName { return false }
        if let egressID, record.id != egressID { return false }
        if activeOnly, record.status.isEnded { return false }
        return true
    }
}

/// One page of a listing, newest first.
public struct EgressPage: Sendable {
    public let records: [EgressRecord]
    /// Set when more records follow.
    public let nextPageToken: String?

    public init(records: [EgressRecord], nextPageToken: String?) {
        self.records = records
        self.nextPageToken = nextPageToken
    }
}

/// Page tokens: the creation sequence of the last record of a page, opaque to clients.
enum PageToken {
    static func make(after sequence: UInt64) -> String { "p" + String(sequence, radix: 36) }

    static func parse(_ token: String) -> UInt64? {
        guard token.first == "p" else { return nil }
        return UInt64(token.dropFirst(), radix: 36)
    }
}
