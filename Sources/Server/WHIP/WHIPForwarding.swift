import APIClients
import APIMessages
import HTTP
import Ingest
import NIOCore
import RPC
import RPCClient
import WebRTC

/// A WHIP offer for a room another node hosts is sent there (`egress.cluster.Node/Publish`), and
/// its answer comes back from the node that took the offer. A redirect would not do: browsers,
/// and curl-based tools such as OBS, drop `Authorization` when they follow one to another
/// origin (another port is one), so the publisher would arrive at the room's node without its
/// token. The answer's candidates are the room's node's, so media goes there directly, and the
/// session's `Location` is an absolute URL on that node, where `DELETE` ends it.
extension WHIPEndpoint {
    /// The answer of the room's node at `address` to `request`, as this endpoint answers.
    static func forward(_ request: WebRTCPublishRequest, to target: (node: String, address: String, client: GRPCClient),
                        from node: String, scheme: String) async -> HTTPResponse {
        var call = Egress_Cluster_NodePublish()
        call.room = request.room
        call.identity = request.identity
        call.name = request.name
        call.metadata = request.metadata
        call.offer = request.offer
        call.screenShare = request.screenShare
        call.fromNode = node
        call.toNode = target.node
        do {
            var options = CallOptions()
            options.timeout = .seconds(10)
            let published = try await Egress_Cluster_NodeClient(target.client).publish(call, options: options)
            // It goes into this answer's headers: only an id as a hub makes them.
            guard isSessionID(published.sessionId) else {
                return Self.error(502, "room \(request.room)'s node \(target.node) answered the offer with a malformed session id")
            }
            return created(sessionID: published.sessionId, answer: published.answer,
                           location: "\(scheme)://\(target.address)\(sessionsPrefix)\(published.sessionId)")
        } catch let error as RPCError {
            switch error.code {
            case .invalidArgument: return Self.error(400, error.message)
            case .alreadyExists: return Self.error(409, error.message)
            case .resourceExhausted, .unavailable: return Self.error(503, error.message)
            case .unauthenticated: return Self.error(502, "room \(request.room)'s node \(target.node) refused this node's call: the nodes' cluster secrets differ")
            default: return Self.error(502, "room \(request.room)'s node \(target.node) did not answer the offer: \(error.message)")
            }
        } catch {
            return Self.error(502, "room \(request.room)'s node \(target.node) did not answer the offer: \(error)")
        }
    }

    /// An id such as the hub gives a session ("WH_" and twelve letters or digits): at most 64
    /// bytes of letters, digits, "_" and "-", so nothing else can reach a header.
    static func isSessionID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte | 0x20)
            }
    }

    /// `201 Created` with the answer and the session's URL.
    static func created(sessionID: String, answer: String, location: String) -> HTTPResponse {
        HTTPResponse(status: 201, headers: corsHeaders + [
            HeaderField("content-type", "application/sdp"),
            HeaderField("location", location),
            HeaderField("etag", "\"\(sessionID)\""),
        ], body: ByteBuffer(string: answer))
    }
}

extension NodeService {
    /// Opens the session another node took the offer for, on this node's hub, with the room held
    /// here while it opens (`ClusterRouter.hosting`). The hub checks every value as it checks a
    /// WHIP request of its own.
    func publish(request: Egress_Cluster_NodePublish, context: ServerContext) async throws -> Egress_Cluster_NodePublished {
        try Self.check(addressedTo: request.toNode, from: request.fromNode, here: router.node)
        let publish = WebRTCPublishRequest(room: request.room, identity: request.identity, name: request.name, metadata: request.metadata,
                                           offer: request.offer, screenShare: request.screenShare)
        do {
            let publication = try await router.hosting(request.room) { [hub] in try await hub.publishWebRTC(publish) }
            var published = Egress_Cluster_NodePublished()
            published.sessionId = publication.sessionID
            published.answer = publication.answer
            return published
        } catch let error as SDPError {
            throw RPCError(.invalidArgument, "bad offer: \(error)")
        } catch let error as HubError {
            switch error {
            case .alreadyExists: throw RPCError(.alreadyExists, error.description)
            case .roomFull, .unavailable: throw RPCError(.resourceExhausted, error.description)
            case .invalidArgument, .notFound: throw RPCError(.invalidArgument, error.description)
            }
        }
    }
}
