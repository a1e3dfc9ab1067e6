import CoreMetrics

/// What the session manager counts, through swift-metrics (nothing without a metrics backend):
/// egresses started by type, ended by type and status, and starts refused by reason.
enum EgressMetrics {
    static func started(_ record: EgressRecord) {
        Counter(label: "egress_started_total", dimensions: [("type", record.request.kind.metricName)]).increment()
    }

    static func ended(_ record: EgressRecord) {
        Counter(label: "egress_ended_total", dimensions: [("type", record.request.kind.metricName), ("status", "\(record.status)")]).increment()
    }

    static func refused(_ error: EgressStoreError) {
        let reason = switch error {
        case .capacityExhausted: "max_live_egresses"
        case .notEnoughCPU: "cpu"
        case .shuttingDown: "draining"
        case .storageFailed: "storage"
        default: "other"
        }
        Counter(label: "egress_refused_total", dimensions: [("reason", reason)]).increment()
    }
}

extension EgressRecord.EchoedRequest.Kind {
    /// The type as LiveKit's egress metrics name it.
    public var metricName: String {
        switch self {
        case .participant: "participant"
        case .trackComposite: "track_composite"
        case .track: "track"
        case .unified: "egress"
        }
    }
}
