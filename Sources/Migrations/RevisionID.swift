import Foundation

/// Revision ids: what is valid, and how `orchestrate new` makes one.
///
/// A revision id is a migration's file name without `.sql`. Any `[A-Za-z0-9][A-Za-z0-9_.-]*` is valid, so
/// ids imported from other tools (Alembic's hex ids, Flyway's `V12__x`) keep working; `orchestrate new`
/// makes ids of the form `YYYYMMDDHHMMSS_slug` in UTC, which sort in creation order.
public enum RevisionID {
    /// The longest slug `make(date:message:)` produces, in characters.
    static let maximumSlugLength = 50

    /// The pattern valid ids match, for error messages.
    static let pattern = "[A-Za-z0-9][A-Za-z0-9_.-]*"

    /// Returns whether `id` matches `[A-Za-z0-9][A-Za-z0-9_.-]*` (ASCII only, not empty).
    public static func isValid(_ id: String) -> Bool {
        var id = id
        return id.withUTF8 { isValid(utf8: $0) }
    }

    /// `isValid` over an id's UTF-8 bytes.
    static func isValid(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = bytes.first, isAlphanumeric(first) else {
            return false
        }
        return bytes.dropFirst().allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
        }
    }

    /// Makes `YYYYMMDDHHMMSS_slug` from `date` (in UTC) and a free-text `message`.
    ///
    /// The slug is the message in lowercase ASCII: letters and digits are kept (accents are dropped, so
    /// `café` gives `cafe`), every other run of characters becomes one `_`, leading and trailing `_` are
    /// removed, and it is cut to at most 50 characters. A message with no letter or digit gives the
    /// timestamp alone, which is still a valid id.
    public static func make(date: Date, message: String) -> String {
        let timestamp = utcTimestamp(date)
        let slug = slug(message)
        return slug.isEmpty ? timestamp : "\(timestamp)_\(slug)"
    }

    /// The slug of `message` (see `make(date:message:)`).
    static func slug(_ message: String) -> String {
        var slug: [UInt8] = []
        var pendingSeparator = false
        // Canonical decomposition splits "é" into "e" + a combining accent, which is then dropped.
        for scalar in message.decomposedStringWithCanonicalMapping.unicodeScalars {
            if scalar.isASCII, isAlphanumeric(UInt8(scalar.value)) {
                if pendingSeparator, !slug.isEmpty {
                    slug.append(UInt8(ascii: "_"))
                }
                pendingSeparator = false
                var byte = UInt8(scalar.value)
                if byte >= UInt8(ascii: "A"), byte <= UInt8(ascii: "Z") {
                    byte += 32
                }
                slug.append(byte)
            } else if scalar.properties.generalCategory == .nonspacingMark {
                continue
            } else {
                pendingSeparator = true
            }
        }
        if slug.count > maximumSlugLength {
            slug.removeLast(slug.count - maximumSlugLength)
            while slug.last == UInt8(ascii: "_") {
                slug.removeLast()
            }
        }
        return String(decoding: slug, as: UTF8.self)
    }

    /// `YYYYMMDDHHMMSS` of `date` in UTC, computed without calendars or locales.
    static func utcTimestamp(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        let hour = secondOfDay / 3_600
        let minute = (secondOfDay % 3_600) / 60
        let second = secondOfDay % 60
        return pad(year, 4) + pad(month, 2) + pad(day, 2) + pad(hour, 2) + pad(minute, 2) + pad(second, 2)
    }

    /// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
    static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }
}
