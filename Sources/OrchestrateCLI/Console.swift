import Foundation
import OrchestrateCore

/// The one place that writes to the terminal: results to stdout, progress and diagnostics to stderr, colour only on a
/// terminal and never under `NO_COLOR`.
enum Console {
    static let stdoutIsTerminal = isatty(STDOUT_FILENO) == 1
    static let stderrIsTerminal = isatty(STDERR_FILENO) == 1
    static let colorAllowed = ProcessInfo.processInfo.environment["NO_COLOR"].map { $0.isEmpty } ?? true
        && ProcessInfo.processInfo.environment["TERM"] != "dumb"

    /// Writes a result line to stdout.
    static func out(_ text: String = "") {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Writes a diagnostic line to stderr.
    static func err(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// ANSI styles, applied only where colour is allowed for that stream.
    enum Style: String {
        case bold = "1", dim = "2", red = "31", green = "32", yellow = "33", cyan = "36"
    }

    static func style(_ text: String, _ style: Style, forStderr: Bool = false) -> String {
        guard colorAllowed, forStderr ? stderrIsTerminal : stdoutIsTerminal else { return text }
        return "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m"
    }

    /// Prints an error with its hint on stderr.
    static func report(_ error: OrchestrateError) {
        err(style("error:", .red, forStderr: true) + " " + error.message)
        if let hint = error.hint { err(style("hint:", .cyan, forStderr: true) + " " + hint) }
    }

    /// Renders progress events on stderr, one line per revision with its duration.
    static let progress: ProgressHandler = { event in
        switch event {
        case .notice(let text):
            err(style("note:", .dim, forStderr: true) + " " + text)
        case .warning(let text):
            err(style("warning:", .yellow, forStderr: true) + " " + text)
        case .waitingForLock(let environment, let holder, let waited):
            let who = holder?.summary ?? "another session"
            err(style("waiting:", .yellow, forStderr: true) + " `\(environment)` is locked by \(who) (\(Int(waited))s so far)")
        case .revisionStarted:
            break
        case .revisionFinished(let environment, let revision, let direction, let milliseconds):
            let verb = direction == "up" ? "applied " : "reverted"
            err("\(environment): \(style(verb, direction == "up" ? .green : .yellow, forStderr: true)) \(revision) (\(formatDuration(milliseconds)))")
        case .retrying(let environment, let revision, let attempt, let of, let reason):
            err(style("retry:", .yellow, forStderr: true) + " \(environment): \(revision) hit \(reason); attempt \(attempt + 1) of \(of + 1)")
        }
    }

    static func formatDuration(_ milliseconds: Int) -> String {
        milliseconds < 1000 ? "\(milliseconds) ms" : String(format: "%.2f s", Double(milliseconds) / 1000)
    }

    /// Encodes `value` as pretty, key-sorted JSON on stdout.
    static func json(_ value: some Encodable) throws(OrchestrateError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            out(String(decoding: try encoder.encode(value), as: UTF8.self))
        } catch {
            throw .operation("cannot encode JSON: \(error)")
        }
    }
}
