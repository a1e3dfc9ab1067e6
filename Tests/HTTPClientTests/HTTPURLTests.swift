import HTTP
import Testing

@Suite struct HTTPURLTests {
    @Test func schemesPortsAndTargets() throws {
        let plain = try #require(HTTPURL("http://127.0.0.1:7880"))
        #expect(!plain.isTLS && plain.host == "127.0.0.1" && plain.port == 7880 && plain.target == "/")
        let secure = try #require(HTTPURL("https://hooks.example/egress?x=1"))
        #expect(secure.isTLS && secure.port == 443 && secure.target == "/egress?x=1")
        // LiveKit URLs are often ws(s)://: the API is on the same host and port.
        let websocket = try #require(HTTPURL("wss://my.livekit.cloud"))
        #expect(websocket.isTLS && websocket.host == "my.livekit.cloud" && websocket.port == 443)
        let v6 = try #require(HTTPURL("http://[::1]:8080/a"))
        #expect(v6.host == "::1" && v6.port == 8080 && v6.description == "http://[::1]:8080/a")
        #expect(HTTPURL("http://h/?q")?.target == "/?q")
        #expect(HTTPURL("HTTP://h")?.isTLS == false)
    }

    @Test(arguments: ["", "example.com", "ftp://h/x", "http://", "http://:80", "http://h:0", "http://h:99999", "http://h:x",
                      "http://user@h/", "http://[::1/"])
    func notHTTPURLs(_ text: String) {
        #expect(HTTPURL(text) == nil)
    }

    @Test func withPathKeepsTheEndpoint() throws {
        let url = try #require(HTTPURL("https://h:8443/base"))
        #expect(url.with(path: "/twirp/livekit.Egress/ListEgress").description == "https://h:8443/twirp/livekit.Egress/ListEgress")
    }
}
