import Redis
import SessionManager

/// The cluster's view of the records: what any node answers ListEgress with, and where an
/// egress runs (the node StopEgress and UpdateStream are sent to).
extension RedisRecordStore {
    /// Every node's records that match `query`, newest first, `pageSize` at most. The page token
    /// names the last record listed (`c<sequence>.<id>`: two nodes may give one sequence).
    public func list(_ query: EgressQuery, pageSize: Int) throws(EgressStoreError) -> EgressPage {
        // An empty token is none, as on one node.
        let after = try query.pageToken.flatMap { token throws(EgressStoreError) -> ClusterPageToken? in
            guard !token.isEmpty else { return nil }
            guard let position = ClusterPageToken(token) else { throw .invalidPageToken }
            return position
        }
        do {
            if let id = query.egressID {
                let records = try read([id]).map(\.record).filter { query.matches($0) && after.map($0.isListed(before:)) ?? true }
                return EgressPage(records: records, nextPageToken: nil)
            }
            var page: [EgressRecord] = []
            var offset = 0
            let batch = 256
            // From the page token's sequence down (the records beside it in that sequence too).
            let highest = after.map { "\($0.sequence)" } ?? "+inf"
            while offset < Self.maxListingScan {
                let ids = try redis.command(["ZREVRANGEBYSCORE", indexKey, highest, "-inf", "LIMIT", "\(offset)", "\(batch)"])
                    .expectArray().compactMap(\.text)
                offset += ids.count
                for record in try read(ids).map(\.record) where query.matches(record) && after.map(record.isListed(before:)) ?? true {
                    guard page.count < pageSize else {
                        return EgressPage(records: page, nextPageToken: page.last.map { ClusterPageToken(after: $0).text })
                    }
                    page.append(record)
                }
                if ids.count < batch { break }
            }
            return EgressPage(records: page, nextPageToken: nil)
        } catch let error as EgressStoreError {
            throw error
        } catch {
            throw .storageFailed("the egress records cannot be listed from Redis \(redis.endpoint): \(error)")
        }
    }

    /// The node that runs (or ran) egress `id`, nil when there is no such egress.
    public func node(of id: String) throws(EgressStoreError) -> String? {
        do {
            return try redis.command(["HGET", recordKey(id), "node"]).text
        } catch {
            throw .storageFailed("egress \(id) cannot be looked up in Redis \(redis.endpoint): \(error)")
        }
    }

    /// How many index entries one listing reads at most (a filter that matches little).
    static let maxListingScan = 100_000
}

/// Where a page of a cluster listing ended: the sequence and id of its last record.
struct ClusterPageToken {
    let sequence: UInt64
    let id: String

    init(after record: EgressRecord) {
        sequence = record.sequence
        id = record.id
    }

    init?(_ text: String) {
        guard text.utf8.count <= 128, text.first == "c", let dot = text.firstIndex(of: ".") else { return nil }
        guard let sequence = UInt64(text[text.index(after: text.startIndex)..<dot], radix: 36) else { return nil }
        let id = String(text[text.index(after: dot)...])
        guard !id.isEmpty else { return nil }
        (self.sequence, self.id) = (sequence, id)
    }

    var text: String { "c" + String(sequence, radix: 36) + "." + id }
}

extension EgressRecord {
    /// Whether the record comes after `token`'s in the listing (newest first; by id within one
    /// sequence, as Redis orders equal scores).
    fileprivate func isListed(before token: ClusterPageToken) -> Bool {
        sequence < token.sequence || (sequence == token.sequence && id < token.id)
    }
}
