import APIMessages
import Foundation
import JSON
import Testing
@testable import Protobuf

/// The generated Swift types read and write exactly what the descriptor-driven `ProtoMessage`
/// does, field for field, for every message type of Protos/: each is filled with a distinct
/// value in every field (every member of each oneof in turn), and must decode to the same
/// value and encode to the same bytes. Unknown fields and enum numbers survive a round trip.
@Suite struct TypedMessageTests {
    /// A message with every field set to a value that depends on its number, `variant` choosing
    /// which member of each oneof is set; nested messages to `depth`.
    static func filled(_ type: MessageDescriptor, variant: Int, depth: Int = 2) -> ProtoMessage {
        var message = ProtoMessage(type)
        for field in type.fields {
            if field.isOneofMember {
                let members = type.fields.filter { $0.oneofKey == field.oneofKey }
                guard members[variant % members.count].index == field.index else { continue }
            }
            guard let value = value(for: field, depth: depth) else { continue }
            // A map (repeated key/value entries) gets one entry: two with one key would be one.
            let isMap = field.type == .message && field.messageType.fullName.hasSuffix("Entry")
            message.set(field, field.label == .repeated ? .list(isMap ? [value] : [value, value]) : value)
        }
        return message
    }

    static func value(for field: FieldDescriptor, depth: Int) -> ProtoValue? {
        let n = field.number
        switch field.type {
        case .int32, .sint32, .sfixed32: return .int32(-Int32(n) - 1000)
        case .int64, .sint64, .sfixed64: return .int64(-Int64(n) * 1_000_000_007)
        case .uint32, .fixed32: return .uint32(n + 7)
        case .uint64, .fixed64: return .uint64(UInt64(n) << 40 | 3)
        case .float: return .float(Float(n) + 0.5)
        case .double: return .double(Double(n) + 0.25)
        case .bool: return .bool(true)
        case .enum: return .enumValue(field.enumType.values.last?.number ?? 1)
        case .string: return .string("\(field.name) ✓ \(n)")
        case .bytes: return .bytes([0, 255, UInt8(n % 256)])
        case .message:
            guard depth > 0 else { return nil }
            return .message(filled(field.messageType, variant: Int(n), depth: depth - 1))
        }
    }

    @Test func everyGeneratedTypeReadsAndWritesWhatTheDescriptorSays() throws {
        // Every message type of Protos/ has its Swift type (map entries are Swift dictionaries).
        let declared = FileDescriptorSet.shared.files.flatMap(\.symbols).filter { name in
            guard let type = DescriptorRegistry.shared.message(named: name) else { return false }
            return !(name.hasSuffix("Entry") && type.fields.map(\.number) == [1, 2])
        }
        #expect(Set(GeneratedMessages.all.map { $0.descriptor.fullName }) == Set(declared))
        #expect(GeneratedMessages.all.count == declared.count)
        for type in GeneratedMessages.all {
            try check(type)
        }
    }

    func check<M: WireMessage>(_ type: M.Type) throws {
        let oneofSizes = M.descriptor.oneofs.map(\.count)
        for variant in 0..<max(1, oneofSizes.max() ?? 1) {
            let dynamic = Self.filled(M.descriptor, variant: variant)
            let bytes = dynamic.encoded()
            let typed = try M(wireBytes: bytes)
            #expect(typed.wireBytes() == bytes, "\(M.descriptor.fullName) variant \(variant): other bytes")
            #expect(typed.dynamic == dynamic, "\(M.descriptor.fullName) variant \(variant): another value")
            #expect(try M(dynamic) == typed)
        }
        #expect(M().wireBytes().isEmpty, "\(M.descriptor.fullName): an empty value encodes to nothing")
    }

    /// The JSON mapping generated per type writes the text the descriptor-driven one writes, in
    /// every combination of options, and reads back what it wrote; it reads what the dynamic
    /// one reads, and refuses what it refuses with the same words (every field given a value of
    /// every kind).
    @Test func generatedJSONMappingIsTheDynamicOneForEveryType() throws {
        for type in GeneratedMessages.all {
            try checkJSON(type)
        }
    }

