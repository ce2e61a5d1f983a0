import Foundation

/// A duration written in a config file: `"500ms"`, `"5s"`, `"2m"`, `"1h"`, or a whole number of seconds.
public struct TimeSpan: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The length in milliseconds; 0 means "no limit" where a limit is meant.
    public var milliseconds: Int

    /// Makes a span of the given milliseconds.
    public init(milliseconds: Int) { self.milliseconds = milliseconds }

    /// Makes a span of the given seconds.
    public static func seconds(_ seconds: Int) -> TimeSpan { TimeSpan(milliseconds: seconds * 1000) }

    /// Parses `"250ms"`, `"5s"`, `"1.5s"`, `"2m"`, `"1h"` or `"30"` (seconds); nil when malformed or too large
    /// for an `Int` of milliseconds.
    ///
    /// Strict: decimal digits, an optional `.` and decimal digits, then an optional unit, with nothing else but white
    /// space around (no sign, exponent, hexadecimal, `inf` or `nan`). A fraction finer than a millisecond is rounded.
    public init?(parsing text: String) {
        guard let (whole, fraction, factor) = Self.components(of: text) else { return nil }
        var total = 0
        for digit in whole {
            let (shifted, overflow1) = total.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            total = next
        }
        let (scaled, overflow) = total.multipliedReportingOverflow(by: factor)
        guard !overflow else { return nil }
        var part = 0.0
        var place = 0.1
        for digit in fraction.prefix(18) {
            part += Double(digit - UInt8(ascii: "0")) * place
            place /= 10
        }
        let (milliseconds, overflowFraction) = scaled.addingReportingOverflow(Int((part * Double(factor)).rounded()))
        guard !overflowFraction else { return nil }
        self.milliseconds = milliseconds
    }

    /// True when `text` is written as a duration, however large (`init?(parsing:)` also refuses overflows).
    public static func isWellFormed(_ text: String) -> Bool {
        components(of: text) != nil
    }

    /// The whole digits, fraction digits and milliseconds per unit of a well-formed duration; nil when malformed.
    private static func components(
        of text: String
    ) -> (whole: ArraySlice<UInt8>, fraction: ArraySlice<UInt8>, factor: Int)? {
        let trimmed = Array(text.trimmingCharacters(in: .whitespaces).utf8)
        let units: [(suffix: String, factor: Int)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        var number = trimmed[...]
        var factor = 1000
        if let unit = units.first(where: {
            trimmed.count > $0.suffix.utf8.count && trimmed.suffix($0.suffix.utf8.count).elementsEqual($0.suffix.utf8)
        }) {
            number = trimmed.dropLast(unit.suffix.utf8.count)
            factor = unit.factor
        }
        let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        let dot = number.firstIndex(of: UInt8(ascii: "."))
        let whole = number[..<(dot ?? number.endIndex)]
        let fraction = dot.map { number[number.index(after: $0)...] } ?? []
        guard !whole.isEmpty, whole.allSatisfy(isDigit), fraction.allSatisfy(isDigit), dot == nil || !fraction.isEmpty
        else { return nil }
        return (whole, fraction, factor)
    }

    /// The span in seconds.
    public var seconds: Double { Double(milliseconds) / 1000 }

    /// PostgreSQL's spelling for `SET lock_timeout` and friends: milliseconds, `0` for none.
    public var postgresValue: String { "\(milliseconds)ms" }

    public var description: String {
        if milliseconds % 3_600_000 == 0, milliseconds > 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds % 60_000 == 0, milliseconds > 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}
