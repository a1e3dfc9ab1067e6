import ArgumentParser
import ConfigFile
import Logging
import Server
#if canImport(Glibc)
import Glibc
#endif

/// One option of the server, said once: its flag, its environment variable, its config file
/// key, what it means, the command's property that holds the flag's value, and where it goes in
/// `ServerConfiguration`. The help text (with the default, read from `ServerConfiguration()`) and
/// the reading of flag, else environment, else config file, else default follow from it.
protocol ServerSetting: Sendable {
    var flag: String { get }
    /// Its dotted key in the config file (`cpu_cost.track_cpu_cost`).
    var key: String { get }
    /// The config file's value, when it has one (applied first, so that flags and the
    /// environment win).
    func apply(_ config: ConfigReader, to configuration: inout ServerConfiguration) throws
    /// The flag's value, else the environment's, when either is given.
    func apply(_ command: EgressServerCommand, to configuration: inout ServerConfiguration) throws
    /// The value in effect, as the config file would write it.
    func yaml(of configuration: ServerConfiguration) -> String
}

/// A setting whose value is written as it is (`--port 7880`).
struct ValueSetting<Value: LosslessStringConvertible & Sendable>: ServerSetting {
    let flag: String
    let environment: String
    let key: String
    let summary: String
    let option: KeyPath<EgressServerCommand, Value?> & Sendable
    let target: WritableKeyPath<ServerConfiguration, Value> & Sendable
    /// Said instead of the configuration's default (which may depend on the machine).
    var defaultText: String?
    /// What is wrong with a value, if anything ("is not a port number").
    var problem: (@Sendable (Value) -> String?)?

    var help: ArgumentHelp {
        ArgumentHelp(stringLiteral: "\(summary) [\(environment), default \(defaultText ?? "\(ServerConfiguration()[keyPath: target])")]")
    }

    func apply(_ config: ConfigReader, to configuration: inout ServerConfiguration) throws {
        guard let value = try config.value(key) else { return }
        try set(try value.decode(Value.self), from: value.origin, in: &configuration)
    }

    func apply(_ command: EgressServerCommand, to configuration: inout ServerConfiguration) throws {
        if let value = command[keyPath: option] {
            try set(value, from: flag, in: &configuration)
        } else if let value = try Environment.value(nil as Value?, environment, flag: flag) {
            try set(value, from: environment, in: &configuration)
        }
    }

    private func set(_ value: Value, from origin: String, in configuration: inout ServerConfiguration) throws {
        if let problem = problem?(value) { throw ValidationError("\(origin) \(value) \(problem)") }
        configuration[keyPath: target] = value
    }

    func yaml(of configuration: ServerConfiguration) -> String {
        let value = configuration[keyPath: target]
        return value is any Numeric ? "\(value)" : YAMLText.quoted("\(value)")
    }
}

/// A setting in seconds (a fraction allowed), kept as a `Duration`; refused unless it is between
/// 0 and a year, so that no value can trap on the way. The config file may also write Go's
/// durations, as LiveKit's do (`1h30m`).
struct SecondsSetting: ServerSetting {
    let flag: String
    let environment: String
    let key: String
    let summary: String
    let option: KeyPath<EgressServerCommand, Double?> & Sendable
    let target: WritableKeyPath<ServerConfiguration, Duration> & Sendable

    var help: ArgumentHelp {
        let seconds = ServerConfiguration()[keyPath: target].components.seconds
        return ArgumentHelp(stringLiteral: "\(summary) [\(environment), default \(seconds)]")
    }

    func apply(_ config: ConfigReader, to configuration: inout ServerConfiguration) throws {
        guard let value = try config.value(key) else { return }
        try set(try value.seconds(), from: value.origin, in: &configuration)
    }

    func apply(_ command: EgressServerCommand, to configuration: inout ServerConfiguration) throws {
        if let seconds = command[keyPath: option] {
            try set(seconds, from: flag, in: &configuration)
        } else if let seconds = try Environment.value(nil as Double?, environment, flag: flag) {
            try set(seconds, from: environment, in: &configuration)
        }
    }

    private func set(_ seconds: Double, from origin: String, in configuration: inout ServerConfiguration) throws {
        guard seconds.isFinite, seconds >= 0, seconds <= 365 * 86_400 else {
            throw ValidationError("\(origin) \(seconds) is not a number of seconds between 0 and a year")
        }
        configuration[keyPath: target] = .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }

