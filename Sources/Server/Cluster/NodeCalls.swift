import APIClients
import APIMessages
import APIServices
import Auth
import Logging
import NIOCore
import RPC
import RPCClient
import Support
import Synchronization
import Foundation
import Ingest

/// The cluster secret's two uses: signing this node's calls to the others (a LiveKit-style
/// token whose issuer is `egress-cluster`) and checking theirs. An API key's token is not
/// accepted by a node, nor a node's token by the API: they are signed with different secrets.
struct ClusterCredentials: Sendable {
    static let issuer = "egress-cluster"
    let tokens: NodeToken
    private let verifier: TokenVerifier

    init(secret: String) {
        tokens = NodeToken(signer: APIKeyTokens(apiKey: Self.issuer, secret: secret))
        verifier = TokenVerifier(keys: APIKeys([Self.issuer: secret]))
    }

    /// The calling node's verified token, or UNAUTHENTICATED saying why not.
    func admit(_ metadata: Metadata) throws(RPCError) -> AccessToken {
        do throws(AuthError) {
            return try verifier.verify(authorization: metadata["authorization"], now: WallClock.nanoseconds() / 1_000_000_000)
        } catch {
            throw RPCError(.unauthenticated, "not a call from a node of this cluster: \(error.description)")
        }
    }
}

/// The token a node signs its calls to the others with: one (it grants nothing, whatever the
/// method), signed again a minute before it expires, so that a routed call costs neither node an
/// HMAC and a JSON document (the receiving node's verifier keeps the tokens it verified).
final class NodeToken: TokenSource {
    private let signer: APIKeyTokens
    private let current = Mutex<(token: String, renewAt: Int64)?>(nil)

    init(signer: APIKeyTokens) {
        self.signer = signer
    }

    func token(for method: MethodTarget) async throws -> String {
        let now = WallClock.nanoseconds() / 1_000_000_000
        if let current = current.withLock({ $0 }), now < current.renewAt { return current.token }
        let token = try await signer.token(for: method)
        current.withLock { $0 = (token, now + signer.ttl - 60) }
        return token
    }
}

/// `egress.cluster.Node`: runs the public API's calls other nodes hand over, on this node's own
/// services (which route nothing further).
struct NodeService: Egress_Cluster_Node.ServiceProtocol {
    /// This node's Egress, RoomService and RoomIngest, as they answer for themselves.
    let local: RPCRouter
    let configuration: RPCConfiguration
    let router: ClusterRouter
    /// This node's hub, for WHIP sessions of its rooms whose offers other nodes took.
    let hub: RoomHub
    let logger: Logger

    func call(request: Egress_Cluster_NodeCall, context: ServerContext) async throws -> Egress_Cluster_NodeReply {
        try Self.check(addressedTo: request.toNode, from: request.fromNode, here: router.node)
        guard request.method.utf8.count <= 256 else {
            throw RPCError(.invalidArgument, "a call between nodes names its method in at most 256 bytes")
        }
        let run = { [local, configuration, logger] in
            try await local.runHandedOver(path: request.method, request: Array(request.request), configuration: configuration,
                                          logger: logger, deadline: context.deadline)
        }
        // A join or a CreateRoom was sent here as its room's node: the room is held here while
        // it runs, and must still be placed here (see `ClusterRouter.hosting`).
        let answer = if let room = Self.roomJoined(by: request) { try await router.hosting(room, run) } else { try await run() }
        var reply = Egress_Cluster_NodeReply()
        reply.response = Data(answer)
        return reply
    }

    /// Refuses a call meant for another node (one that had this node's address before it), and
    /// one whose node names are longer than a node's id may be.
    static func check(addressedTo node: String, from caller: String, here: String) throws(RPCError) {
        guard node.utf8.count <= 64 else { throw RPCError(.invalidArgument, "a call between nodes names its node (to_node) in at most 64 bytes") }
        guard caller.utf8.count <= 64 else { throw RPCError(.invalidArgument, "a call between nodes names its caller (from_node) in at most 64 bytes") }
        guard node == here else {
            throw node.isEmpty ? RPCError(.invalidArgument, "a call between nodes must name the node it is for (to_node)")
                : RPCError(.unavailable, "this is node \(here), not \(node) (the address changed hands); try again")
        }
    }

