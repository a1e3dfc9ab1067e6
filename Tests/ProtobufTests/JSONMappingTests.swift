import Foundation
import APIMessages
import JSON
@testable import Protobuf
import Testing

/// The JSON mapping against protobuf's own (Python's json_format over LiveKit's classes): what
/// this side writes equals what it writes, and what it writes reads back to the same message.
@Suite struct JSONMappingTests {
    @Test func jsonMatchesProtobufsMappingForEveryLiveKitFixture() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lk-json-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try #require(LiveKitFixtures.run(["make", dir.path]).status == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".bin") }
        #expect(files.count > 90)
        for file in files {
            let stem = String(file.dropLast(4))
            let type = try #require(DescriptorRegistry.shared.message(named: String(stem.split(separator: ".", maxSplits: 1)[1])))
            let message = try ProtoMessage(decoding: [UInt8](Data(contentsOf: dir.appendingPathComponent(file))), as: type)
            for (suffix, options) in [("twirp", JSONEncodingOptions.twirp), ("webhook", JSONEncodingOptions.webhook)] {
                let theirs = try JSONParser.parse([UInt8](Data(contentsOf: dir.appendingPathComponent("\(stem).\(suffix).json"))))
                let ours = message.json(options)
                #expect(Normalized(ours) == Normalized(theirs), "\(stem) \(suffix):\nours   \(ours.text)\ntheirs \(theirs.text)")
                // Read back, it is the same message (compared through JSON: map entries have no order).
                let back = try ProtoMessage(json: theirs, as: type)
                #expect(Normalized(back.json(.twirp)) == Normalized(message.json(.twirp)),
                        "\(stem) \(suffix) does not read back: \(back.json(.webhook).text)")
            }
        }
    }

    @Test func readsWhatLiveKitsNodeSDKSends() throws {
        let text = """
        {"roomName":"my-room","identity":"alice","preset":"H264_1080P_30","fileOutputs":[{"fileType":1,"filepath":"a.mp4"}],
         "unknownField":{"x":[1,2]},"screenShare":true}
        """
        let request = try ProtoMessage(jsonText: Array(text.utf8), as: #require(DescriptorRegistry.shared.message(named: "livekit.ParticipantEgressRequest")))
        #expect(request.string("room_name") == "my-room" && request.bool("screen_share"))
        #expect(request.enumName("preset") == "H264_1080P_30")
        #expect(request.messages("file_outputs").first?.enumName("file_type") == "MP4")
    }

    @Test func sixtyFourBitIntegersAreStringsOutAndEitherIn() throws {
        var info = ProtoMessage("livekit.EgressInfo")
        info.set("started_at", Int64(1_700_000_000_123_456_789))
        #expect(info.json(.webhook) == .object([("startedAt", .string("1700000000123456789"))]))
        let type = try #require(DescriptorRegistry.shared.message(named: "livekit.EgressInfo"))
        #expect(try ProtoMessage(jsonText: Array(#"{"started_at":1700000000123456789}"#.utf8), as: type) == info)
        #expect(try ProtoMessage(jsonText: Array(#"{"startedAt":"1700000000123456789"}"#.utf8), as: type) == info)
    }

    @Test func aValueOfTheWrongKindNamesTheField() throws {
        let type = try #require(DescriptorRegistry.shared.message(named: "livekit.StopEgressRequest"))
        #expect(throws: JSONError("livekit.StopEgressRequest.egress_id must be a string")) {
            try ProtoMessage(jsonText: Array(#"{"egress_id": 12}"#.utf8), as: type)
        }
        #expect(throws: JSONError("invalid JSON at byte 14: unexpected end")) {
            try ProtoMessage(jsonText: Array(#"{"egress_id": "#.utf8), as: type)
        }
    }
}

/// JSON compared as protobuf means it: members in any order, numbers by value, and an absent
/// member the same as `null` (Go's mapping writes `null` for an unset message, Python's leaves it out).
private struct Normalized: Equatable {
    let value: JSONValue
    init(_ value: JSONValue) { self.value = value }

    static func == (lhs: Normalized, rhs: Normalized) -> Bool { same(lhs.value, rhs.value) }

    private static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): Double(x) == Double(y)
        case (.array(let x), .array(let y)): x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)):
            Set(x.map(\.0) + y.map(\.0)).allSatisfy { key in same(x.first { $0.0 == key }?.1 ?? .null, y.first { $0.0 == key }?.1 ?? .null) }
        default: a == b
        }
    }
}

/// Numbers as the JSON mapping reads them, for the generated and the dynamic mapping alike.
@Suite struct JSONNumberTests {
    /// Numbers as JSON writes them, not as Swift's parsers would take them: no hex, no `nan` or
    /// `inf` spelt Swift's way, nothing that overflows into infinity, and a plain integer out of
    /// range is refused rather than rounded into range.
    @Test func numbersFollowJSONsGrammar() throws {
        func options(_ text: String) throws -> Livekit_EncodingOptions {
            try Livekit_EncodingOptions(jsonText: Array(text.utf8))
        }
        #expect(try options(#"{"width": 1e3, "height": "720.0", "keyFrameInterval": "NaN"}"#).width == 1000)
        #expect(try options(#"{"key_frame_interval": 2.5}"#).keyFrameInterval == 2.5)
        for bad in [#"{"width": "0x10"}"#, #"{"width": "0x1p5"}"#, #"{"keyFrameInterval": "nan"}"#, #"{"keyFrameInterval": "inf"}"#,
                    #"{"keyFrameInterval": 1e400}"#, #"{"width": 2147483648}"#, #"{"width": 1.5}"#] {
            #expect(throws: JSONError.self, "\(bad)", performing: { try options(bad) })
        }
        #expect(throws: JSONError("livekit.EgressInfo.started_at must be an integer in range, not -9223372036854775809")) {
            try Livekit_EgressInfo(jsonText: Array(#"{"startedAt": "-9223372036854775809"}"#.utf8))
        }
        #expect(try Livekit_EgressInfo(jsonText: Array(#"{"startedAt": "-9223372036854775808"}"#.utf8)).startedAt == .min)
    }
}
