import Testing
import Foundation
@testable import ConfigFile

@Suite struct ConfigReaderTests {
    let yaml = """
        api_key: key1
        health_port: 8080
        cpu_cost:
          max_cpu_utilization: .8
          participant_cpu_cost: 0.3
        webhook:
          urls:
            - http://127.0.0.1:9/a
            - http://127.0.0.1:9/b
        keys:
          k1: s1
          k2: "s2"
        session_limits:
          file_output_max_duration: 1h30m
        log_level: ~
        """

    @Test func valuesAreReadByDottedKeyWithTheirLines() throws {
        let reader = ConfigReader(try ConfigDocument(text: yaml, source: "egress.yaml"))
        #expect(try reader.value("health_port")?.decode(Int.self) == 8080)
        #expect(try reader.value("health_port")?.line == 2)
        #expect(try reader.value("cpu_cost.max_cpu_utilization")?.decode(Double.self) == 0.8)
        #expect(try reader.value("webhook.urls")?.texts() == ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"])
        let pairs = try #require(try reader.value("keys")?.pairs())
        #expect(pairs.map(\.key) == ["k1", "k2"] && pairs.map(\.value) == ["s1", "s2"])
        #expect(try reader.value("session_limits.file_output_max_duration")?.seconds() == 5400)
        #expect(try reader.value("log_level") == nil)  // null: not set
        #expect(try reader.value("prometheus_port") == nil)
    }

