import Testing
@testable import Protobuf

@Suite struct ProtoMessageTests {
    @Test func nestedRepeatedOneofAndMapFieldsSurviveARoundTrip() throws {
        var s3 = ProtoMessage("livekit.S3Upload")
        s3.set("bucket", "recordings")
        var entry = ProtoMessage(s3.descriptor.requireField("metadata").messageType)
        entry.set("key", "team")
        entry.set("value", "media")
        s3.set("metadata", [entry])
        var file = ProtoMessage("livekit.EncodedFileOutput")
        file.setEnum("file_type", "MP4")
        file.set("filepath", "rooms/{room_name}.mp4")
        file.set("s3", s3)
        var request = ProtoMessage("livekit.ParticipantEgressRequest")
        request.set("room_name", "lobby")
        request.set("identity", "alice")
        request.set("screen_share", true)
        request.setEnum("preset", "H264_1080P_30")
        request.set("file_outputs", [file, file])

        let decoded = try ProtoMessage(decoding: request.encoded(), as: request.descriptor)

        #expect(decoded == request)
        #expect(decoded.messages("file_outputs").count == 2)
        #expect(decoded.messages("file_outputs")[0].message("s3")?.string("bucket") == "recordings")
        #expect(decoded.enumName("preset") == "H264_1080P_30")
        #expect(decoded.oneofCase(containing: "advanced") == "preset")
    }

    @Test func settingAOneofMemberClearsTheOthers() {
        var request = ProtoMessage("livekit.ParticipantEgressRequest")
        request.setEnum("preset", "H264_720P_60")
        request.set("advanced", ProtoMessage("livekit.EncodingOptions"))
        #expect(!request.has("preset"))
        #expect(request.oneofCase(containing: "preset") == "advanced")
    }

    @Test func aOneofMemberSetToItsDefaultIsStillPresent() throws {
        var request = ProtoMessage("livekit.TrackEgressRequest")
        request.set("websocket_url", "")
        let decoded = try ProtoMessage(decoding: request.encoded(), as: request.descriptor)
        #expect(decoded.oneofCase(containing: "file") == "websocket_url")
        #expect(request.encoded() == [0x22, 0x00])
    }

    @Test func implicitFieldsAtTheirDefaultAreAbsent() {
        var options = ProtoMessage("livekit.EncodingOptions")
        options.set("width", Int32(0))
        options.set("height", Int32(720))
        #expect(!options.has("width"))
        #expect(options.int32("width") == 0)
        #expect(options.encoded() == [0x10, 0xD0, 0x05])
    }

    @Test func int64AndDoubleFieldsKeepTheirFullValues() throws {
        var info = ProtoMessage("livekit.EgressInfo")
        info.set("started_at", Int64(1_732_000_000_123_456_789))
        var options = ProtoMessage("livekit.EncodingOptions")
        options["key_frame_interval"] = .double(2.25)
        let decodedInfo = try ProtoMessage(decoding: info.encoded(), as: info.descriptor)
        let decodedOptions = try ProtoMessage(decoding: options.encoded(), as: options.descriptor)
        #expect(decodedInfo.int64("started_at") == 1_732_000_000_123_456_789)
        #expect(decodedOptions.double("key_frame_interval") == 2.25)
    }

    @Test func truncatedBytesAreRejectedWithTheTypeName() {
        // Field 1 (string) claims 10 bytes, only 2 follow.
        #expect(throws: ProtoError("the bytes are not a valid livekit.StopEgressRequest message")) {
            try ProtoMessage(decoding: [0x0A, 0x0A, 0x41, 0x42], as: ProtoMessage("livekit.StopEgressRequest").descriptor)
        }
    }

    @Test func invalidUTF8InAStringFieldIsRejectedNamingTheField() {
        #expect(throws: ProtoError("livekit.StopEgressRequest.egress_id is not valid UTF-8")) {
            try ProtoMessage(decoding: [0x0A, 0x02, 0xC3, 0x28], as: ProtoMessage("livekit.StopEgressRequest").descriptor)
        }
    }

    @Test func unknownFieldsAreSkipped() throws {
        // Field 99 (varint 1) then egress_id = "E".
        let bytes: [UInt8] = [0x98, 0x06, 0x01, 0x0A, 0x01, 0x45]
        let decoded = try ProtoMessage(decoding: bytes, as: ProtoMessage("livekit.StopEgressRequest").descriptor)
        #expect(decoded.string("egress_id") == "E")
    }
}