    /// The room a handed-over call brings into this node's hub (a RoomIngest join, CreateRoom);
    /// nil for other calls, and for a request that does not decode (the call itself says so).
    static func roomJoined(by call: Egress_Cluster_NodeCall) -> String? {
        switch call.method {
        case "/egress.ingest.RoomIngest/JoinRoom": (try? Egress_Ingest_JoinRoomRequest(wireBytes: Array(call.request)))?.room
        case "/livekit.RoomService/CreateRoom": (try? Livekit_CreateRoomRequest(wireBytes: Array(call.request)))?.name
        default: nil
        }
    }
}

/// This node's clients of the other nodes: one HTTP/2 connection per node, kept while it is used.
final class NodePeers: Sendable {
    let node: String
    private let credentials: ClusterCredentials
    private let group: any EventLoopGroup
    private let tls: GRPCClientConfiguration.TLS?
    private let logger: Logger
    private let clients = Mutex<[String: GRPCClient]>([:])

    init(node: String, credentials: ClusterCredentials, group: any EventLoopGroup, tls: GRPCClientConfiguration.TLS?, logger: Logger) {
        self.node = node
        self.credentials = credentials
        self.group = group
        self.tls = tls
        self.logger = logger
    }

    /// Calls to node `id`, whose API is at `address` ("host:port", "[v6]:port").
    func transport(to id: String, at address: String) throws(RPCError) -> NodeTransport {
        NodeTransport(node: Egress_Cluster_NodeClient(try client(to: address)), address: address, from: node, to: id)
    }

    /// The client of the node whose API is at `address`, signed as this node.
    func client(to address: String) throws(RPCError) -> GRPCClient {
        try clients.withLock { clients throws(RPCError) -> GRPCClient in
            if let client = clients[address] { return client }
            guard let (host, port) = Self.split(address) else { throw RPCError(.internal, "a node's address \(address) is not host:port") }
            var configuration = GRPCClientConfiguration(host: host, port: port, tls: tls)
            configuration.connectTimeout = .seconds(2)
            do {
                let client = try GRPCClient(configuration: configuration, tokens: credentials.tokens, group: group, logger: logger)
                clients[address] = client
                return client
            } catch {
                throw RPCError(.internal, "no client for node \(address): \(error)")
            }
        }
    }

    /// Closes every connection.
    func close() async {
        for client in clients.withLock({ clients in defer { clients = [:] }; return Array(clients.values) }) { await client.close() }
    }

    static func split(_ address: String) -> (String, Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (1...65_535).contains(port) else {
            return nil
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}

/// A transport for the generated clients that carries each unary call to another node inside
/// `egress.cluster.Node/Call`: the typed clients of the public API then reach that node's own
/// services, and its answer (or status) comes back as theirs.
struct NodeTransport: ClientTransport {
    let node: Egress_Cluster_NodeClient
    /// The node's API address, for errors.
    let address: String
    let from: String
    /// The node's id: another node at its address refuses the call.
    let to: String

    func unary(_ method: MethodTarget, request: [UInt8], options: CallOptions) async throws -> ClientResponse {
        var call = Egress_Cluster_NodeCall()
        call.method = method.path
        call.request = Data(request)
        call.fromNode = from
        call.toNode = to
        do {
            let reply = try await node.call(call, options: options)
            return ClientResponse(message: Array(reply.response))
        } catch let error as RPCError where error.code == .unauthenticated {
            // Only the node's own check answers that (the call itself checks no token): not the
            // client's fault, so not its status.
            throw RPCError(.internal, "the node at \(address) refused this node's call (\(error.message)): the nodes' cluster secrets differ")
        }
    }

    func serverStreaming(_ method: MethodTarget, request: [UInt8], options: CallOptions) async throws -> ResponseStream {
        throw RPCError(.unimplemented, "streaming calls are not handed between nodes")
    }
}
