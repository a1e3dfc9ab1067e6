import Foundation
import SessionManager
import Testing
@testable import Recorder

@Suite struct FileNamingTests {
    let naming = FileNaming(roomName: "room/1", roomID: "RM_x", publisherIdentity: "alice", trackID: "TR_v",
                            trackType: "video", trackSource: "camera", now: Date(timeIntervalSince1970: 1_700_000_000))

    @Test func templatesAreFilledAndValuesCannotAddDirectories() {
        let name = naming.filename(for: "rec/{room_name}-{publisher_identity}-{track_source}-{utc}", defaultTemplate: "x", fileType: .mp4)
        #expect(name == "rec/room_1-alice-camera-20231114221320.mp4")
    }

    @Test func emptyPathsAndDirectoriesGetTheDefaultName() {
        #expect(naming.filename(for: "", defaultTemplate: "{room_name}-{track_id}", fileType: .ogg) == "room_1-TR_v.ogg")
        #expect(naming.filename(for: "dir/", defaultTemplate: "{track_type}", fileType: .webm) == "dir/video.webm")
    }

    /// `{time}` is local time as `2006-01-02T150405`; `{utc}` is UTC as `20060102150405`.
    @Test func timeIsLocalAndUTCIsUTC() throws {
        var kolkata = naming  // UTC+5:30: 22:13:20 UTC is 03:43:20 the next day
        kolkata.timeZone = try #require(TimeZone(identifier: "Asia/Kolkata"))
        #expect(kolkata.filename(for: "{time}/{utc}", defaultTemplate: "", fileType: .mp4) == "2023-11-15T034320/20231114221320.mp4")
        #expect(naming.timeZone == .current)
    }

    @Test func theExtensionFollowsTheContainer() {
        #expect(naming.filename(for: "a/b.mp4", defaultTemplate: "", fileType: .mp4) == "a/b.mp4")
        #expect(naming.filename(for: "a/b.mkv", defaultTemplate: "", fileType: .webm) == "a/b.webm")
        #expect(naming.filename(for: "a.b/c", defaultTemplate: "", fileType: .ogg) == "a.b/c.ogg")
    }
}
