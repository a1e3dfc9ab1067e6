import Testing
import Redis

/// `redis://` URLs as operators write them, and what a hostile or mistyped one gets.
@Suite struct RedisEndpointTests {
    @Test(arguments: [
        ("redis://127.0.0.1", RedisEndpoint(host: "127.0.0.1")),
        ("redis://redis.internal:6380/2", RedisEndpoint(host: "redis.internal", port: 6380, database: 2)),
        ("redis://:s3cret@10.0.0.5:7000", RedisEndpoint(host: "10.0.0.5", port: 7000, password: "s3cret")),
        ("redis://egress:p%40ss%3Aword@h/1", RedisEndpoint(host: "h", database: 1, username: "egress", password: "p@ss:word")),
        ("redis://token@h", RedisEndpoint(host: "h", password: "token")),
        ("redis://[::1]:6390/0", RedisEndpoint(host: "::1", port: 6390)),
    ])
    func urlsAreRead(url: String, expected: RedisEndpoint) throws {
        #expect(try RedisEndpoint(url: url) == expected)
    }

    @Test(arguments: [
        ("http://h", "is not a redis:// URL"),
        ("rediss://h", "TLS"),
        ("redis://", "names no host"),
        ("redis://h:0", "port \"0\" is not from 1 to 65535"),
        ("redis://h:99999999999999999999999", "is not from 1 to 65535"),
        ("redis://h:-1", "is not from 1 to 65535"),
        ("redis://h/-1", "database \"-1\""),
        ("redis://h/x", "database \"x\""),
        ("redis://:%zz@h", "bad %-escape"),
        ("redis://:%ff@h", "is not UTF-8"),
        ("redis://h o st", "is not a host name"),
        ("redis://[::1", "no closing ]"),
        ("redis://" + String(repeating: "a", count: 3000), "longer than 2048"),
        ("redis://hóst", "is not a host name"),
    ])
    func badURLsAreRefusedNamingWhatIsWrong(url: String, expected: String) {
        #expect {
            _ = try RedisEndpoint(url: url)
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test func theDescriptionNeverShowsThePassword() throws {
        let endpoint = try RedisEndpoint(url: "redis://u:hunter2@h:1/3")
        #expect("\(endpoint)" == "redis://u:***@h:1/3")
        #expect(!"\(String(describing: try? RedisEndpoint(url: "ftp://u:hunter2@h")))".contains("hunter2"))
        for url in ["ftp://u:hunter2@h", "u:hunter2@h", "redis://:hun/ter2@h/x", "redis://:hunter2@h/x", "redis://:hunter2@h:0"] {
            #expect {
                _ = try RedisEndpoint(url: url)
            } throws: { error in
                !"\(error)".contains("hunter2") && !"\(error)".contains("ter2")
            }
        }
    }
}