    func yaml(of configuration: ServerConfiguration) -> String {
        let milliseconds = configuration[keyPath: target] / .milliseconds(1)
        return milliseconds.rounded() == milliseconds && Int(milliseconds) % 1000 == 0
            ? "\(Int(milliseconds) / 1000)" : "\(milliseconds / 1000)"
    }
}

/// Every option with a place in `ServerConfiguration`, in the order --help lists them.
enum ServerSettings {
    static let host = ValueSetting(flag: "--host", environment: "EGRESS_HOST", key: "host", summary: "Address to listen on.",
                                   option: \.host, target: \.host)
    static let port = ValueSetting(flag: "--port", environment: "EGRESS_PORT", key: "port",
                                   summary: "API port (gRPC and Twirp, HTTP/2 and HTTP/1.1); 0 picks a free one.",
                                   option: \.port, target: \.port, problem: Checks.port)
    static let outputDir = ValueSetting(flag: "--output-dir", environment: "EGRESS_OUTPUT_DIR", key: "output_dir",
                                        summary: "Directory recordings are written under.", option: \.outputDir, target: \.outputDirectory)
    static let stateDir = ValueSetting(flag: "--state-dir", environment: "EGRESS_STATE_DIR", key: "state_dir",
                                       summary: "Directory of the egress records' database; \"none\": in memory only, forgotten at exit.",
                                       option: \.stateDir, target: \.stateDirectory, defaultText: "the output directory's path + \"-state\"")
    static let recordRetention = ValueSetting(flag: "--record-retention-days", environment: "EGRESS_RECORD_RETENTION_DAYS", key: "record_retention_days",
                                              summary: "Days an ended egress stays listed (1 to 3650).",
                                              option: \.recordRetentionDays, target: \.recordRetentionDays, problem: Checks.retentionDays)
    static let nodeID = ValueSetting(flag: "--node-id", environment: "EGRESS_NODE_ID", key: "node_id",
                                     summary: "With --redis: this node's id in the cluster (letters, digits, - and _); a stable one lets a restarted node take its interrupted egresses back.",
                                     option: \.nodeId, target: \.nodeID, defaultText: "a new ND_… at each start", problem: Checks.nodeID)
    static let nodeAddress = ValueSetting(flag: "--node-address", environment: "EGRESS_NODE_ADDRESS", key: "node_address",
                                          summary: "With --redis: the host the other nodes reach this one at (needed when --host listens on every address).",
                                          option: \.nodeAddress, target: \.nodeAddress, defaultText: "--host", problem: Checks.hostName)
    static let nodeLostAfter = SecondsSetting(flag: "--node-lost-after", environment: "EGRESS_NODE_LOST_AFTER", key: "node_lost_after",
                                              summary: "With --redis: seconds without a node's heartbeat after which it is lost and its live egresses end FAILED.",
                                              option: \.nodeLostAfter, target: \.nodeLostAfter)
    static let healthPort = ValueSetting(flag: "--health-port", environment: "EGRESS_HEALTH_PORT", key: "health_port",
                                         summary: "Port of the HTTP health check for load balancers (503 while draining); 0: none.",
                                         option: \.healthPort, target: \.healthPort, problem: Checks.port)
    static let prometheusPort = ValueSetting(flag: "--prometheus-port", environment: "EGRESS_PROMETHEUS_PORT", key: "prometheus_port",
                                             summary: "Port of the Prometheus metrics (GET /metrics); may be the health port; 0: none.",
                                             option: \.prometheusPort, target: \.prometheusPort, problem: Checks.port)
    static let drainDelay = SecondsSetting(flag: "--drain-delay", environment: "EGRESS_DRAIN_DELAY", key: "drain_delay",
                                           summary: "Seconds after SIGTERM the API still serves (new egresses refused, health 503) before it closes.",
                                           option: \.drainDelay, target: \.drainDelay)
    static let maxCPUUtilization = ValueSetting(flag: "--max-cpu-utilization", environment: "EGRESS_MAX_CPU_UTILIZATION", key: "cpu_cost.max_cpu_utilization",
                                                summary: "Admission by CPU cost: the share of the cores egresses may use (0 to 1); 0: off.",
                                                option: \.maxCpuUtilization, target: \.maxCPUUtilization, problem: Checks.share)
    static let participantCPUCost = ValueSetting(flag: "--participant-cpu-cost", environment: "EGRESS_PARTICIPANT_CPU_COST", key: "cpu_cost.participant_cpu_cost",
                                                 summary: "Cores a transcoded Participant egress is expected to use.",
                                                 option: \.participantCpuCost, target: \.cpuCosts.participant, problem: Checks.cores)
    static let trackCompositeCPUCost = ValueSetting(flag: "--track-composite-cpu-cost", environment: "EGRESS_TRACK_COMPOSITE_CPU_COST", key: "cpu_cost.track_composite_cpu_cost",
                                                    summary: "Cores a transcoded TrackComposite egress is expected to use.",
                                                    option: \.trackCompositeCpuCost, target: \.cpuCosts.trackComposite, problem: Checks.cores)
    static let trackCPUCost = ValueSetting(flag: "--track-cpu-cost", environment: "EGRESS_TRACK_CPU_COST", key: "cpu_cost.track_cpu_cost",
                                           summary: "Cores a Track egress (or any passthrough egress) is expected to use.",
                                           option: \.trackCpuCost, target: \.cpuCosts.track, problem: Checks.cores)
    static let maxConcurrentStreams = ValueSetting(flag: "--max-concurrent-streams", environment: "EGRESS_MAX_CONCURRENT_STREAMS", key: "max_concurrent_streams",
                                                   summary: "SETTINGS_MAX_CONCURRENT_STREAMS per connection.",
                                                   option: \.maxConcurrentStreams, target: \.http2.maxConcurrentStreams)
    static let maxReceiveMessageSize = ValueSetting(flag: "--max-receive-message-size", environment: "EGRESS_MAX_RECEIVE_MESSAGE_SIZE", key: "max_receive_message_size",
                                                    summary: "Largest request message in bytes.",
                                                    option: \.maxReceiveMessageSize, target: \.rpc.maxReceiveMessageSize, problem: Checks.messageSize)
    static let maxHeaderListSize = ValueSetting(flag: "--max-header-list-size", environment: "EGRESS_MAX_HEADER_LIST_SIZE", key: "max_header_list_size",
                                                summary: "SETTINGS_MAX_HEADER_LIST_SIZE in bytes.",
                                                option: \.maxHeaderListSize, target: \.http2.maxHeaderListSize)
    static let shutdownTimeout = SecondsSetting(flag: "--shutdown-timeout", environment: "EGRESS_SHUTDOWN_TIMEOUT", key: "shutdown_timeout",
                                                summary: "Seconds in-flight calls get after SIGTERM.",
                                                option: \.shutdownTimeout, target: \.http2.shutdownTimeout)
    static let maxLiveEgresses = ValueSetting(flag: "--max-live-egresses", environment: "EGRESS_MAX_LIVE_EGRESSES", key: "max_live_egresses",
                                              summary: "Live egresses at once.", option: \.maxLiveEgresses, target: \.sessions.maxLiveEgresses, problem: Checks.notNegative)
    static let rtpPort = ValueSetting(flag: "--rtp-port", environment: "EGRESS_RTP_PORT", key: "rtp_port",
                                      summary: "UDP port RTP and RTCP are received on; 0 picks a free one.",
                                      option: \.rtpPort, target: \.hub.rtpPort, problem: Checks.port)
    static let rtpIngest = ValueSetting(flag: "--rtp-ingest", environment: "EGRESS_RTP_INGEST", key: "rtp_ingest",
                                        summary: "Plain RTP publishing (RoomIngest): on, or off for WebRTC (WHIP) only.",
                                        option: \.rtpIngest, target: \.plainRTPIngest)
    static let webRTCHosts = ValueSetting(flag: "--webrtc-host", environment: "EGRESS_WEBRTC_HOST", key: "webrtc_host",
                                          summary: "Addresses WHIP answers name as host candidates (comma-separated); empty: the bound one.",
                                          option: \.webrtcHost, target: \.webRTCHostList, defaultText: "the RTP port's address")
    static let participantTimeout = SecondsSetting(flag: "--participant-timeout", environment: "EGRESS_PARTICIPANT_TIMEOUT", key: "participant_timeout",
                                                   summary: "Seconds without RTP or calls after which a participant has left.",
                                                   option: \.participantTimeout, target: \.hub.participantTimeout)
    static let participantWaitTimeout = SecondsSetting(flag: "--participant-wait-timeout", environment: "EGRESS_PARTICIPANT_WAIT_TIMEOUT", key: "participant_wait_timeout",
                                                       summary: "Seconds a participant egress waits for its participant to join.",
                                                       option: \.participantWaitTimeout, target: \.participantWaitTimeout)
    static let requestReadTimeout = SecondsSetting(flag: "--request-read-timeout", environment: "EGRESS_REQUEST_READ_TIMEOUT", key: "request_read_timeout",
                                                   summary: "Seconds an HTTP/1.1 request may take to arrive whole.",
                                                   option: \.requestReadTimeout, target: \.http1.requestReadTimeout)
    static let idleTimeout = SecondsSetting(flag: "--idle-timeout", environment: "EGRESS_IDLE_TIMEOUT", key: "idle_timeout",
                                            summary: "Seconds an idle HTTP/1.1 keep-alive connection stays open.",
                                            option: \.idleTimeout, target: \.http1.idleTimeout)
    static let sendTimeout = SecondsSetting(flag: "--send-timeout", environment: "EGRESS_SEND_TIMEOUT", key: "send_timeout",
                                            summary: "Seconds a connection may take none of the bytes waiting for it before it is closed.",
                                            option: \.sendTimeout, target: \.http2.sendTimeout)
    static let fileOutputMaxDuration = SecondsSetting(flag: "--file-output-max-duration", environment: "EGRESS_FILE_OUTPUT_MAX_DURATION", key: "session_limits.file_output_max_duration",
                                                      summary: "Seconds an egress with a file output may record; 0: no limit.",
                                                      option: \.fileOutputMaxDuration, target: \.fileOutputMaxDuration)
    static let streamOutputMaxDuration = SecondsSetting(flag: "--stream-output-max-duration", environment: "EGRESS_STREAM_OUTPUT_MAX_DURATION", key: "session_limits.stream_output_max_duration",
                                                        summary: "Seconds an egress with a stream or WebSocket may record; 0: no limit.",
                                                        option: \.streamOutputMaxDuration, target: \.streamOutputMaxDuration)
    static let segmentOutputMaxDuration = SecondsSetting(flag: "--segment-output-max-duration", environment: "EGRESS_SEGMENT_OUTPUT_MAX_DURATION", key: "session_limits.segment_output_max_duration",
                                                         summary: "Seconds an egress with HLS segments may record; 0: no limit.",
                                                         option: \.segmentOutputMaxDuration, target: \.segmentOutputMaxDuration)
    static let imageOutputMaxDuration = SecondsSetting(flag: "--image-output-max-duration", environment: "EGRESS_IMAGE_OUTPUT_MAX_DURATION", key: "session_limits.image_output_max_duration",
                                                       summary: "Seconds an egress with image outputs may record; 0: no limit.",
                                                       option: \.imageOutputMaxDuration, target: \.imageOutputMaxDuration)
    static let fileOutputMaxSize = ValueSetting(flag: "--file-output-max-size", environment: "EGRESS_FILE_OUTPUT_MAX_SIZE", key: "session_limits.file_output_max_size",
                                                summary: "Bytes a file output may reach; 0: no limit.",
                                                option: \.fileOutputMaxSize, target: \.fileOutputMaxSize, problem: Checks.notNegative)
    static let uploadPartSize = ValueSetting(flag: "--upload-part-size", environment: "EGRESS_UPLOAD_PART_SIZE", key: "upload_part_size",
                                             summary: "MiB: larger files go to S3 in parts of this size (5 to 1024).",
                                             option: \.uploadPartSize, target: \.uploadPartSizeMiB, problem: Checks.partSize)
    static let threads = ValueSetting(flag: "--threads", environment: "EGRESS_THREADS", key: "threads", summary: "Event loop threads.",
                                      option: \.threads, target: \.eventLoopThreads, defaultText: "one per core", problem: Checks.threads)

