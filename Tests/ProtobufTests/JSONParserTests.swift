import JSON
@testable import Protobuf
import Testing

@Suite struct JSONParserTests {
    func parse(_ text: String) throws(JSONError) -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func parsesEveryKindAndWritesItBack() throws {
        let value = try parse(#" {"a": [1, -2.5e3, true, false, null], "b": "x\"\\\/\n\u00e9\ud83d\ude00", "c": {}} "#)
        #expect(value["a"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null]))
        #expect(value["b"] == .string("x\"\\/\né😀"))
        #expect(value.text == #"{"a":[1,-2.5e3,true,false,null],"b":"x\"\\/\né😀","c":{}}"#)
    }

    @Test(arguments: [
        ("", "at byte 0: unexpected end"),
        ("{", "at byte 1: expected a member name"),
        (#"{"a" 1}"#, "at byte 5: expected ':'"),
        ("[1,]", "at byte 3: expected a value"),
        ("01", "at byte 2: a number has a leading zero"),
        ("1.", "at byte 2: expected digits after '.'"),
        ("tru", "at byte 0: expected true"),
        (#""\x""#, "at byte 3: an invalid escape"),
        (#""\ud83d""#, "at byte 7: a lone surrogate"),
        ("{} x", "at byte 3: unexpected text after the JSON value"),
        ("\"a\u{01}\"", "at byte 3: a control character in a string"),
    ])
    func malformedTextIsRefusedSayingWhereAndWhy(_ text: String, _ message: String) {
        #expect(throws: JSONError("invalid JSON \(message)")) { try parse(text) }
    }

    @Test func nestingIsLimited() {
        #expect(throws: JSONError("invalid JSON at byte 100: nested deeper than 100")) {
            try JSONParser.parse(Array((String(repeating: "[", count: 101) + String(repeating: "]", count: 101)).utf8))
        }
        #expect((try? JSONParser.parse(Array((String(repeating: "[", count: 50) + String(repeating: "]", count: 50)).utf8))) != nil)
    }

    @Test(arguments: [#""\u+0a1""#, #""\u-001""#, #""\u 0a1""#, #""\u0x41""#, #""\u00g1""#])
    func unicodeEscapesTakeFourHexDigitsExactly(_ text: String) {
        #expect(throws: JSONError("invalid JSON at byte 3: an invalid \\u escape")) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test func aValidEscapeStillReads() throws {
        #expect(try JSONParser.parse(Array(#""\u00A1\u00e9""#.utf8)) == .string("\u{A1}\u{E9}"))
    }
}
