import Cluster
import Ingest
import Logging
import Redis
import RecordStore
import ServiceLifecycle
import SessionManager
import Support
import Synchronization
import Placement
import NIOCore
import RPC
import RPCClient

extension EgressServer {
    /// This server as a node of the cluster (with `--redis`): joins the registry once it
    /// listens, beats and looks for lost nodes until graceful shutdown, then — its egresses
    /// stopped, as it is the last part to stop — leaves the registry, so that nobody takes it
    /// for lost.
    struct ClusterNode: Service {
        let member: ClusterMember
        let logger: Logger
        /// Set when the cluster declared this node lost: the server then shuts down (its records
        /// are fenced off) and exits with an error, for its supervisor to start it afresh.
        let declaredLost: DeclaredLost

        func run() async throws {
            do {
                try await member.join()
            } catch RedisError.replied(let message) where message.contains("already registered") {
                // Its own id from before a restart (a stable --node-id): beats go on under it.
                logger.info("node id already registered: taking it back", metadata: ["node": "\(member.node)"])
            }
            logger.info("joined the cluster", metadata: ["node": "\(member.node)", "redis": "\(member.registry.redis.endpoint)"])
            while true {
                do {
                    let round = try await member.round()
                    if round.heartbeat == .declaredLost {
                        declaredLost.set()
                        logger.error("declared lost by the cluster: shutting down", metadata: ["node": "\(member.node)"])
                        throw ServerError("node \(member.node) was declared lost by the cluster (its heartbeats stopped for longer than node_lost_after)")
                    }
                    for (node, egresses) in round.cleanedUp {
                        logger.warning("lost node cleaned up", metadata: ["lost_node": "\(node)", "egresses_failed": "\(egresses.count)"])
                    }
                } catch let error as ServerError {
                    throw error
                } catch {
                    logger.error("cluster heartbeat failed", metadata: ["error": "\(error)"])
                }
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: member.configuration.heartbeatInterval) }
                } catch {
                    break
                }
            }
            try? await member.leave()
            logger.info("left the cluster", metadata: ["node": "\(member.node)"])
        }
    }

    /// Whether the cluster declared this node lost.
    final class DeclaredLost: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }

    /// A cluster node's routing: where calls go, and how its calls to the other nodes are signed.
    struct ClusterRouting {
        let router: ClusterRouter
        let credentials: ClusterCredentials
    }

    /// With the records in a cluster's Redis: where calls go, and the nodes' credentials.
    func clusterRouting(records: (any EgressRecordStore)?, group: any EventLoopGroup) throws -> ClusterRouting? {
        guard let records = records as? RedisRecordStore, let endpoint = configuration.redis else { return nil }
        guard let secret = configuration.clusterSecret else { throw ServerError("a cluster node needs the cluster secret (EGRESS_CLUSTER_SECRET)") }
        let credentials = ClusterCredentials(secret: secret)
        let tls = configuration.tls.map { GRPCClientConfiguration.TLS(caFile: $0.certificatePath) }
        let peers = NodePeers(node: nodeID, credentials: credentials, group: group, tls: tls, logger: logger)
        // A connection of its own: routing does not wait behind the records' writes.
        let router = ClusterRouter(node: nodeID, redis: RedisClient(endpoint: endpoint), records: records, peers: peers,
                                   maxRoomName: configuration.hub.maxNameLength, lostAfter: configuration.nodeLostAfter)
        return ClusterRouting(router: router, credentials: credentials)
    }

    /// The services other nodes call, behind the cluster secret: `Node` runs their handed-over
    /// calls on `local` (this node's own services), `Relay` streams this node's rooms to them.
    func nodeServices(_ routing: ClusterRouting, local: [RPCService], hub: RoomHub) -> [RPCService] {
        let node = NodeService(local: RPCRouter(services: local), configuration: configuration.rpc, router: routing.router, hub: hub,
                               logger: logger)
        let relay = RelayService(hub: hub, node: routing.router.node, maxRoomName: configuration.hub.maxNameLength, logger: logger)
        let admit: RPCAdmission = { metadata in try routing.credentials.admit(metadata) }
        return [node.rpcService.admitting(admit), relay.rpcService.admitting(admit)]
    }

    /// The node's member of the cluster, describing the node as it is at each heartbeat.
    func clusterMember(records: RedisRecordStore, sessions: EgressStore, hub: RoomHub, cpu: any CPUMeter, apiPort: Int, mediaPort: Int,
                       claims: RoomClaims) -> ClusterMember {
        let lostAfter = configuration.nodeLostAfter
        let heartbeat = max(.milliseconds(50), min(.seconds(1), lostAfter / 4))
        let startedAt = WallClock.nanoseconds() / 1_000_000
        let (host, node) = (configuration.advertisedHost, records.node)
        let share = configuration.maxCPUUtilization > 0 ? configuration.maxCPUUtilization : 1
        let address = host.contains(":") ? "[\(host)]" : host
        return ClusterMember(registry: NodeRegistry(redis: records.redis), records: records, egresses: sessions,
                             configuration: .init(heartbeatInterval: heartbeat, lostAfter: lostAfter), logger: logger,
                             roomsInUse: { await Set(hub.listRooms(names: []).map(\.name)).union(sessions.roomsRecording()) },
                             claims: claims) {
            NodeRecord(id: node, apiAddress: "\(address):\(apiPort)", mediaAddress: "\(address):\(mediaPort)",
                       cpuCapacity: Double(cpu.cores) * share, cpuUsed: max(sessions.committedCPU, cpu.coresInUse),
                       liveEgresses: sessions.liveCount, draining: sessions.isDraining, startedAt: startedAt, heartbeatAt: 0)
        }
    }
}
