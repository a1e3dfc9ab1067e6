import RTP

/// Where recordings get their rooms, tracks and media from. The embedded `RoomHub` is one;
/// a connector to a real SFU could be another, without the recorder changing.
public protocol MediaSource: Sendable {
    /// Starts delivering `room`'s events and media to `subscriber` and returns the room as it
    /// is now (nil if it does not exist yet: events arrive once it does). Throws when the room
    /// cannot be reached (in a cluster: its node does not answer).
    func subscribe(room: String, _ subscriber: any RoomSubscriber) async throws -> (RoomSubscription, HubRoom?)
}

/// Receives one room's events and media. Called on the source's own thread: implementations
/// hand the work off and return at once.
public protocol RoomSubscriber: AnyObject, Sendable {
    func handle(_ event: RoomEvent)
    func handle(_ frame: MediaFrame)
    /// False for a subscriber of events only: no frame is delivered to it.
    var receivesMedia: Bool { get }
    /// Whose frames it may want: a source that carries frames over a network (a cluster's relay)
    /// sends no others. It may still be handed others, and drops them.
    var mediaInterest: MediaInterest { get }
}

extension RoomSubscriber {
    public var receivesMedia: Bool { true }
    public var mediaInterest: MediaInterest { .all }
}

/// The frames a subscriber may want, known when it subscribes.
public enum MediaInterest: Sendable, Equatable {
    case all
    /// The tracks one participant publishes, now or later.
    case participant(String)
    /// These tracks.
    case tracks(Set<String>)

    /// Whether a frame of `track` may be wanted.
    public func includes(_ track: HubTrack) -> Bool {
        switch self {
        case .all: true
        case .participant(let identity): track.participantIdentity == identity
        case .tracks(let sids): sids.contains(track.sid)
        }
    }
}

/// Ends a subscription when cancelled (or released).
public final class RoomSubscription: Sendable {
    private let onCancel: @Sendable () -> Void

    public init(onCancel: @escaping @Sendable () -> Void) {
        self.onCancel = onCancel
    }

    public func cancel() { onCancel() }
}

/// A change in a room.
public enum RoomEvent: Sendable {
    case participantJoined(HubParticipant)
    case trackPublished(HubTrack)
    /// The track's new state is in `track.muted`.
    case trackMuteChanged(HubTrack)
    case trackUnpublished(HubTrack)
    case participantLeft(HubParticipant, reason: String)
    case roomDeleted(String)
}

/// One reassembled frame of a track, with its time on the sender's wall clock.
public struct MediaFrame: Sendable {
    public var trackSID: String
    public var codec: RTPCodec
    public var frame: EncodedFrame
    /// When the frame was captured, on the local wall clock (Unix ns): from RTCP sender reports
    /// (moved by the sender's clock offset), or until the first report from arrival.
    public var captureTime: Int64
    /// Whether `captureTime` comes from a sender report (else from arrival).
    public var synchronized: Bool

    public init(trackSID: String, codec: RTPCodec, frame: EncodedFrame, captureTime: Int64, synchronized: Bool) {
        (self.trackSID, self.codec, self.frame, self.captureTime, self.synchronized) = (trackSID, codec, frame, captureTime, synchronized)
    }
}
