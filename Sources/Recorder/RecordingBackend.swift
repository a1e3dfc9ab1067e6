import Logging
import Rooms
import SessionManager
import Synchronization

/// The session manager's backend that really records: one `Recording` per egress, fed by a
/// `MediaSource` (the embedded room hub by default).
public final class RecordingBackend: EgressBackend {
    private let source: any MediaSource
    let configuration: RecorderConfiguration
    let logger: Logger
    private let recordings = Mutex<[String: Recording]>([:])

    public init(source: any MediaSource, configuration: RecorderConfiguration, logger: Logger) {
        self.source = source
        self.configuration = configuration
        self.logger = logger
    }

    public func start(_ egress: EgressRecord, reporter: EgressReporter) async {
        let id = egress.id
        let recording = Recording(egress: egress, source: source, reporter: reporter, configuration: configuration, logger: logger) { [weak self] in
            _ = self?.recordings.withLock { $0.removeValue(forKey: id) }
        }
        recordings.withLock { $0[id] = recording }
        await recording.begin()
    }

    public func stop(_ egressID: String) async {
        recordings.withLock { $0[egressID] }?.requestStop()
    }

    public func updateStreams(_ egressID: String, add: [StreamResult], remove: [String]) async {
        recordings.withLock { $0[egressID] }?.updateStreams(add: add, remove: remove)
    }

    /// Recordings still running.
    public var activeCount: Int { recordings.withLock { $0.count } }
}
