import APIMessages
import APIServices
import Foundation
import HTTP
import Logging
import NIOPosix
import Testing
@testable import RPC

/// A service written on its generated `ServiceProtocol` (typed requests and responses), served
/// through its `rpcService` and called by grpcio: a unary call and a server stream carry the
/// typed values both ways.
@Suite(.serialized) struct TypedServiceTests {
    /// Knows one service, "known"; its Watch sends SERVING, NOT_SERVING, then SERVING again.
    struct Health: Grpc_Health_V1_Health.ServiceProtocol {
        func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
            guard request.service == "known" else { throw RPCError(.notFound, "no service \(request.service)") }
            var response = Grpc_Health_V1_HealthCheckResponse()
            response.status = .serving
            return response
        }

        func list(request: Grpc_Health_V1_HealthListRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthListResponse {
            var response = Grpc_Health_V1_HealthListResponse()
            var serving = Grpc_Health_V1_HealthCheckResponse()
            serving.status = .serving
            response.statuses = ["known": serving]
            return response
        }

        func watch(request: Grpc_Health_V1_HealthCheckRequest, response: ResponseWriter<Grpc_Health_V1_HealthCheckResponse>,
                   context: ServerContext) async throws {
            for status: Grpc_Health_V1_HealthCheckResponse.ServingStatus in [.serving, .notServing, .serving] {
                var message = Grpc_Health_V1_HealthCheckResponse()
                message.status = status
                try await response.write(message)
            }
        }
    }

    @Test func typedUnaryAndServerStreamingCallsCarryTheirValues() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let logger = Logger(label: "test")
        let grpc = GRPCServer(router: RPCRouter(services: [Health().rpcService]), configuration: RPCConfiguration(), logger: logger)
        var configuration = HTTP2Configuration()
        configuration.shutdownTimeout = .seconds(2)
        let server = HTTPServer(configuration: configuration, group: group, logger: logger, makeHandler: grpc.streamHandlerFactory)
        let port = try await server.bind(host: "127.0.0.1", port: 0).port!
        defer { Task { await server.shutdownGracefully(); try? await group.shutdownGracefully() } }

        // Raw protobuf both ways: HealthCheckRequest{service} is field 1, HealthCheckResponse{status} field 1.
        let out = try await runPythonClient("""
        import grpc, json
        channel = grpc.insecure_channel("127.0.0.1:\(port)")
        def request(service):
            return b"\\x0a" + bytes([len(service)]) + service.encode()
        def status(response):
            return response[1] if response[:1] == b"\\x08" else 0
        out = {}
        check = channel.unary_unary("/grpc.health.v1.Health/Check")
        out["known"] = status(check(request("known"), timeout=10))
        try:
            check(request("other"), timeout=10)
        except grpc.RpcError as e:
            out["other"] = [e.code().name, e.details()]
        watch = channel.unary_stream("/grpc.health.v1.Health/Watch")
        out["watch"] = [status(r) for r in watch(request("known"), timeout=10)]
        out["list"] = channel.unary_unary("/grpc.health.v1.Health/List")(b"", timeout=10).hex()
        print(json.dumps(out))
        """)
        #expect(out["known"] as? Int == 1)  // SERVING
        #expect(out["other"] as? [String] == ["NOT_FOUND", "no service other"])
        #expect(out["watch"] as? [Int] == [1, 2, 1])  // SERVING, NOT_SERVING, SERVING
        // statuses {"known": {status: SERVING}}: field 1, an entry of key "known" and value {1: 1}.
        #expect(out["list"] as? String == "0a0b0a056b6e6f776e12020801")
    }
}
