import Auth
import HTTP
import NIOCore
import Prometheus
import Ingest
import Redis
import RPC
import SessionManager
import Webhooks

/// Everything the server can be told, with its embedded defaults. Filled from flags and
/// environment by `egress-server`.
public struct ServerConfiguration: Sendable {
    /// Address to listen on (default 127.0.0.1).
    public var host = "127.0.0.1"
    /// Port of the gRPC API (default 7880, LiveKit's API port); 0 picks a free one.
    public var port = 7880
    /// When set, the bound port is written to this file once the server listens.
    public var portFile: String?
    /// Directory every recording is written under (default ./recordings).
    public var outputDirectory = "recordings"
    /// Directory of the egress records' database (`egress.sqlite`). Empty (the default): beside
    /// the output directory, named after it with `-state` (./recordings-state); "none": records
    /// are kept in memory only and forgotten at exit.
    public var stateDirectory = ""
    /// A cluster's Redis: set, the egress records are kept there (not in the state directory),
    /// this server registers as a node, beats, and cleans up after nodes that are lost.
    public var redis: RedisEndpoint?
    /// Signs and checks the calls between a cluster's nodes (required with `redis`; the same on
    /// every node, at least 32 characters).
    public var clusterSecret: String?
    /// This node's id in the cluster. Empty (the default): a new one at each start (`ND_…`); set
    /// it to a stable one so that a restarted node takes its own interrupted egresses back.
    public var nodeID = ""
    /// A node silent for longer than this is lost: its live egresses end FAILED.
    public var nodeLostAfter: Duration = .seconds(10)
    /// The host the other nodes reach this one at (its API and media ports); empty (the
    /// default): `host`, which must then not be a wildcard address.
    public var nodeAddress = ""

    /// The host this node registers for the others to reach it at.
    public var advertisedHost: String { nodeAddress.isEmpty ? host : nodeAddress }

    /// Whether `host` listens on every address (and so says none to reach it at).
    public static func isWildcard(_ host: String) -> Bool { ["", "0.0.0.0", "::", "[::]", "*"].contains(host) }
    /// Ended egresses are forgotten this many days after they ended (default 30).
    public var recordRetentionDays = 30
    /// Port of the health check for load balancers (`health_port`); 0 (the default): none.
    public var healthPort = 0
    /// Port of the Prometheus metrics (`prometheus_port`, `GET /metrics`); 0 (the default): none.
    /// May be the health port: then both are served there.
    public var prometheusPort = 0
    /// Where swift-metrics records (the process's `MetricsSystem` bootstrapped with it); needed
    /// for `prometheusPort`.
    public var metricsRegistry: PrometheusCollectorRegistry?
    /// On SIGTERM, how long the server goes on serving calls (refusing new egresses, health 503)
    /// before it closes its listener, for load balancers to notice (default 0).
    public var drainDelay: Duration = .zero
    /// Admission by CPU cost: the share of the cores egresses may use (`max_cpu_utilization`,
    /// 0 < x ≤ 1); 0 (the default): off, only `sessions.maxLiveEgresses` limits starts.
    public var maxCPUUtilization = 0.0
    /// Each egress type's expected cost in cores, for admission by cost.
    public var cpuCosts = CPUCosts()
    /// Event loop threads for connections (default: one per core).
    public var eventLoopThreads = System.coreCount
    /// API keys whose tokens are accepted. None: the server refuses to start (`--dev` gives
    /// `devkey: secret`).
    public var keys: APIKeys?
    /// The page at `/` mints short-lived tokens for whoever opens it (`--dev` only): no token
    /// need be pasted in.
    public var pageMintsTokens = false
    /// Endpoints every egress event is POSTed to, and the key that signs them.
    public var webhooks = WebhookConfiguration()
    /// Certificate and key for TLS on the API port; plaintext when nil.
    public var tls: TLSSettings?
    public var http2 = HTTP2Configuration()
    public var http1 = HTTP1Configuration()
    public var rpc = RPCConfiguration()
    public var sessions = EgressStoreConfiguration()
    /// How long live egresses get to finish their files on shutdown (default 10 s).
    public var egressStopTimeout: Duration = .seconds(10)
    /// The embedded room hub: RTP port (default 7882, on `host`), participant timeout.
    public var hub = RoomHubConfiguration()
    /// A Participant egress whose participant has not joined after this long ends FAILED (default 30 s).
    public var participantWaitTimeout: Duration = .seconds(30)
    /// LiveKit's `session_limits`: the longest an egress with a file, stream, segment or image
    /// output may record (zero: no limit), and the largest file (bytes; zero: no limit).
    public var fileOutputMaxDuration: Duration = .zero
    public var streamOutputMaxDuration: Duration = .zero
    public var segmentOutputMaxDuration: Duration = .zero
    public var imageOutputMaxDuration: Duration = .zero
    public var fileOutputMaxSize: Int64 = 0
    /// Uploads larger than this many MiB go to S3 in parts of this size (5 to 1024).
    public var uploadPartSizeMiB = 16
    /// The default storage (LiveKit's `storage.s3`): outputs of a request that names no
    /// storage are uploaded there. nil: they stay in the output directory.
    public var defaultStorage: S3Upload?

    public init() {}
}
