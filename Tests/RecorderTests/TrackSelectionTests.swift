@testable import Recorder
import Rooms
import RTP
import SessionManager
import Testing

@Suite struct TrackSelectionTests {
    func track(_ sid: String, _ identity: String, _ kind: TrackKind, _ source: TrackSource, participantKind: Int32 = 0) -> HubTrack {
        HubTrack(sid: sid, room: "r", roomSID: "RM_r", participantIdentity: identity, participantSID: "PA_\(identity)",
                 participantKind: participantKind, name: "", kind: kind, source: source, codec: kind == .video ? .h264 : .opus,
                 payloadType: 96, clockRate: 90_000, ssrc: 1, stereo: false, muted: false)
    }

    @Test func aParticipantEgressTakesTheCameraAndMicrophoneOrTheScreen() {
        let camera = TrackSelection(.participant(identity: "a", screenShare: false))
        #expect(camera.slot(for: track("1", "a", .video, .camera)) == .video)
        #expect(camera.slot(for: track("2", "a", .audio, .microphone)) == .audio(.both))
        #expect(camera.slot(for: track("3", "a", .video, .screenShare)) == nil)
        #expect(camera.slot(for: track("4", "b", .video, .camera)) == nil)
        let screen = TrackSelection(.participant(identity: "a", screenShare: true))
        #expect(screen.slot(for: track("3", "a", .video, .screenShare)) == .video)
        #expect(screen.slot(for: track("5", "a", .audio, .screenShareAudio)) == .audio(.both))
        #expect(screen.slot(for: track("2", "a", .audio, .microphone)) == nil)
    }

    @Test func audioRoutesGiveChannelsInOrderAndCaptureAllTakesTheRest() {
        let routes = [
            EgressSpec.AudioRoute(match: .trackID("T1"), channel: .left),
            EgressSpec.AudioRoute(match: .participantKind(4), channel: .right),
        ]
        let selection = TrackSelection(.media(video: nil, audio: EgressSpec.AudioSelection(captureAll: true, routes: routes)))
        #expect(selection.slot(for: track("T1", "a", .audio, .microphone, participantKind: 4)) == .audio(.left))
        #expect(selection.slot(for: track("T2", "agent", .audio, .microphone, participantKind: 4)) == .audio(.right))
        #expect(selection.slot(for: track("T3", "c", .audio, .microphone)) == .audio(.both))
        #expect(selection.slot(for: track("V", "c", .video, .camera)) == nil)
        #expect(selection.requiredTrackIDs == ["T1"])
    }

    @Test func aTrackEgressIsCompleteWithItsOneTrack() {
        let selection = TrackSelection(.track(trackID: "T1"))
        #expect(!selection.isComplete(video: nil, hasAudio: false))
        #expect(selection.isComplete(video: nil, hasAudio: true))
        let composite = TrackSelection(.trackComposite(audioTrackID: "A", videoTrackID: "V"))
        #expect(!composite.isComplete(video: nil, hasAudio: true))
    }

    /// What a relay from another node sends for each egress: no more than its rules may take.
    @Test func theFramesAnEgressMayWantAreAParticipantsTheTracksItNamesOrAll() {
        #expect(TrackSelection(.participant(identity: "a", screenShare: true)).mediaInterest == .participant("a"))
        #expect(TrackSelection(.track(trackID: "T1")).mediaInterest == .tracks(["T1"]))
        #expect(TrackSelection(.trackComposite(audioTrackID: "A", videoTrackID: "V")).mediaInterest == .tracks(["A", "V"]))
        #expect(TrackSelection(.trackComposite(audioTrackID: nil, videoTrackID: "V")).mediaInterest == .tracks(["V"]))
        let byIdentity = EgressSpec.AudioSelection(captureAll: false, routes: [.init(match: .participantIdentity("a"), channel: .left)])
        #expect(TrackSelection(.media(video: .participant(identity: "a", preferScreenShare: false), audio: byIdentity)).mediaInterest
            == .participant("a"))
        // Two participants, a participant and a track, a kind, or every audio track: all frames.
        #expect(TrackSelection(.media(video: .participant(identity: "b", preferScreenShare: false), audio: byIdentity)).mediaInterest == .all)
        #expect(TrackSelection(.media(video: .track(id: "V"), audio: byIdentity)).mediaInterest == .all)
        let byKind = EgressSpec.AudioSelection(captureAll: false, routes: [.init(match: .participantKind(4), channel: .both)])
        #expect(TrackSelection(.media(video: .track(id: "V"), audio: byKind)).mediaInterest == .all)
        #expect(TrackSelection(.media(video: .track(id: "V"), audio: .init(captureAll: true, routes: []))).mediaInterest == .all)
        // Each interest takes exactly its tracks.
        #expect(MediaInterest.participant("a").includes(track("1", "a", .video, .screenShare)))
        #expect(!MediaInterest.participant("a").includes(track("1", "b", .video, .camera)))
        #expect(MediaInterest.tracks(["1"]).includes(track("1", "b", .audio, .microphone)))
        #expect(!MediaInterest.tracks(["1"]).includes(track("2", "b", .audio, .microphone)))
    }
}
