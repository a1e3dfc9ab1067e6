import CoreMetrics

/// What the outputs did, for the Prometheus endpoint: bytes handed to each kind of output, and
/// outputs that failed (dropped while the others went on, or left behind by a failed egress).
enum OutputMetrics {
    enum Kind: String, CaseIterable {
        case file, segments, stream, images, websocket
    }

    // Made at first use, after the process has chosen its metrics backend.
    private static let bytes = Dictionary(uniqueKeysWithValues: Kind.allCases.map {
        ($0, Counter(label: "egress_output_bytes_total", dimensions: [("kind", $0.rawValue)]))
    })
    private static let failures = Dictionary(uniqueKeysWithValues: Kind.allCases.map {
        ($0, Counter(label: "egress_output_failures_total", dimensions: [("kind", $0.rawValue)]))
    })

    static func wrote(_ count: Int, to kind: Kind) {
        if count > 0 { bytes[kind]?.increment(by: count) }
    }

    static func failed(_ kind: Kind) {
        failures[kind]?.increment()
    }
}
