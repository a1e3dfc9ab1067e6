import HTTP
import Ingest
import NIOCore
import Prometheus
import SessionManager
import Support
import Synchronization

/// Prometheus metrics on `prometheus_port`: `GET /metrics` in the text exposition format. What
/// is counted as it happens (RPC calls and their latency, egresses started, ended and refused,
/// webhook deliveries) comes through swift-metrics into `registry`; what is a state (live
/// egresses, CPU, the process, the ingest per room) is read when scraped. Room labels are
/// bounded: the `maxRooms` busiest rooms by packets, the rest summed as room "_other".
final class MetricsEndpoint: Sendable {
    static let maxRooms = 20
    let registry: PrometheusCollectorRegistry
    private let sessions: EgressStore
    private let hub: RoomHub
    private let cpu: MachineCPU
    private let state = Mutex(State())

    private struct State {
        var roomGauges: [String: [Gauge]] = [:]
        var cpuSecondsCounted = 0.0
    }

    init(registry: PrometheusCollectorRegistry, sessions: EgressStore, hub: RoomHub, cpu: MachineCPU) {
        self.registry = registry
        self.sessions = sessions
        self.hub = hub
        self.cpu = cpu
    }

    func admit(method: String, path: String, headers: [HeaderField]) -> HTTPAdmission {
        guard method == "GET" || method == "HEAD" else {
            return .refused(HTTPResponse(status: 405, headers: [HeaderField("allow", "GET, HEAD")]))
        }
        return .admitted(value: nil, maxBodySize: 0)
    }

    func respond(_ request: HTTPRequest) async -> HTTPResponse {
        guard request.path.prefix(while: { $0 != "?" }) == "/metrics" else {
            return HTTPResponse(status: 404, headers: [HeaderField("content-type", "text/plain")], body: ByteBuffer(string: "metrics are at /metrics\n"))
        }
        await refresh()
        return HTTPResponse(status: 200, headers: [HeaderField("content-type", "text/plain; version=0.0.4; charset=utf-8")],
                            body: ByteBuffer(bytes: registry.emitToBuffer()))
    }

    private func refresh() async {
        let live = sessions.liveCounts()
        for kind in EgressRecord.EchoedRequest.Kind.allCases {
            registry.makeGauge(name: "livekit_egress_requests", labels: [("type", kind.metricName)], help: "Live egresses by type.")
                .set(to: Double(live[kind] ?? 0))
        }
        registry.makeGauge(name: "egress_live", help: "Live egresses.").set(to: Double(sessions.liveCount))
        let available = sessions.availableCPU ?? Double(cpu.cores) - cpu.coresInUse
        registry.makeGauge(name: "livekit_egress_available", help: "Cores free for egresses.").set(to: max(0, available))
        registry.makeGauge(name: "egress_cpu_committed_cores", help: "Expected CPU cost of the live egresses (admission by cost).")
            .set(to: sessions.committedCPU)
        registry.makeGauge(name: "livekit_node_cpu_load", help: "The machine's CPU in use, a share of its cores.")
            .set(to: cpu.coresInUse / Double(cpu.cores))
        registry.makeGauge(name: "egress_draining", help: "1 from SIGTERM on.").set(to: sessions.isDraining ? 1 : 0)

        let cpuSeconds = ProcessStats.cpuSeconds()
        let increment = state.withLock { state in
            defer { state.cpuSecondsCounted = max(state.cpuSecondsCounted, cpuSeconds) }
            return max(0, cpuSeconds - state.cpuSecondsCounted)
        }
        registry.makeCounter(name: "process_cpu_seconds_total", help: "User and system CPU time.").increment(by: increment)
        registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory.").set(to: Double(ProcessStats.residentBytes()))
        registry.makeGauge(name: "process_open_fds", help: "Open file descriptors.").set(to: Double(ProcessStats.openDescriptors()))

        let statistics = await hub.statistics()
        refreshRooms(statistics)
        for (reason, count) in [("unknown_ssrc", statistics.unknownSSRCPackets), ("malformed", statistics.malformedPackets),
                                ("oversize", statistics.oversizePackets), ("plain_rtp_refused", statistics.plainRTPRefused),
                                ("secured_rejected", statistics.securedRejected)] {
            registry.makeGauge(name: "egress_ingest_dropped_packets", labels: [("reason", reason)],
                               help: "Datagrams the RTP port dropped since start, by reason.").set(to: Double(count))
        }
        registry.makeGauge(name: "egress_ingest_webrtc_sessions", help: "WebRTC (WHIP) sessions.").set(to: Double(statistics.webRTCSessions))
    }

    /// Per room, over its tracks now: packets received, lost, NACKed and recovered.
    private func refreshRooms(_ statistics: HubStatistics) {
        var rooms: [String: (packets: Int, lost: Int, nacked: Int, recovered: Int)] = [:]
        for track in statistics.tracks {
            var room = rooms[track.room] ?? (0, 0, 0, 0)
            room.packets &+= track.packetsReceived
            room.lost &+= track.packetsLost
            room.nacked &+= track.packetsNacked
            room.recovered &+= track.packetsRecovered
            rooms[track.room] = room
        }
        let busiest = rooms.sorted { $0.value.packets > $1.value.packets }
        var shown = Dictionary(uniqueKeysWithValues: busiest.prefix(Self.maxRooms).map { ($0.key, $0.value) })
        if busiest.count > Self.maxRooms {
            shown["_other"] = busiest.dropFirst(Self.maxRooms).reduce(into: (0, 0, 0, 0)) { sum, room in
                sum.0 &+= room.value.packets
                sum.1 &+= room.value.lost
                sum.2 &+= room.value.nacked
                sum.3 &+= room.value.recovered
            }
        }
        state.withLock { state in
            for (room, gauges) in state.roomGauges where shown[room] == nil {
                for gauge in gauges { registry.unregisterGauge(gauge) }
                state.roomGauges[room] = nil
            }
            for (room, values) in shown {
                let labels = [("room", room)]
                let gauges = [
                    registry.makeGauge(name: "egress_ingest_packets", labels: labels, help: "RTP packets received by the room's tracks."),
                    registry.makeGauge(name: "egress_ingest_packets_lost", labels: labels, help: "RTP packets lost on the room's tracks."),
                    registry.makeGauge(name: "egress_ingest_nacks", labels: labels, help: "Packets asked for again (NACK) on the room's tracks."),
                    registry.makeGauge(name: "egress_ingest_packets_recovered", labels: labels, help: "Lost packets recovered by retransmission."),
                ]
                for (gauge, value) in zip(gauges, [values.packets, values.lost, values.nacked, values.recovered]) { gauge.set(to: Double(value)) }
                state.roomGauges[room] = gauges
            }
        }
    }
}
