import Rooms
import SessionManager

// What comes into a recording from other threads.
extension Recording {
    /// What the recording thread is given: by the hub (the room, its events, frames) and by the
    /// session manager (controls).
    enum Input: Sendable {
        case room(HubRoom?)
        case event(RoomEvent)
        case frame(MediaFrame)
        /// UpdateStream: streams to start (with their ids) and URLs to stop.
        case updateStreams(add: [StreamResult], remove: [String])
        case stop
    }

    /// What the hub's thread reads for each frame: the tracks whose frames are queued, and
    /// whether media has started (until then a frame wakes the recording thread, which otherwise
    /// sleeps until the participant's join deadline).
    struct Intake {
        var wanted = Set<String>()
        var mediaStarted = false
    }
}
