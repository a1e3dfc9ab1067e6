/// H.264 Annex B byte streams: NAL units separated by start codes.
enum AnnexB {
    /// The NAL units of an access unit, without their start codes.
    static func nalUnits(_ data: [UInt8]) -> [ArraySlice<UInt8>] {
        var units: [ArraySlice<UInt8>] = []
        var start: Int?
        var i = 0
        while i + 2 < data.count {
            if data[i] == 0, data[i + 1] == 0, data[i + 2] == 1 {
                if let s = start {
                    var end = i
                    while end > s, data[end - 1] == 0 { end -= 1 }
                    units.append(data[s..<end])
                }
                i += 3
                start = i
            } else {
                i += 1
            }
        }
        if let s = start, s < data.count { units.append(data[s...]) }
        return units
    }

    /// The SPS and PPS of an access unit, each after a start code (the extradata MP4 wants).
    static func parameterSets(_ data: [UInt8]) -> [UInt8] {
        nalUnits(data).filter { [7, 8].contains($0.first.map { $0 & 0x1F }) }.flatMap { [0, 0, 0, 1] + $0 }
    }
}
