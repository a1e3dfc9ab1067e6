import Support

/// What each kind of egress is expected to cost, in cores, and how much of the machine egresses
/// may take: LiveKit's `cpu_cost`. The defaults are this server's own measured costs
/// (`Scripts/bench-record`: a transcoded 720p30 participant takes about 0.3 cores, a track
/// without transcoding about 0.006), not LiveKit's, whose egresses run a browser or GStreamer.
public struct CPUCosts: Sendable, Equatable {
    /// `participant_cpu_cost`: a transcoded Participant egress.
    public var participant = 0.3
    /// `track_composite_cpu_cost`: a transcoded TrackComposite egress.
    public var trackComposite = 0.3
    /// `track_cpu_cost`: a Track egress, and any egress whose encoding is passthrough.
    public var track = 0.01
    /// `max_cpu_utilization`: the share of the machine's cores egresses may use together.
    public var maxCPUUtilization = 0.8

    public init() {}

    /// The expected cost of `spec`.
    public func cost(of spec: EgressSpec) -> Double {
        if case .passthrough = spec.encoding { return track }
        switch spec.source {
        case .participant: return participant
        case .trackComposite, .media: return trackComposite
        case .track: return track
        }
    }
}

/// The machine's CPU in use now, in cores (all processes), as the admission sees it.
public protocol CPUMeter: Sendable {
    var coresInUse: Double { get }
    var cores: Int { get }
}

/// Admission by cost, as LiveKit's egress admits: a start is taken when the costs of the live
/// egresses plus its own fit in `cores × max_cpu_utilization`, where the live egresses count as
/// the larger of their expected costs and what the machine measurably uses. An idle server
/// takes any one egress.
struct CPUAdmission: Sendable {
    let costs: CPUCosts
    let meter: any CPUMeter

    /// Cores egresses may use.
    var capacity: Double { Double(meter.cores) * costs.maxCPUUtilization }

    /// Cores free for another egress now, given the expected costs of the live ones.
    func available(committed: Double) -> Double {
        capacity - max(committed, meter.coresInUse)
    }

    func admit(_ cost: Double, committed: Double, live: Int) throws(EgressStoreError) {
        guard live > 0 else { return }
        let free = available(committed: committed)
        guard cost <= free else { throw .notEnoughCPU(needed: cost, available: max(0, free), capacity: capacity) }
    }
}

extension MachineCPU: CPUMeter {}
