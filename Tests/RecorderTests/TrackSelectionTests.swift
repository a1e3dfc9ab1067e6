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
}
