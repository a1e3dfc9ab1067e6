import APIMessages
import Foundation
import HTTP
import JSON
import Logging
import NIOCore
import NIOPosix
import Protobuf
import Synchronization
import Testing
@testable import Webhooks

/// Delivery rules, against a real local HTTP server that answers a scripted status per request:
/// which answers are retried (429, 5xx, no connection) and which are not (other 4xx), how many
/// attempts before giving up, the backoff and its cap, and the signed token's lifetime.
@Suite struct WebhookRetryTests {
    /// Answers the statuses in `script` in turn (then 204), recording each request's event id,
    /// time and Authorization header.
    final class ScriptedReceiver: Sendable {
        struct Attempt { let id: String; let at: ContinuousClock.Instant; let authorization: String }
        private let state: Mutex<(script: [Int], attempts: [Attempt])>

        init(_ script: [Int]) { state = Mutex((script, [])) }

        var attempts: [Attempt] { state.withLock { $0.attempts } }

        func respond(_ request: HTTPRequest) async -> HTTPResponse {
            let json = try? JSONParser.parse(Array(request.body.readableBytesView))
            var id = "?"
            if case .string(let text)? = json?["id"] { id = text }
            let authorization = request.headers.first { $0.name == "authorization" }?.value ?? ""
            let status = state.withLock { state in
                state.attempts.append(Attempt(id: id, at: .now, authorization: authorization))
                return state.script.isEmpty ? 204 : state.script.removeFirst()
            }
            return HTTPResponse(status: status)
        }
    }

    func event(_ id: String) -> Livekit_WebhookEvent {
        var event = Livekit_WebhookEvent()
        event.event = "egress_updated"
        event.id = id
        return event
    }

    /// Runs `body` with an endpoint delivering to a receiver that answers `script` (or to a port
    /// where nothing listens, when `script` is nil).
    func withEndpoint(_ script: [Int]?, configure: (inout WebhookConfiguration) -> Void = { _ in },
                      _ body: (WebhookEndpoint, ScriptedReceiver) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let receiver = ScriptedReceiver(script ?? [])
        let server = try HTTPServer(configuration: HTTP2Configuration(), group: group, logger: Logger(label: "test"),
                                    application: HTTPApplication(streams: { _ in fatalError("HTTP/1.1 only") },
                                                                 responder: receiver.respond, bufferedPathPrefix: "/"))
        let address = try await server.bind(host: "127.0.0.1", port: 0)
        let port = address.port!
        if script == nil { await server.shutdownGracefully() }  // nothing listens there any more
        var configuration = WebhookConfiguration()
        configuration.initialBackoff = .milliseconds(50)
        configuration.maxBackoff = .milliseconds(100)
        configuration.retries = 3
        configure(&configuration)
        let endpoint = WebhookEndpoint(url: try #require(HTTPURL("http://127.0.0.1:\(port)/hook")),
                                       signer: WebhookSigner(apiKey: "k", secret: "a-secret-that-is-long-enough-for-hs256"),
                                       client: try HTTPClient(group: group), configuration: configuration, logger: Logger(label: "test"))
        try await body(endpoint, receiver)
        if script != nil { await server.shutdownGracefully() }
        try await group.shutdownGracefully()
    }

    func idle(_ endpoint: WebhookEndpoint) async throws {
        for _ in 0..<1000 where !endpoint.isIdle { try await Task.sleep(for: .milliseconds(10)) }
        #expect(endpoint.isIdle)
    }

    @Test func tooManyRequestsAndServerErrorsAreRetriedOtherClientErrorsAreNot() async throws {
        try await withEndpoint([429, 503, 204, 404, 400]) { endpoint, receiver in
            for id in ["EV_a", "EV_b", "EV_c", "EV_d"] { endpoint.enqueue(event(id)) }
            try await idle(endpoint)
            // EV_a: 429, 503, then delivered; EV_b: 404, given up at once; EV_c: 400 likewise; EV_d delivered.
            #expect(receiver.attempts.map(\.id) == ["EV_a", "EV_a", "EV_a", "EV_b", "EV_c", "EV_d"])
            #expect(endpoint.statistics == WebhookStatistics(delivered: 2, failed: 2, dropped: 0))
        }
    }

    @Test func anEventIsGivenUpAfterItsRetriesAndTheNextOneIsSent() async throws {
        try await withEndpoint([500, 500, 500, 500, 500]) { endpoint, receiver in
            endpoint.enqueue(event("EV_lost"))
            endpoint.enqueue(event("EV_next"))
            try await idle(endpoint)
            // One attempt and three retries for EV_lost; EV_next gets the fifth 500 and then a 204.
            #expect(receiver.attempts.map(\.id) == Array(repeating: "EV_lost", count: 4) + ["EV_next", "EV_next"])
            #expect(endpoint.statistics == WebhookStatistics(delivered: 1, failed: 1, dropped: 0))
        }
    }

    /// Waits of 50 ms, doubled, at most 100 ms: 50, 100, 100, 100, 100, 100. Uncapped, the last
    /// three would be 400 + 800 + 1,600 ms; capped they are 300 ms, so a loaded machine's delays
    /// (hundreds of milliseconds) cannot make the capped waits look uncapped.
    @Test func theBackoffDoublesUpToItsCap() async throws {
        try await withEndpoint(Array(repeating: 503, count: 6), configure: { $0.retries = 6 }) { endpoint, receiver in
            endpoint.enqueue(event("EV_slow"))
            try await idle(endpoint)
            let times = receiver.attempts.map(\.at)
            try #require(times.count == 7)
            let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
            for (gap, least) in zip(gaps, [50, 100, 100, 100, 100, 100]) {
                #expect(gap >= .milliseconds(least), "waited \(gap), at least \(least) ms")
            }
            let lastThree = gaps[3] + gaps[4] + gaps[5]
            #expect(lastThree < .milliseconds(1_500), "the cap: \(lastThree) for the last three waits")
        }
    }

    /// No connection is retried too: the attempts take the backoff's 50 + 100 + 100 ms at least.
    @Test func connectionErrorsAreRetried() async throws {
        try await withEndpoint(nil) { endpoint, _ in
            let started = ContinuousClock.now
            endpoint.enqueue(event("EV_nowhere"))
            try await idle(endpoint)
            #expect(ContinuousClock.now - started >= .milliseconds(250))
            #expect(endpoint.statistics == WebhookStatistics(delivered: 0, failed: 1, dropped: 0))
        }
    }

    /// The Authorization header is a JWT valid for five minutes from when it was signed.
    @Test func theTokenIsValidForFiveMinutes() async throws {
        try await withEndpoint([]) { endpoint, receiver in
            let before = Int(Date().timeIntervalSince1970)
            endpoint.enqueue(event("EV_token"))
            try await idle(endpoint)
            let token = try #require(receiver.attempts.first?.authorization)
            let parts = token.split(separator: ".")
            try #require(parts.count == 3)
            var payload = String(parts[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while payload.count % 4 != 0 { payload += "=" }
            let data = try #require(Data(base64Encoded: payload))
            let claims = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let exp = try #require(claims["exp"] as? Int)
            let nbf = try #require(claims["nbf"] as? Int)
            #expect(exp - nbf == 300)
            #expect((before - 1...before + 5).contains(nbf), "nbf \(nbf), now \(before)")
            #expect(claims["iss"] as? String == "k")
        }
    }
}
