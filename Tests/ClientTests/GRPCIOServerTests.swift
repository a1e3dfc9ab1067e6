import APIClients
import APIMessages
import Foundation
import RPCClient
import Testing

/// The Swift client against a server no one here wrote: grpcio (Python), serving
/// `grpc.health.v1.Health` with handlers that answer by the request's `service` name.
@Suite(.serialized, .timeLimit(.minutes(1))) struct GRPCIOServerTests {
    static let script = #"""
import grpc, sys, time
from concurrent import futures

def name(request):
    if not request:
        return ""
    length, shift, at = 0, 0, 1
    while True:
        byte = request[at]
        length |= (byte & 0x7F) << shift
        shift += 7
        at += 1
        if byte < 0x80:
            return request[at:at + length].decode()

def check(request, context):
    n = name(request)
    if n == "ok":
        context.send_initial_metadata((("x-initial", "hello"),))
        context.set_trailing_metadata((("x-trailing-bin", b"\x00\xff"), ("x-user", dict(context.invocation_metadata()).get("x-user", ""))))
        return b"\x08\x01"
    if n.startswith("abort-"):
        context.abort(grpc.StatusCode(next(c for c in grpc.StatusCode if c.value[0] == int(n[6:]))), "refused: caf\u00e9 100%")
    if n == "slow":
        deadline = context.time_remaining()
        time.sleep(5)
        return b"\x08\x01"
    if n == "big":
        payload = b"x" * (3 * 1024 * 1024)
        return b"\x08\x01" + b"\x12" + bytes(encode_varint(len(payload))) + payload
    if n == "sent":
        context.set_trailing_metadata((("x-sent", str(SENT[0])),))
        return b"\x08\x01"
    if len(n) > 100000:
        context.set_trailing_metadata((("x-request-size", str(len(request))),))
        return b"\x08\x01"
    return b"\x08\x02"

def encode_varint(n):
    out = []
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return out

SENT = [0]

def watch(request, context):
    if name(request) == "flood":
        # 400 responses of 32 KiB (status SERVING and an unknown field), as fast as flow control lets them go.
        payload = b"\x08\x01" + b"\x7a" + bytes(encode_varint(32768)) + b"f" * 32768
        for i in range(400):
            yield payload
            SENT[0] = i + 1
        return
    for i in range(3):
        yield b"\x08\x01"
    if name(request) == "fail-after":
        context.abort(grpc.StatusCode.UNAVAILABLE, "gone after three")

handler = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
    "Check": grpc.unary_unary_rpc_method_handler(check),
    "Watch": grpc.unary_stream_rpc_method_handler(watch),
})
server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=[("grpc.max_receive_message_length", 8 * 1024 * 1024)])
server.add_generic_rpc_handlers((handler,))
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(port, flush=True)
sys.stdin.read()
server.stop(0)
"""#

    /// Runs `body` against a grpcio server; the server stops when its stdin closes.
    func withServer(_ body: (GRPCClient) async throws -> Void) async throws {
        try await PythonServer.run(Self.script) { port in
            let client = try GRPCClient(configuration: GRPCClientConfiguration(host: "127.0.0.1", port: port))
            try await body(client)
            await client.close()
        }
    }

    func request(_ service: String) -> Grpc_Health_V1_HealthCheckRequest {
        var request = Grpc_Health_V1_HealthCheckRequest()
        request.service = service
        return request
    }

    static let check = MethodTarget(service: "grpc.health.v1.Health", method: "Check")

    @Test func answersMetadataAndTrailers() async throws {
        try await withServer { client in
            var metadata = Metadata()
            metadata.add("x-user", "alice")
            let response = try await client.unary(Self.check, request: request("ok").wireBytes(), options: CallOptions(metadata: metadata))
            #expect(try Grpc_Health_V1_HealthCheckResponse(wireBytes: response.message).status == .serving)
            #expect(response.metadata["x-initial"] == "hello")
            #expect(response.trailers.binary("x-trailing-bin") == [0x00, 0xFF])
            #expect(response.trailers["x-user"] == "alice")
        }
    }

    /// grpcio answers an abort before any message as Trailers-Only, its message percent-encoded.
    @Test(arguments: [StatusCode.notFound, .permissionDenied, .resourceExhausted, .unavailable, .internal])
    func everyStatusComesThroughTrailersOnly(code: StatusCode) async throws {
        try await withServer { client in
            let health = Grpc_Health_V1_HealthClient(client)
            await #expect(throws: RPCError(code, "refused: café 100%")) { _ = try await health.check(request("abort-\(code.rawValue)")) }
        }
    }

    @Test func theDeadlineEndsASlowCall() async throws {
        try await withServer { client in
            let started = ContinuousClock.now
            await #expect(throws: RPCError.self) {
                _ = try await Grpc_Health_V1_HealthClient(client).check(request("slow"), options: CallOptions(timeout: .milliseconds(300)))
            }
            do {
                _ = try await Grpc_Health_V1_HealthClient(client).check(request("slow"), options: CallOptions(timeout: .milliseconds(300)))
            } catch let error as RPCError {
                #expect(error.code == .deadlineExceeded)
            }
            #expect(ContinuousClock.now - started < .seconds(3))
        }
    }

    @Test func largeMessagesBothWaysAndTheResponseLimit() async throws {
        try await withServer { client in
            let big = try await Grpc_Health_V1_HealthClient(client).check(request("big"))
            #expect(big.status == .serving)
            // The 3 MiB field the server added, kept (after its 4-byte length prefix).
            #expect(big.unknownFields.fields.map(\.number) == [2] && big.unknownFields.fields.first?.data.count == 4 + 3 * 1024 * 1024)
            await #expect(throws: RPCError.self) {
                _ = try await Grpc_Health_V1_HealthClient(client).check(request("big"), options: CallOptions(maxResponseSize: 1024 * 1024))
            }
            let large = request(String(repeating: "r", count: 2 * 1024 * 1024))
            let response = try await client.unary(Self.check, request: large.wireBytes(), options: CallOptions())
            #expect(response.trailers["x-request-size"] == String(large.wireBytes().count))
        }
    }

    /// A reader that stops taking messages stops the server after about the stream's window
    /// (1 MiB: 32 of 400 messages of 32 KiB), instead of the client buffering all 12.5 MiB; the
    /// rest arrives once it reads again.
    @Test func aReaderThatStopsReadingStopsTheServer() async throws {
        try await withServer { client in
            let health = Grpc_Health_V1_HealthClient(client)
            var responses = try await health.watch(request("flood")).makeAsyncIterator()
            #expect(try await responses.next()?.unknownFields.fields.count == 1)
            // Time in which the server could send everything, were it let.
            try await Task.sleep(for: .seconds(1))
            let answer = try await client.unary(Self.check, request: request("sent").wireBytes(), options: CallOptions())
            let sent = Int(answer.trailers["x-sent"] ?? "") ?? -1
            #expect(sent >= 1 && sent <= 80, "the server sent \(sent) of 400 messages to a reader that took one")
            var received = 1
            while try await responses.next() != nil { received += 1 }
            #expect(received == 400)
        }
    }

    @Test func aServerStreamAndAStreamThatFailsPartWay() async throws {
        try await withServer { client in
            let health = Grpc_Health_V1_HealthClient(client)
            var statuses: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
            for try await response in try await health.watch(request("")) { statuses.append(response.status) }
            #expect(statuses == [.serving, .serving, .serving])
            var received = 0
            do {
                for try await _ in try await health.watch(request("fail-after")) { received += 1 }
                Issue.record("the stream ended without its error")
            } catch let error as RPCError {
                #expect(error == RPCError(.unavailable, "gone after three"))
            }
            #expect(received == 3)
        }
    }
}