    static let all: [any ServerSetting] = [
        host, port, outputDir, stateDir, recordRetention, nodeID, nodeAddress, nodeLostAfter, healthPort, prometheusPort, drainDelay, maxCPUUtilization, participantCPUCost, trackCompositeCPUCost,
        trackCPUCost, maxConcurrentStreams, maxReceiveMessageSize, maxHeaderListSize, shutdownTimeout, maxLiveEgresses,
        rtpPort, rtpIngest, webRTCHosts, participantTimeout, participantWaitTimeout, requestReadTimeout, idleTimeout, sendTimeout,
        fileOutputMaxDuration, streamOutputMaxDuration, segmentOutputMaxDuration, imageOutputMaxDuration, fileOutputMaxSize, uploadPartSize, threads,
    ]
}

/// `on` or `off`.
struct Switch: LosslessStringConvertible, Sendable {
    var isOn: Bool
    init(_ isOn: Bool) { self.isOn = isOn }
    init?(_ description: String) {
        switch description.lowercased() {
        case "on": isOn = true
        case "off": isOn = false
        default: return nil
        }
    }
    var description: String { isOn ? "on" : "off" }
}

extension ServerConfiguration {
    /// `hub.webRTCHosts` as `--webrtc-host`'s comma-separated text.
    var webRTCHostList: String {
        get { hub.webRTCHosts.joined(separator: ",") }
        set { hub.webRTCHosts = newValue.split(separator: ",").map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty } }
    }

    /// `hub.plainRTP` as the `--rtp-ingest` switch.
    var plainRTPIngest: Switch {
        get { Switch(hub.plainRTP) }
        set { hub.plainRTP = newValue.isOn }
    }
}

