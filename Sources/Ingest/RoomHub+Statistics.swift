/// What GetIngestStats reports: each track's counters and the hub's.
extension RoomHub {
    public func statistics() async -> HubStatistics {
        (try? await onLoop {
            let tracks = self.receivers.values.map { receiver in
                let stats = receiver.statistics
                return HubStatistics.Track(
                    sid: receiver.track.sid, room: receiver.track.room, identity: receiver.track.participantIdentity,
                    packetsReceived: stats.received, packetsLost: stats.lost, packetsLate: stats.late,
                    packetsReordered: stats.reordered, packetsDuplicate: stats.duplicates,
                    packetsWrongPayloadType: receiver.wrongPayloadType, frames: receiver.frames, bytes: receiver.bytes,
                    packetsWrongSource: receiver.packetsWrongSource, packetsOutOfRange: stats.outOfRange,
                    sequenceRestarts: stats.restarts, framesOutOfTime: receiver.framesOutOfTime,
                    packetsNacked: receiver.feedback.nackedPackets, packetsRecovered: receiver.feedback.recoveredPackets,
                    keyFrameRequests: receiver.keyFrameRequests, isWebRTC: receiver.webRTCSession != nil)
            }
            var statistics = HubStatistics(tracks: tracks.sorted { $0.sid < $1.sid }, unknownSSRCPackets: self.unknownSSRCPackets,
                                           malformedPackets: self.malformedPackets, oversizePackets: self.oversizePackets)
            statistics.stunIgnored = self.stunIgnored
            statistics.securedUnrouted = self.unroutedSecured
            statistics.securedRejected = self.webRTCSessions.values.reduce(self.closedSessionsRejected) { $0 + $1.packetsRejected }
            statistics.plainRTPRefused = self.plainRTPRefused
            statistics.webRTCSessions = self.webRTCSessions.count
            return statistics
        }) ?? HubStatistics(tracks: [], unknownSSRCPackets: 0, malformedPackets: 0, oversizePackets: 0)
    }
}
