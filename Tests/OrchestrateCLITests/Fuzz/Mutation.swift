import Foundation
import TestSupport

/// The ways a file of a project is damaged. Each names what a user or a tool could really produce.
enum Mutation: String, CaseIterable, Sendable, CustomStringConvertible {
    case byteFlip, truncation, hugeNumber, nul, crlf, carriageReturn, bom, invalidUTF8, markerNearMiss, duplicatedLine,
        longLine, unicode, token, deletedRange, empty, randomBytes

    var description: String { rawValue }

    static let nearMisses = [
        "-- migrate: up", "--migrate:up", "-- Migrate:up", "-- migrate:UP", "-- migrate:upp",
        "-- migrate :up", "-- migrate:", "\u{2014} migrate:up", "-- Parent: x", "-- parents: x",
        "-- transaction: maybe", "-- transactional: false", "--parent:x", "-- parent: ,",
        "-- parent: a,,b", "-- migrate:down\n-- migrate:down",
    ]
    static let tokens = [
        "${", "${MISSING}", "${A:-", "$$", "\"\"\"", "'''", "[", "[[x]]", "=", "\\u0000", "\\", "\"",
        "#", "\n[env]\n", "inf", "nan", "0x10", "1e3", "[1,2]", "{a=1}", "database_url = 1", "\u{0C}",
        "\u{1B}[31m", ";", "'", "/*", "$fn$", "BEGIN ATOMIC", "COMMIT;", "%00", "@", "//", "?",
    ]
    static let hugeNumbers = [
        "99999999999999999999999999", "9223372036854775807", "9223372036854775808",
        "-9223372036854775809", "1e400", "-1", "18446744073709551616", "\"99999999999999999999h\"",
        "\"1e300s\"", "\"-5s\"", "\"25h\"", "1_000", "+inf",
    ]
    static let unicodeSamples = [
        "é", "漢字", "🙂", "\u{200B}", "\u{202E}", "\u{2028}", "\u{FEFF}", "İ", "\u{0301}", "\u{10FFFF}",
    ]
    static let invalidSequences: [[UInt8]] = [
        [0xFF], [0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80],
    ]

    /// The damaged bytes.
    func apply(to data: [UInt8], using rng: inout SeededGenerator) -> [UInt8] {
        let position = Int.random(in: 0...data.count, using: &rng)
        func insert(_ bytes: [UInt8]) -> [UInt8] { Array(data[..<position]) + bytes + Array(data[position...]) }
        func lines() -> [[UInt8]] { data.split(separator: 10, omittingEmptySubsequences: false).map(Array.init) }
        switch self {
        case .byteFlip:
            guard !data.isEmpty else { return [0x80] }
            var bytes = data
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= 1 << UInt8.random(in: 0...7, using: &rng)
            }
            return bytes
        case .truncation:
            return Array(data[..<position])
        case .hugeNumber:
            let huge = Array(Self.hugeNumbers.randomElement(using: &rng)!.utf8)
            guard let start = data.indices.filter({ (48...57).contains(data[$0]) }).randomElement(using: &rng) else {
                return data + Array("\nconnect_retries = ".utf8) + huge + [10]
            }
            var end = start
            while end < data.count, (48...57).contains(data[end]) { end += 1 }
            return Array(data[..<start]) + huge + Array(data[end...])
        case .nul:
            return insert([0])
        case .crlf:
            return data.flatMap { $0 == 10 ? [13, 10] : [$0] }
        case .carriageReturn:
            return data.map { $0 == 10 ? 13 : $0 }
        case .bom:
            return [0xEF, 0xBB, 0xBF] + data
        case .invalidUTF8:
            return insert(Self.invalidSequences.randomElement(using: &rng)!)
        case .markerNearMiss:
            var all = lines()
            let index = Int.random(in: 0..<all.count, using: &rng)
            let line = Array(Self.nearMisses.randomElement(using: &rng)!.utf8)
            if Bool.random(using: &rng) { all[index] = line } else { all.insert(line, at: index) }
            return Array(all.joined(separator: [10]))
        case .duplicatedLine:
            var all = lines()
            let index = Int.random(in: 0..<all.count, using: &rng)
            all.insert(all[index], at: index)
            return Array(all.joined(separator: [10]))
        case .longLine:
            let unit = Array(["x", "-- ", "a,", "\\", "$", "9", "é"].randomElement(using: &rng)!.utf8)
            return insert(Array(repeating: unit, count: [2_000, 40_000].randomElement(using: &rng)!).flatMap { $0 })
        case .unicode:
            return insert(Array(Self.unicodeSamples.randomElement(using: &rng)!.utf8))
        case .token:
            return insert(Array(Self.tokens.randomElement(using: &rng)!.utf8))
        case .deletedRange:
            guard !data.isEmpty else { return data }
            let start = Int.random(in: 0..<data.count, using: &rng)
            let end = min(data.count, start + Int.random(in: 1...40, using: &rng))
            return Array(data[..<start]) + Array(data[end...])
        case .empty:
            return []
        case .randomBytes:
            var bytes = data
            for _ in 0..<Int.random(in: 1...8, using: &rng) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            return bytes
        }
    }
}