    func checkJSON<M: WireMessage>(_ type: M.Type) throws {
        let name = M.descriptor.fullName
        let options = [true, false].flatMap { names in [true, false].map { JSONEncodingOptions(useProtoNames: names, emitDefaults: $0) } }
        let oneofSizes = M.descriptor.oneofs.map(\.count)
        var values = [M()]
        for variant in 0..<max(1, oneofSizes.max() ?? 1) {
            values.append(try M(Self.filled(M.descriptor, variant: variant)))
        }
        for value in values {
            for option in options {
                let json = value.json(option)
                #expect(json.text == value.dynamic.json(option).text, "\(name): other JSON text")
                #expect(try M(json: json, path: name) == value, "\(name): does not read back")
            }
        }
        let kinds: [JSONValue] = [
            .null, .bool(true), .bool(false), .number("7"), .number("-1.5"), .number("1e30"), .number("99999999999999999999"),
            .string("x"), .string("7"), .string("true"), .string("AAEC"), .string("NaN"), .string("a\u{0}b"),
            .array([]), .array([.number("3")]), .array([.string("y")]), .array([.null]), .object([]),
            .object([("true", .number("1")), ("12", .string("z"))]),
        ]
        for field in M.descriptor.fields {
            for key in Set([field.name, field.jsonName]) {
                for kind in kinds {
                    let json = JSONValue.object([(key, kind)])
                    let dynamic = Result<M, any Error> { try M(ProtoMessage(json: json, as: M.descriptor)) }
                    let typed = Result<M, any Error> { try M(json: json, path: name) }
                    switch (dynamic, typed) {
                    case (.success(let a), .success(let b)):
                        #expect(a.wireBytes() == b.wireBytes(), "\(name).\(key) = \(json.text): another value")  // NaN is not == NaN
                    case (.failure(let a), .failure(let b)):
                        #expect("\(a)" == "\(b)", "\(name).\(key) = \(json.text): \(a) / \(b)")
                    default:
                        Issue.record("\(name).\(key) = \(json.text): \(dynamic) / \(typed)")
                    }
                }
            }
        }
        #expect(throws: JSONError("\(name) must be a JSON object")) { try M(json: .array([]), path: name) }
    }

    @Test func fieldsAndOneofsAreTyped() throws {
        var request = Livekit_StartEgressRequest()
        request.roomName = "stage"
        request.media = Livekit_MediaSource()
        request.preset = .h264720p30
        var output = Livekit_Output()
        output.file = Livekit_FileOutput()
        request.outputs = [output]
        let decoded = try Livekit_StartEgressRequest(wireBytes: request.wireBytes())
        #expect(decoded == request)
        guard case .media? = decoded.source, case .preset(.h264720p30)? = decoded.encoding else {
            Issue.record("the oneofs did not come back: \(decoded)")
            return
        }
        #expect(decoded.dynamic.string("room_name") == "stage")
        #expect(decoded.dynamic.enumName("preset") == "H264_720P_30")
    }

    /// A newer client's fields (numbers this version does not declare) and enum values go out
    /// again as they came.
    @Test func unknownFieldsAndEnumNumbersSurviveARoundTrip() throws {
        var known = Livekit_ListEgressRequest()
        known.roomName = "r"
        let unknown: [UInt8] = [0xC0, 0x3E, 0x2A,  // field 1000, varint 42
                                0xCA, 0x3E, 0x03, 0x61, 0x62, 0x63]  // field 1001, "abc"
        let bytes = known.wireBytes() + unknown
        let decoded = try Livekit_ListEgressRequest(wireBytes: bytes)
        #expect(decoded.roomName == "r")
        #expect(decoded.unknownFields.fields.map(\.number) == [1000, 1001])
        #expect(decoded.wireBytes() == bytes)

        var info = Livekit_EgressInfo()
        info.status = .init(rawValue: 99)
        #expect(info.status == .unrecognized(99))
        #expect(try Livekit_EgressInfo(wireBytes: info.wireBytes()).status.rawValue == 99)
    }

