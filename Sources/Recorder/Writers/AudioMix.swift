import Media
import RTP
import SessionManager

/// The audio tracks of a recording mixed into one stereo signal: each track decoded (Opus),
/// resampled to the mix's rate, sent to its channel and placed on a timeline of its own; the
/// mix is their sum, taken in order (silence where no track has anything).
struct AudioMix {
    let rate: Int32
    private var inputs: [String: Input] = [:]

    private struct Input {
        var decoder: Decoder
        var resampler: AudioResampler
        var timeline: AudioTimeline
        var channel: EgressSpec.AudioRoute.Channel
    }

    init(rate: Int32) {
        self.rate = rate
    }

    /// A frame of `track` at `position` (ns); a new track's timeline begins at sample frame `start`.
    mutating func add(_ frame: EncodedFrame, track: String, channel: EgressSpec.AudioRoute.Channel, at position: Int64, start: Int64) throws {
        if inputs[track] == nil {
            inputs[track] = Input(decoder: try Decoder(.opus), resampler: AudioResampler(sampleRate: rate),
                                  timeline: AudioTimeline(rate: rate, start: start), channel: channel)
        }
        guard var input = inputs[track] else { return }
        for decoded in input.decoder.decode(frame.data, pts: position) {
            input.timeline.place(Self.route(try input.resampler.convert(decoded), to: channel), at: decoded.pts)
        }
        inputs[track] = input
    }

    mutating func remove(track: String) {
        inputs[track] = nil
    }

    /// The next `frames` sample frames of every track, summed and clipped (interleaved stereo).
    mutating func next(_ frames: Int) -> [Float] {
        var mix: [Float]?
        for key in inputs.keys {
            guard let samples = inputs[key]?.timeline.take(frames) else { continue }
            guard var sum = mix else {
                mix = samples
                continue
            }
            for i in sum.indices { sum[i] = min(1, max(-1, sum[i] + samples[i])) }
            mix = sum
        }
        return mix ?? [Float](repeating: 0, count: frames * 2)
    }

    /// Stereo samples sent to one side (as mono) or left as they are.
    static func route(_ samples: [Float], to channel: EgressSpec.AudioRoute.Channel) -> [Float] {
        guard channel != .both else { return samples }
        var out = [Float](repeating: 0, count: samples.count)
        let side = channel == .left ? 0 : 1
        for i in stride(from: 0, to: samples.count - 1, by: 2) { out[i + side] = (samples[i] + samples[i + 1]) / 2 }
        return out
    }
}
