import Foundation
import OrchestrateCore

/// The one place that writes to the terminal: results to stdout, progress and diagnostics to stderr, colour only on a
/// terminal and never under `NO_COLOR`.
enum Console {
    static let stdoutIsTerminal = isatty(STDOUT_FILENO) == 1
    static let stderrIsTerminal = isatty(STDERR_FILENO) == 1
    static let colorAllowed =
        ProcessInfo.processInfo.environment["NO_COLOR"].map { $0.isEmpty } ?? true
        && ProcessInfo.processInfo.environment["TERM"] != "dumb"

    /// Writes a result line to stdout.
    static func out(_ text: String = "") {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Writes a diagnostic line to stderr (first clearing a revision's running line on a terminal).
    static func err(_ text: String) {
        RevisionTicker.shared.clearLine()
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
        RevisionTicker.shared.stop()
        err(style("error:", .red, forStderr: true) + " " + error.message)
        if let detail = error.detail { err("DETAIL: " + detail) }
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
            err(
                style("waiting:", .yellow, forStderr: true)
                    + " `\(environment)` is locked by \(who) (\(Int(waited))s so far)")
        case .revisionStarted(let environment, let revision, let direction):
            RevisionTicker.shared.start("\(environment): \(direction == .up ? "applying" : "reverting") \(revision)")
        case .revisionFinished(let environment, let revision, let direction, let milliseconds, let committed):
            RevisionTicker.shared.stop()
            let verb = !committed ? "ran     " : direction == .up ? "applied " : "reverted"
            let pending = committed ? "" : ", not committed until the single transaction commits"
            err(
                "\(environment): \(style(verb, !committed ? .dim : direction == .up ? .green : .yellow, forStderr: true)) \(revision) (\(formatDuration(milliseconds))\(pending))"
            )
        case .transactionCommitted(let environment, let count):
            err(
                "\(environment): " + style("committed", .green, forStderr: true)
                    + " the single transaction: \(count) revision(s) applied")
        case .retrying(let environment, let revision, let attempt, let of, let reason):
            RevisionTicker.shared.stop()
            err(
                style("retry:", .yellow, forStderr: true)
                    + " \(environment): \(revision) hit \(reason); attempt \(attempt + 1) of \(of + 1)")
        case .targetFinished(let progress):
            FleetReportPrinter.progress(progress)
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

/// Shows the revision that is running: on a terminal, one line that counts the seconds and is replaced by the result;
/// elsewhere (CI logs), the revision when it starts and a line every 10 seconds while it runs, so a long index build
/// is never silent.
final class RevisionTicker: @unchecked Sendable {
    static let shared = RevisionTicker()

    private let lock = NSLock()
    private var timer: DispatchSourceTimer?
    private var label = ""
    private var started = Date()
    private var lineOpen = false
    private let queue = DispatchQueue(label: "orchestrate.progress")

    /// Starts showing `label` (for example `dev: applying 003_index`).
    func start(_ label: String) {
        lock.lock()
        defer { lock.unlock() }
        cancelLocked()
        self.label = label
        started = Date()
        let terminal = Console.stderrIsTerminal
        if terminal {
            write("\(label) …")
            lineOpen = true
        } else {
            write("\(label)\n")
        }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let interval: Double = terminal ? 1 : 10
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in self?.tick(terminal: terminal) }
        self.timer = timer
        timer.resume()
    }

    /// Stops showing the running revision, clearing its line on a terminal.
    func stop() {
        lock.lock()
        defer { lock.unlock() }
        cancelLocked()
    }

    /// Clears the running line on a terminal before another line is written; the next tick writes it again.
    func clearLine() {
        lock.lock()
        defer { lock.unlock() }
        if lineOpen {
            write("\r\u{1B}[K")
            lineOpen = false
        }
    }

    private func tick(terminal: Bool) {
        lock.lock()
        defer { lock.unlock() }
        guard timer != nil else { return }
        let seconds = Int(Date().timeIntervalSince(started))
        if terminal {
            write("\r\u{1B}[K\(label) … \(seconds) s")
            lineOpen = true
        } else {
            write("\(label): still running (\(seconds) s)\n")
        }
    }

    private func cancelLocked() {
        timer?.cancel()
        timer = nil
        if lineOpen {
            write("\r\u{1B}[K")
            lineOpen = false
        }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
