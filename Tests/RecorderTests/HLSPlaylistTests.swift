import Testing
@testable import Recorder

/// The playlists' text (RFC 8216): what a player reads while the recording goes on and after.
@Suite struct HLSPlaylistTests {
    func playlist(_ durations: [Double]) -> HLSPlaylist {
        var playlist = HLSPlaylist(segmentDuration: 4)
        for (i, duration) in durations.enumerated() {
            playlist.segments.append(.init(uri: "s_\(i).ts", duration: duration, startedAt: Int64(i) * 4_000_000_000))
        }
        return playlist
    }

    @Test func anEventPlaylistWhileRecordingAndEndedAfter() {
        var full = playlist([4, 4.02])
        #expect(full.text == """
            #EXTM3U
            #EXT-X-VERSION:3
            #EXT-X-TARGETDURATION:5
            #EXT-X-MEDIA-SEQUENCE:0
            #EXT-X-PLAYLIST-TYPE:EVENT
            #EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:00.000Z
            #EXTINF:4.000,
            s_0.ts
            #EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:04.000Z
            #EXTINF:4.020,
            s_1.ts

            """)
        full.ended = true
        #expect(full.text.hasSuffix("s_1.ts\n#EXT-X-ENDLIST\n"))
    }

    @Test func fragmentedMP4PlaylistsNameTheirInitSegmentAtVersion7() {
        var full = playlist([4])
        full.mapURI = "s_init.mp4"
        #expect(full.text.hasPrefix("#EXTM3U\n#EXT-X-VERSION:7\n"))
        #expect(full.text.contains("#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MAP:URI=\"s_init.mp4\"\n#EXT-X-PROGRAM-DATE-TIME"))
        #expect(HLSPlaylist.live(of: full, keeping: 5).text.contains("#EXT-X-MAP:URI=\"s_init.mp4\"\n"))
    }

    @Test func theLivePlaylistSlides() {
        let full = playlist([4, 4, 4, 4, 4, 4, 4])
        let live = HLSPlaylist.live(of: full, keeping: 5)
        #expect(live.segments.map(\.uri) == ["s_2.ts", "s_3.ts", "s_4.ts", "s_5.ts", "s_6.ts"])
        #expect(live.text.contains("#EXT-X-MEDIA-SEQUENCE:2\n") && !live.text.contains("PLAYLIST-TYPE"))
        #expect(HLSPlaylist.live(of: playlist([4]), keeping: 5).text.contains("#EXT-X-MEDIA-SEQUENCE:0\n"))
    }

    @Test func theTargetDurationIsNeverBelowTheSegmentDuration() {
        #expect(playlist([]).text.contains("#EXT-X-TARGETDURATION:4\n"))
        #expect(playlist([0.5]).text.contains("#EXT-X-TARGETDURATION:4\n"))
    }
}
