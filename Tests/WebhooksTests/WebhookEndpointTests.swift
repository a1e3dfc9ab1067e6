import APIMessages
import HTTP
import JSON
import Logging
import NIOCore
import NIOPosix
import Protobuf
import SessionManager
import Synchronization
import Testing
@testable import Webhooks

/// One endpoint's queue against a real local HTTP server that holds its first request until
/// told to answer: what overflows is dropped oldest first, counted, and reported in the next
/// event's `numDropped`; order is kept.
@Suite struct WebhookEndpointTests {
    /// A webhook receiver on 127.0.0.1 that records each event's `id` and `numDropped`, and
    /// answers nothing until `release()`.
    final class Receiver: Sendable {
        private let state = Mutex<(events: [(id: String, dropped: String?)], isReleased: Bool, waiting: [CheckedContinuation<Void, Never>])>(([], false, []))

        var events: [(id: String, dropped: String?)] { state.withLock { $0.events } }
        var requestsSeen: Int { state.withLock { $0.events.count } }

        func respond(_ request: HTTPRequest) async -> HTTPResponse {
            let json = try? JSONParser.parse(Array(request.body.readableBytesView))
            func text(_ value: JSONValue?) -> String? {
                switch value {
                case .string(let s)?, .number(let s)?: s
                default: nil
                }
            }
            state.withLock { $0.events.append((text(json?["id"]) ?? "?", text(json?["numDropped"]))) }
            await withCheckedContinuation { continuation in
                let resume = state.withLock { state in
                    if state.isReleased { return true }
                    state.waiting.append(continuation)
                    return false
                }
                if resume { continuation.resume() }
            }
            return HTTPResponse(status: 204)
        }

        func release() {
            for waiter in state.withLock({ state in defer { state.waiting = [] }; state.isReleased = true; return state.waiting }) {
                waiter.resume()
            }
        }
    }

    func event(_ id: String) -> Livekit_WebhookEvent {
        var event = Livekit_WebhookEvent()
        event.event = "egress_updated"
        event.id = id
        return event
    }

    func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition())
    }

    @Test func aFullQueueDropsTheOldestAndReportsHowMany() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let receiver = Receiver()
        let server = try HTTPServer(configuration: HTTP2Configuration(), group: group, logger: Logger(label: "test"),
                                    application: HTTPApplication(streams: { _ in fatalError("HTTP/1.1 only") },
                                                                 responder: receiver.respond, bufferedPathPrefix: "/"))
        let address = try await server.bind(host: "127.0.0.1", port: 0)
        var configuration = WebhookConfiguration()
        configuration.queueLimit = 2
        let endpoint = WebhookEndpoint(url: try #require(HTTPURL("http://127.0.0.1:\(address.port!)/hook")),
                                       signer: WebhookSigner(apiKey: "k", secret: "a-secret-that-is-long-enough-for-hs256"),
                                       client: try HTTPClient(group: group), configuration: configuration, logger: Logger(label: "test"))

        endpoint.enqueue(event("EV_1"))
        try await eventually { receiver.requestsSeen == 1 }  // EV_1 is in flight, held by the receiver
        for id in ["EV_2", "EV_3", "EV_4", "EV_5"] { endpoint.enqueue(event(id)) }  // EV_2 and EV_3 overflow
        #expect(endpoint.statistics.dropped == 2)
        #expect(!endpoint.isIdle)

        receiver.release()
        try await eventually { endpoint.isIdle }
        #expect(receiver.events.map(\.id) == ["EV_1", "EV_4", "EV_5"])
        #expect(receiver.events.map(\.dropped) == [nil, "2", nil])
        #expect(endpoint.statistics == WebhookStatistics(delivered: 3, failed: 0, dropped: 2))

        await server.shutdownGracefully()
        try await group.shutdownGracefully()
    }

    @Test(arguments: [
        ([], [], "egress_started", true),
        (["egress_ended"], [], "egress_started", false),
        (["egress_ended"], [], "egress_ended", true),
        ([], ["egress_updated"], "egress_updated", false),
        ([], ["egress_updated"], "egress_ended", true),
        (["egress_updated"], ["egress_updated"], "egress_updated", false),
    ])
    func aRequestsFilterParamsChooseItsEvents(include: [String], exclude: [String], event: String, sent: Bool) {
        let webhook = RequestWebhook(url: "http://127.0.0.1:1/h", includeEvents: include, excludeEvents: exclude)
        #expect(webhook.allows(event) == sent)
    }
}