    @Test func everyKeyNeverAskedForIsReportedWithItsLineAndTheLikelyKey() throws {
        let text = yaml.replacingOccurrences(of: "  participant_cpu_cost: 0.3", with: "  participant_cpu_cost: 0.3\n  track_cpu_cots: 1") + "\nheath_port: 1\n"
        let reader = ConfigReader(try ConfigDocument(text: text, source: "egress.yaml"))
        for key in ["api_key", "health_port", "cpu_cost.max_cpu_utilization", "cpu_cost.participant_cpu_cost", "cpu_cost.track_cpu_cost",
                    "webhook.urls", "keys", "session_limits.file_output_max_duration", "log_level"] {
            _ = try reader.value(key)
        }
        let error = try #require(reader.unknownKeys())
        #expect(error.description == "the config file egress.yaml has unknown keys: line 6: \"cpu_cost.track_cpu_cots\" (did you mean "
            + "\"track_cpu_cost\"?); line 17: \"heath_port\" (did you mean \"health_port\"?)")
    }

    @Test func misspeltNestedKeyIsNamedWithItsPath() throws {
        let reader = ConfigReader(try ConfigDocument(text: "cpu_cost:\n  max_cpu_utilisation: 0.5\n", source: "c.yaml"))
        _ = try reader.value("cpu_cost.max_cpu_utilization")
        _ = try reader.value("cpu_cost.track_cpu_cost")
        let error = try #require(reader.unknownKeys())
        #expect(error.description == "the config file c.yaml has an unknown key at line 2: \"cpu_cost.max_cpu_utilisation\" (did you mean \"max_cpu_utilization\"?)")
    }

    @Test func aKeyFarFromEveryKnownOneListsTheKeysThere() throws {
        let reader = ConfigReader(try ConfigDocument(text: "storage:\n  azure:\n    account_name: x\n", source: "c.yaml"))
        _ = try reader.value("storage.s3.bucket")
        let error = try #require(reader.unknownKeys())
        #expect(error.description.hasSuffix("line 2: \"storage.azure\" (the keys here are s3)"), "\(error)")
    }

    @Test func aFileWhoseKeysWereAllAskedForHasNoUnknownKeys() throws {
        let reader = ConfigReader(try ConfigDocument(text: "a:\n  b: 1\nc: [1, 2]\n", source: "c.yaml"))
        _ = try reader.value("a.b")
        _ = try reader.value("c")
        #expect(reader.unknownKeys() == nil)
    }

    @Test func aValueOfTheWrongShapeIsAnErrorNamingKeyAndLine() throws {
        let reader = ConfigReader(try ConfigDocument(text: "health_port:\n  - 1\ncpu_cost: 3\nport: seven\n", source: "c.yaml"))
        #expect(throws: ConfigError.self) { try reader.value("health_port")?.decode(Int.self) }
        do {
            _ = try reader.value("health_port")?.decode(Int.self)
        } catch {
            #expect(error.description == "the config file c.yaml, line 1: health_port is a list, not a single value")
        }
        do {
            _ = try reader.value("cpu_cost.track_cpu_cost")
            Issue.record("a value under a scalar was read")
        } catch {
            #expect(error.description == "the config file c.yaml, line 3: cpu_cost is a value, not keys (it holds track_cpu_cost)")
        }
        do {
            _ = try reader.value("port")?.decode(Int.self)
            Issue.record("seven was read as a port")
        } catch {
            #expect(error.description == "the config file c.yaml, line 4: port \"seven\" is not a valid value")
        }
    }

    @Test(arguments: ["", "# only a comment\n"]) func anEmptyFileSetsNothing(text: String) throws {
        let reader = ConfigReader(try ConfigDocument(text: text, source: "c.yaml"))
        #expect(try reader.value("port") == nil)
        #expect(reader.unknownKeys() == nil)
    }

    @Test(arguments: [
        ("- a\n- b\n", "is not a mapping of keys to values"),
        ("a: [1, 2\n", "is not valid YAML"),
        ("a: 1\na: 2\n", "is not valid YAML"),
        ("a: *nowhere\n", "is not valid YAML"),
        ("? [1, 2]\n: x\n", "has a key that is not text"),
    ]) func malformedDocumentsAreRefused(text: String, problem: String) {
        #expect {
            _ = try ConfigDocument(text: text, source: "c.yaml")
        } throws: { error in
            String(describing: error).contains(problem)
        }
    }

    @Test func aliasExpansionIsBounded() {
        // Each level doubles the values: 2^20 if expanded.
        var text = "l0: &l0 [x, x]\n"
        for level in 1...20 { text += "l\(level): &l\(level) [*l\(level - 1), *l\(level - 1)]\n" }
        #expect {
            _ = try ConfigDocument(text: text, source: "c.yaml")
        } throws: { error in
            String(describing: error).contains("more than 10000 values")
        }
    }

    @Test func oversizedAndDeepDocumentsAreRefused() {
        #expect(throws: ConfigError.self) { try ConfigDocument(text: String(repeating: "#", count: ConfigDocument.maxBytes + 1), source: "c") }
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        #expect { _ = try ConfigDocument(text: "a: \(deep)\n", source: "c") } throws: { String(describing: $0).contains("nests deeper") }
    }

    @Test(arguments: [("90", 90.0), ("0.5", 0.5), ("1h30m", 5400), ("45s", 45), ("500ms", 0.5), ("1.5m", 90), ("2h0m10s", 7210)])
    func durationsAreSecondsOrGoDurations(text: String, seconds: Double) throws {
        let reader = ConfigReader(try ConfigDocument(text: "d: \(text)\n", source: "c"))
        #expect(try reader.value("d")?.seconds() == seconds)
    }

    @Test(arguments: ["1x", "h", "1h-", "inf", "nan", "1e400", "--1s", String(repeating: "1s", count: 40)])
    func otherDurationTextIsRefused(text: String) throws {
        let reader = ConfigReader(try ConfigDocument(text: "d: \"\(text)\"\n", source: "c"))
        #expect(throws: ConfigError.self) { try reader.value("d")?.seconds() }
    }

    @Test func editDistanceCountsEdits() {
        #expect(editDistance("heath_port", "health_port", limit: 2) == 1)
        #expect(editDistance("", "ab", limit: 2) == 2)
        #expect(editDistance("abc", "", limit: 5) == 3)
        #expect(editDistance("abcdef", "uvwxyz", limit: 2) == 3)
    }
}
