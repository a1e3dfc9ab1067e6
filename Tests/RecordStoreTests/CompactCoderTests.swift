import Foundation
import Testing
@testable import RecordStore
@testable import SessionManager

@Suite struct CompactCoderTests {
    struct Sample: Codable, Equatable {
        enum Shape: Codable, Equatable { case none, circle(radius: Double), named(String, Int8) }
        var text = "héllo"
        var small: Int8 = -128
        var big: UInt64 = .max
        var negative: Int64 = .min
        var flag = true
        var missing: String? = nil
        var present: Int32? = 7
        var shapes: [Shape] = [.none, .circle(radius: 1.5), .named("x", 3)]
        var nested: [String: [UInt16]] = ["a": [1, 65535]]
    }

    @Test func valuesReadBackExactly() throws {
        let sample = Sample()
        #expect(try CompactCoder.decode(Sample.self, from: CompactCoder.encode(sample)) == sample)
    }

    @Test func aRecordReadsBackAsJSONWouldHaveIt() throws {
        let record = SQLiteRecordStoreTests().record(9, status: .ending(hadMedia: true))
        let fixed = try CompactCoder.decode(EgressRecord.Fixed.self, from: CompactCoder.encode(record.fixed))
        let progress = try CompactCoder.decode(EgressRecord.Progress.self, from: CompactCoder.encode(record.progress))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(try encoder.encode(EgressRecord(fixed, progress)) == encoder.encode(record))
    }

    @Test func aFieldAddedLaterReadsAsAbsentAndIntegersMustFit() throws {
        struct Old: Codable { var a = 1 }
        struct New: Codable { var a: Int; var b: String? }
        let new = try CompactCoder.decode(New.self, from: CompactCoder.encode(Old()))
        #expect(new.a == 1 && new.b == nil)
        struct Wide: Codable { var a: Int64 = 300 }
        struct Narrow: Codable { var a: Int8 }
        #expect(throws: DecodingError.self) { try CompactCoder.decode(Narrow.self, from: CompactCoder.encode(Wide())) }
    }

    @Test func brokenBytesAreRefusedNotTrapped() throws {
        let good = try CompactCoder.encode(Sample())
        for length in 0..<good.count {
            #expect(throws: (any Error).self) { try CompactCoder.decode(Sample.self, from: Array(good.prefix(length))) }
        }
        #expect(throws: (any Error).self) { try CompactCoder.decode(Sample.self, from: [7, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) }
        #expect(throws: (any Error).self) { try CompactCoder.decode(Sample.self, from: [3] + [UInt8](repeating: 0xFF, count: 11)) }
        #expect(throws: (any Error).self) { try CompactCoder.decode(Sample.self, from: [UInt8](repeating: 8, count: 200).enumerated().map { $0.offset.isMultiple(of: 2) ? 8 : 1 }) }
        #expect(throws: (any Error).self) { try CompactCoder.decode(Sample.self, from: good + [0]) }
        #expect(throws: (any Error).self) { try CompactCoder.decode(Sample.self, from: [9]) }
    }
}