/// Reads an option from the environment when no flag gives it.
enum Environment {
    static func value<T: LosslessStringConvertible>(_ flag: T?, _ name: String, as: T.Type = T.self, flag flagName: String) throws -> T? {
        if let flag { return flag }
        guard let raw = getenv(name).map({ String(cString: $0) }), !raw.isEmpty else { return nil }
        guard let value = T(raw) else {
            throw ValidationError("\(name)=\(raw) is not a valid value for \(flagName)")
        }
        return value
    }
}
extension Switch: ExpressibleByArgument {}

/// The ranges settings must be in; each names what is wrong, after the setting and its value.
enum Checks {
    static let port: @Sendable (Int) -> String? = { (0...65535).contains($0) ? nil : "is not a port number" }
    static let share: @Sendable (Double) -> String? = { $0.isFinite && (0...1).contains($0) ? nil : "is not from 0 to 1" }
    static let cores: @Sendable (Double) -> String? = { $0.isFinite && (0...1024).contains($0) ? nil : "is not a number of cores from 0 to 1024" }
    static let retentionDays: @Sendable (Int) -> String? = { (1...3650).contains($0) ? nil : "is not from 1 to 3650" }
    @Sendable static func notNegative<Count: BinaryInteger>(_ count: Count) -> String? { count >= 0 ? nil : "is negative" }
    static let partSize: @Sendable (Int) -> String? = {
        (5...1024).contains($0) ? nil : "is not from 5 to 1024 MiB (S3's parts are at least 5 MiB)"
    }
    static let messageSize: @Sendable (Int) -> String? = { (1024...(1 << 30)).contains($0) ? nil : "is not from 1024 to 1073741824 bytes" }
    static let threads: @Sendable (Int) -> String? = { (1...1024).contains($0) ? nil : "is not from 1 to 1024" }
    static let hostName: @Sendable (String) -> String? = { host in
        // Empty: none given (the default, --host).
        host.isEmpty || host.utf8.count <= 253 && !ServerConfiguration.isWildcard(host)
            && host.utf8.allSatisfy { $0 > 32 && $0 < 127 && !"/@?#".utf8.contains($0) }
            ? nil : "is not a host name or address the other nodes can reach"
    }
    static let nodeID: @Sendable (String) -> String? = { id in
        id.utf8.count <= 64 && id.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
            ? nil : "is not a node id (at most 64 letters, digits, - and _)"
    }
}

/// Values as YAML writes them.
enum YAMLText {
    /// A double-quoted YAML string (JSON's escapes are YAML's).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\\x" + String(scalar.value, radix: 16).leftPadded(to: 2)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Dotted keys and their values as nested YAML, in the order given (keys that share a first
    /// part are written together under it).
    static func document(_ entries: [(key: String, value: String)]) -> String {
        var groups: [(String, [(key: String, value: String)])] = []
        for entry in entries {
            let parts = entry.key.split(separator: ".", maxSplits: 1).map(String.init)
            let head = parts[0], rest = parts.count > 1 ? parts[1] : ""
            if let index = groups.firstIndex(where: { $0.0 == head }), !rest.isEmpty {
                groups[index].1.append((rest, entry.value))
            } else {
                groups.append((head, [(rest, entry.value)]))
            }
        }
        var lines: [String] = []
        for (head, members) in groups {
            if members.count == 1, members[0].key.isEmpty {
                lines.append("\(head): \(members[0].value)")
            } else {
                lines.append("\(head):")
                lines += document(members).split(separator: "\n").map { "  " + $0 }
            }
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
