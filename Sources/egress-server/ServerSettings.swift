import ArgumentParser
import Logging
import Server
#if canImport(Glibc)
import Glibc
#endif

/// One option of the server, said once: its flag, its environment variable, what it means, the
/// command's property that holds the flag's value, and where it goes in `ServerConfiguration`.
/// The help text (with the default, read from `ServerConfiguration()`) and the reading of flag,
/// else environment, else default follow from it.
protocol ServerSetting: Sendable {
    var flag: String { get }
    var environment: String { get }
    /// Sets the configuration from the flag or, without it, the environment variable.
    func apply(_ command: EgressServerCommand, to configuration: inout ServerConfiguration) throws
}

/// A setting whose value is written as it is (`--port 7880`).
struct ValueSetting<Value: LosslessStringConvertible & Sendable>: ServerSetting {
    let flag: String
    let environment: String
    let summary: String
    let option: KeyPath<EgressServerCommand, Value?> & Sendable
    let target: WritableKeyPath<ServerConfiguration, Value> & Sendable
    /// Said instead of the configuration's default (which may depend on the machine).
    var defaultText: String?

    var help: ArgumentHelp {
        ArgumentHelp(stringLiteral: "\(summary) [\(environment), default \(defaultText ?? "\(ServerConfiguration()[keyPath: target])")]")
    }

    func apply(_ command: EgressServerCommand, to configuration: inout ServerConfiguration) throws {
        if let value = try Environment.value(command[keyPath: option], environment, flag: flag) {
            configuration[keyPath: target] = value
        }
    }
}

/// A setting in seconds (a fraction allowed), kept as a `Duration`; refused unless it is between
/// 0 and a year, so that no value can trap on the way.
struct SecondsSetting: ServerSetting {
    let flag: String
    let environment: String
    let summary: String
    let option: KeyPath<EgressServerCommand, Double?> & Sendable
    let target: WritableKeyPath<ServerConfiguration, Duration> & Sendable

    var help: ArgumentHelp {
        let seconds = ServerConfiguration()[keyPath: target].components.seconds
        return ArgumentHelp(stringLiteral: "\(summary) [\(environment), default \(seconds)]")
    }

    func apply(_ command: EgressServerCommand, to configuration: inout ServerConfiguration) throws {
        guard let seconds = try Environment.value(command[keyPath: option], environment, flag: flag) else { return }
        guard seconds.isFinite, seconds >= 0, seconds <= 365 * 86_400 else {
            throw ValidationError("\(flag) \(seconds) is not a number of seconds between 0 and a year")
        }
        configuration[keyPath: target] = .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }
}