    @Test func aStringThatIsNotUTF8OrHoldsNULIsRefused() {
        // ListEgressRequest.room_name (field 1): "a\0b", then 0xFF.
        #expect(throws: ProtoError("livekit.ListEgressRequest.room_name contains a NUL byte", isInvalidValue: true)) {
            try Livekit_ListEgressRequest(wireBytes: [0x0A, 0x03, 0x61, 0x00, 0x62])
        }
        #expect(throws: ProtoError("livekit.ListEgressRequest.room_name is not valid UTF-8")) {
            try Livekit_ListEgressRequest(wireBytes: [0x0A, 0x01, 0xFF])
        }
    }
}

/// The generated types against LiveKit's own classes (livekit-protocol): every message of the
/// Egress API, and LiveKit's whole Room, ParticipantInfo and TrackInfo, of which Protos/
/// declares only some fields, decode here and go back out equal, field for field, the fields
/// this side does not declare included.
@Suite struct TypedLiveKitWireTests {
    @Test func generatedTypesRoundTripLiveKitsMessagesKeepingTheFieldsTheyLack() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lk-typed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try #require(LiveKitFixtures.run(["make", dir.path, "--with-unknown"]).status == 0)

        let types = Dictionary(uniqueKeysWithValues: GeneratedMessages.all.map { ($0.descriptor.fullName, $0) })
        var withUnknownFields: Set<String> = []
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".bin") }
        #expect(files.count > 90)
        for file in files {
            let typeName = String(file.split(separator: ".", maxSplits: 1)[1].dropLast(4))
            let type = try #require(types[typeName], "\(typeName) has no generated type")
            let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent(file)))
            let (out, unknown) = try Self.roundTrip(type, bytes)
            if unknown > 0 { withUnknownFields.insert(typeName) }
            try Data(out).write(to: dir.appendingPathComponent(String(file.dropLast(4)) + ".out"))
        }
        // Declared in part by Protos/ (CreateRoomRequest without `agents`): their other fields are kept as unknown.
        #expect(withUnknownFields == ["livekit.ParticipantInfo", "livekit.Room", "livekit.TrackInfo", "livekit.CreateRoomRequest"])
        let verify = try LiveKitFixtures.run(["verify", dir.path])
        #expect(verify.status == 0, "\(verify.output)")
    }

    /// The services that are not LiveKit's (RoomIngest, the nodes' Node, health, reflection), against Python
    /// protobuf's classes compiled from Protos/: every message type, every field set.
    @Test func generatedTypesRoundTripPythonsMessagesOfTheOtherServices() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("py-typed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try LiveKitFixtures.run(["make", dir.path, "--ours"])
        try #require(made.status == 0, "\(made.output)")

        let types = Dictionary(uniqueKeysWithValues: GeneratedMessages.all.map { ($0.descriptor.fullName, $0) })
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".bin") }
        let covered = Set(files.map { String($0.split(separator: ".", maxSplits: 1)[1].dropLast(4)) })
        let expected = Set(types.keys.filter { $0.hasPrefix("egress.ingest.") || $0.hasPrefix("egress.cluster.") || $0.hasPrefix("grpc.") })
        #expect(covered == expected.filter { !$0.hasSuffix("Entry") }, "every message type of those services has fixtures")
        for file in files {
            let typeName = String(file.split(separator: ".", maxSplits: 1)[1].dropLast(4))
            let type = try #require(types[typeName], "\(typeName) has no generated type")
            let (out, unknown) = try Self.roundTrip(type, try [UInt8](Data(contentsOf: dir.appendingPathComponent(file))))
            #expect(unknown == 0, "\(typeName) declares every field Python sets")
            try Data(out).write(to: dir.appendingPathComponent(String(file.dropLast(4)) + ".out"))
        }
        let verify = try LiveKitFixtures.run(["verify", dir.path, "--ours"])
        #expect(verify.status == 0, "\(verify.output)")
    }

    static func roundTrip<M: WireMessage>(_ type: M.Type, _ bytes: [UInt8]) throws -> (bytes: [UInt8], unknownFields: Int) {
        let message = try M(wireBytes: bytes)
        return (message.wireBytes(), message.unknownFields.fields.count)
    }
}
