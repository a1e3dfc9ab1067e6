import APIMessages
import Foundation
import HTTP
import Logging
import NIOPosix
import Protobuf
import Testing
@testable import RPC

/// The flood limits on frames that carry nothing a request needs (WINDOW_UPDATE, PRIORITY, empty
/// DATA, unknown types; and PING), measured at their edges on a real socket: a server with small
/// buckets (20 frames at once, 5 a second) so that a burst is exact and the refill can be timed.
@Suite(.serialized) struct FloodLimitTests {
    static let burst = 20
    static let perSecond = 5

    /// What the client saw after its frames: the GOAWAY's error code, or none; and whether the
    /// connection still answered a PING.
    struct Outcome: Equatable {
        var goAway: Int?
        var answersPing: Bool
        static let kept = Outcome(goAway: nil, answersPing: true)
        static let calmedDown = Outcome(goAway: 11, answersPing: false)  // ENHANCE_YOUR_CALM
    }

    func withServer(_ body: (Int) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let logger = Logger(label: "test")
        let check = RPCHandler.unary { (_: Grpc_Health_V1_HealthCheckRequest, _: ServerContext) in Grpc_Health_V1_HealthCheckResponse() }
        let grpc = GRPCServer(router: RPCRouter(services: [RPCService("grpc.health.v1.Health", handlers: ["Check": check])]),
                              configuration: RPCConfiguration(), logger: logger)
        var configuration = HTTP2Configuration()
        configuration.emptyFrameLimit = .init(burst: Self.burst, perSecond: Self.perSecond)
        configuration.pingLimit = .init(burst: Self.burst, perSecond: Self.perSecond)
        configuration.shutdownTimeout = .seconds(2)
        let server = HTTPServer(configuration: configuration, group: group, logger: logger, makeHandler: grpc.streamHandlerFactory)
        let address = try await server.bind(host: "127.0.0.1", port: 0)
        defer { Task { await server.shutdownGracefully(); try? await group.shutdownGracefully() } }
        try await body(address.port!)
    }

    /// Connects, opens stream 1 (a request whose body never ends), then plays `phases`: "N" sends
    /// N frames of `kind` in one write, "sleep S" waits S seconds. Then sends one PING and reads
    /// until its ACK, a GOAWAY or the end of the connection.
    func flood(port: Int, kind: String, phases: [String]) async throws -> Outcome {
        let script = """
        import json, socket, struct, sys, time
        from hpack import Encoder
        def frame(kind, flags, stream, payload=b""):
            return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload
        one = {
            "window_update": frame(8, 0, 0, struct.pack(">I", 1)),
            "priority": frame(2, 0, 101, struct.pack(">IB", 0, 15)),
            "empty_data": frame(0, 0, 1),
            "unknown": frame(0xFA, 0, 0),
            "ping": frame(6, 0, 0, b"flooding"),
        }["\(kind)"]
        sock = socket.create_connection(("127.0.0.1", \(port)), timeout=5)
        headers = Encoder().encode([(":method", "POST"), (":scheme", "http"), (":path", "/grpc.health.v1.Health/Check"),
                                    (":authority", "localhost"), ("content-type", "application/grpc"), ("te", "trailers")])
        sock.sendall(b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" + frame(4, 0, 0) + frame(1, 4, 1, headers))
        try:
            for phase in sys.argv[1:]:
                if phase.startswith("sleep "):
                    time.sleep(float(phase.split()[1]))
                else:
                    sock.sendall(one * int(phase))
            sock.sendall(frame(6, 0, 0, b"stillok?"))
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = {"goaway": None, "ping": False}
        buffer = b""
        while not out["ping"] and out["goaway"] is None:
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                data = b""
            if not data:
                break
            buffer += data
            while len(buffer) >= 9 and len(buffer) >= 9 + int.from_bytes(buffer[:3], "big"):
                length, kind, flags = int.from_bytes(buffer[:3], "big"), buffer[3], buffer[4]
                payload, buffer = buffer[9:9 + length], buffer[9 + length:]
                if kind == 7:
                    out["goaway"] = int.from_bytes(payload[4:8], "big")
                if kind == 6 and flags & 1 and payload == b"stillok?":
                    out["ping"] = True
        print(json.dumps(out))
        """
        let out = try await runPythonClient(script, arguments: phases)
        return Outcome(goAway: out["goaway"] as? Int, answersPing: out["ping"] as? Bool ?? false)
    }

    static let kinds = ["window_update", "priority", "empty_data", "unknown"]

    @Test(arguments: kinds) func aBurstIsAllowedAndOneFrameMoreIsNot(kind: String) async throws {
        try await withServer { port in
            let atBurst = try await flood(port: port, kind: kind, phases: ["\(Self.burst)"])
            let overBurst = try await flood(port: port, kind: kind, phases: ["\(Self.burst + 1)"])
            #expect(atBurst == .kept)
            #expect(overBurst == .calmedDown)
        }
    }

    /// PINGs have a bucket of their own; the client's last PING (its check) is one of them, and
    /// the client reads nothing until then, so nghttp2's own cap on unread ACKs (1,000) is far off.
    @Test func pingsPastTheirBurstGetEnhanceYourCalm() async throws {
        try await withServer { port in
            let atBurst = try await flood(port: port, kind: "ping", phases: ["\(Self.burst - 1)"])
            let overBurst = try await flood(port: port, kind: "ping", phases: ["\(Self.burst)"])
            #expect(atBurst == .kept)
            #expect(overBurst == .calmedDown)
        }
    }

    /// After an emptied bucket, a second refills `perSecond` frames: 5 pass, 7 do not.
    @Test func theBucketRefillsAtItsRate() async throws {
        try await withServer { port in
            let refilled = try await flood(port: port, kind: "window_update", phases: ["\(Self.burst)", "sleep 1.1", "\(Self.perSecond)"])
            let overRefill = try await flood(port: port, kind: "unknown", phases: ["\(Self.burst)", "sleep 1.1", "\(Self.perSecond + 2)"])
            #expect(refilled == .kept)
            #expect(overRefill == .calmedDown)
        }
    }

    /// A client that keeps under the rate keeps its connection however many frames it sends in all.
    @Test func aClientUnderTheRateKeepsItsConnection() async throws {
        try await withServer { port in
            let steady = Array(repeating: ["4", "sleep 1"], count: 8).flatMap { $0 }  // 32 frames, 4 a second
            let outcome = try await flood(port: port, kind: "priority", phases: ["\(Self.burst)", "sleep 1"] + steady)
            #expect(outcome == .kept)
        }
    }
}