/// Every option with a place in `ServerConfiguration`, in the order --help lists them.
enum ServerSettings {
    static let host = ValueSetting(flag: "--host", environment: "EGRESS_HOST", summary: "Address to listen on.",
                                   option: \.host, target: \.host)
    static let port = ValueSetting(flag: "--port", environment: "EGRESS_PORT",
                                   summary: "API port (gRPC and Twirp, HTTP/2 and HTTP/1.1); 0 picks a free one.",
                                   option: \.port, target: \.port)
    static let outputDir = ValueSetting(flag: "--output-dir", environment: "EGRESS_OUTPUT_DIR",
                                        summary: "Directory recordings are written under.", option: \.outputDir, target: \.outputDirectory)
    static let stateDir = ValueSetting(flag: "--state-dir", environment: "EGRESS_STATE_DIR",
                                       summary: "Directory of the egress records' database; \"none\": in memory only, forgotten at exit.",
                                       option: \.stateDir, target: \.stateDirectory, defaultText: "the output directory's path + \"-state\"")
    static let recordRetention = ValueSetting(flag: "--record-retention-days", environment: "EGRESS_RECORD_RETENTION_DAYS",
                                              summary: "Days an ended egress stays listed (1 to 3650).",
                                              option: \.recordRetentionDays, target: \.recordRetentionDays)
    static let healthPort = ValueSetting(flag: "--health-port", environment: "EGRESS_HEALTH_PORT",
                                         summary: "Port of the HTTP health check for load balancers (503 while draining); 0: none.",
                                         option: \.healthPort, target: \.healthPort)
    static let prometheusPort = ValueSetting(flag: "--prometheus-port", environment: "EGRESS_PROMETHEUS_PORT",
                                             summary: "Port of the Prometheus metrics (GET /metrics); may be the health port; 0: none.",
                                             option: \.prometheusPort, target: \.prometheusPort)
    static let drainDelay = SecondsSetting(flag: "--drain-delay", environment: "EGRESS_DRAIN_DELAY",
                                           summary: "Seconds after SIGTERM the API still serves (new egresses refused, health 503) before it closes.",
                                           option: \.drainDelay, target: \.drainDelay)
    static let maxCPUUtilization = ValueSetting(flag: "--max-cpu-utilization", environment: "EGRESS_MAX_CPU_UTILIZATION",
                                                summary: "Admission by CPU cost: the share of the cores egresses may use (0 to 1); 0: off.",
                                                option: \.maxCpuUtilization, target: \.maxCPUUtilization)
    static let participantCPUCost = ValueSetting(flag: "--participant-cpu-cost", environment: "EGRESS_PARTICIPANT_CPU_COST",
                                                 summary: "Cores a transcoded Participant egress is expected to use.",
                                                 option: \.participantCpuCost, target: \.cpuCosts.participant)
    static let trackCompositeCPUCost = ValueSetting(flag: "--track-composite-cpu-cost", environment: "EGRESS_TRACK_COMPOSITE_CPU_COST",
                                                    summary: "Cores a transcoded TrackComposite egress is expected to use.",
                                                    option: \.trackCompositeCpuCost, target: \.cpuCosts.trackComposite)
    static let trackCPUCost = ValueSetting(flag: "--track-cpu-cost", environment: "EGRESS_TRACK_CPU_COST",
                                           summary: "Cores a Track egress (or any passthrough egress) is expected to use.",
                                           option: \.trackCpuCost, target: \.cpuCosts.track)
    static let maxConcurrentStreams = ValueSetting(flag: "--max-concurrent-streams", environment: "EGRESS_MAX_CONCURRENT_STREAMS",
                                                   summary: "SETTINGS_MAX_CONCURRENT_STREAMS per connection.",
                                                   option: \.maxConcurrentStreams, target: \.http2.maxConcurrentStreams)
    static let maxReceiveMessageSize = ValueSetting(flag: "--max-receive-message-size", environment: "EGRESS_MAX_RECEIVE_MESSAGE_SIZE",
                                                    summary: "Largest request message in bytes.",
                                                    option: \.maxReceiveMessageSize, target: \.rpc.maxReceiveMessageSize)
    static let maxHeaderListSize = ValueSetting(flag: "--max-header-list-size", environment: "EGRESS_MAX_HEADER_LIST_SIZE",
                                                summary: "SETTINGS_MAX_HEADER_LIST_SIZE in bytes.",
                                                option: \.maxHeaderListSize, target: \.http2.maxHeaderListSize)
    static let shutdownTimeout = SecondsSetting(flag: "--shutdown-timeout", environment: "EGRESS_SHUTDOWN_TIMEOUT",
                                                summary: "Seconds in-flight calls get after SIGTERM.",
                                                option: \.shutdownTimeout, target: \.http2.shutdownTimeout)
    static let maxLiveEgresses = ValueSetting(flag: "--max-live-egresses", environment: "EGRESS_MAX_LIVE_EGRESSES",
                                              summary: "Live egresses at once.", option: \.maxLiveEgresses, target: \.sessions.maxLiveEgresses)
    static let rtpPort = ValueSetting(flag: "--rtp-port", environment: "EGRESS_RTP_PORT",
                                      summary: "UDP port RTP and RTCP are received on; 0 picks a free one.",
                                      option: \.rtpPort, target: \.hub.rtpPort)
    static let rtpIngest = ValueSetting(flag: "--rtp-ingest", environment: "EGRESS_RTP_INGEST",
                                        summary: "Plain RTP publishing (RoomIngest): on, or off for WebRTC (WHIP) only.",
                                        option: \.rtpIngest, target: \.plainRTPIngest)
    static let webRTCHosts = ValueSetting(flag: "--webrtc-host", environment: "EGRESS_WEBRTC_HOST",
                                          summary: "Addresses WHIP answers name as host candidates (comma-separated); empty: the bound one.",
                                          option: \.webrtcHost, target: \.webRTCHostList, defaultText: "the RTP port's address")
    static let participantTimeout = SecondsSetting(flag: "--participant-timeout", environment: "EGRESS_PARTICIPANT_TIMEOUT",
                                                   summary: "Seconds without RTP or calls after which a participant has left.",
                                                   option: \.participantTimeout, target: \.hub.participantTimeout)
    static let participantWaitTimeout = SecondsSetting(flag: "--participant-wait-timeout", environment: "EGRESS_PARTICIPANT_WAIT_TIMEOUT",
                                                       summary: "Seconds a participant egress waits for its participant to join.",
                                                       option: \.participantWaitTimeout, target: \.participantWaitTimeout)
    static let requestReadTimeout = SecondsSetting(flag: "--request-read-timeout", environment: "EGRESS_REQUEST_READ_TIMEOUT",
                                                   summary: "Seconds an HTTP/1.1 request may take to arrive whole.",
                                                   option: \.requestReadTimeout, target: \.http1.requestReadTimeout)
    static let idleTimeout = SecondsSetting(flag: "--idle-timeout", environment: "EGRESS_IDLE_TIMEOUT",
                                            summary: "Seconds an idle HTTP/1.1 keep-alive connection stays open.",
                                            option: \.idleTimeout, target: \.http1.idleTimeout)
    static let sendTimeout = SecondsSetting(flag: "--send-timeout", environment: "EGRESS_SEND_TIMEOUT",
                                            summary: "Seconds a connection may take none of the bytes waiting for it before it is closed.",
                                            option: \.sendTimeout, target: \.http2.sendTimeout)
    static let fileOutputMaxDuration = SecondsSetting(flag: "--file-output-max-duration", environment: "EGRESS_FILE_OUTPUT_MAX_DURATION",
                                                      summary: "Seconds an egress with a file output may record; 0: no limit.",
                                                      option: \.fileOutputMaxDuration, target: \.fileOutputMaxDuration)
    static let streamOutputMaxDuration = SecondsSetting(flag: "--stream-output-max-duration", environment: "EGRESS_STREAM_OUTPUT_MAX_DURATION",
                                                        summary: "Seconds an egress with a stream or WebSocket may record; 0: no limit.",
                                                        option: \.streamOutputMaxDuration, target: \.streamOutputMaxDuration)
    static let segmentOutputMaxDuration = SecondsSetting(flag: "--segment-output-max-duration", environment: "EGRESS_SEGMENT_OUTPUT_MAX_DURATION",
                                                         summary: "Seconds an egress with HLS segments may record; 0: no limit.",
                                                         option: \.segmentOutputMaxDuration, target: \.segmentOutputMaxDuration)
    static let imageOutputMaxDuration = SecondsSetting(flag: "--image-output-max-duration", environment: "EGRESS_IMAGE_OUTPUT_MAX_DURATION",
                                                       summary: "Seconds an egress with image outputs may record; 0: no limit.",
                                                       option: \.imageOutputMaxDuration, target: \.imageOutputMaxDuration)
    static let fileOutputMaxSize = ValueSetting(flag: "--file-output-max-size", environment: "EGRESS_FILE_OUTPUT_MAX_SIZE",
                                                summary: "Bytes a file output may reach; 0: no limit.",
                                                option: \.fileOutputMaxSize, target: \.fileOutputMaxSize)
    static let uploadPartSize = ValueSetting(flag: "--upload-part-size", environment: "EGRESS_UPLOAD_PART_SIZE",
                                             summary: "MiB: larger files go to S3 in parts of this size (5 to 1024).",
                                             option: \.uploadPartSize, target: \.uploadPartSizeMiB)
    static let threads = ValueSetting(flag: "--threads", environment: "EGRESS_THREADS", summary: "Event loop threads.",
                                      option: \.threads, target: \.eventLoopThreads, defaultText: "one per core")

    static let all: [any ServerSetting] = [
        host, port, outputDir, stateDir, recordRetention, healthPort, prometheusPort, drainDelay, maxCPUUtilization, participantCPUCost, trackCompositeCPUCost,
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
