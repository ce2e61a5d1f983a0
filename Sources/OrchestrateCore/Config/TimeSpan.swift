import Foundation

/// A duration written in a config file: `"500ms"`, `"5s"`, `"2m"`, `"1h"`, or a whole number of seconds.
public struct TimeSpan: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The length in milliseconds; 0 means "no limit" where a limit is meant.
    public var milliseconds: Int

    /// Makes a span of the given milliseconds.
    public init(milliseconds: Int) { self.milliseconds = milliseconds }

    /// Makes a span of the given seconds.
    public static func seconds(_ seconds: Int) -> TimeSpan { TimeSpan(milliseconds: seconds * 1000) }

    /// Parses `"250ms"`, `"5s"`, `"1.5s"`, `"2m"`, `"1h"` or `"30"` (seconds); nil when malformed.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count)
            guard let value = Double(number), value >= 0, value.isFinite else { return nil }
            self.milliseconds = Int((value * factor).rounded())
            return
        }
        guard let seconds = Double(trimmed), seconds >= 0, seconds.isFinite else { return nil }
        self.milliseconds = Int((seconds * 1000).rounded())
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
