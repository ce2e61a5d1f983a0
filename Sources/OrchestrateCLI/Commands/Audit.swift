import ArgumentParser
import OrchestrateCore

struct Audit: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "The environment's event log, newest first.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The environment.") var environment: String
    @Option(name: .long, help: "How many events to show.") var limit: Int = 50

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        let events = try context.inspector.audit(environment, limit: max(1, limit))
        if output.json {
            try Console.json(events)
            return .done
        }
        if events.isEmpty {
            Console.out("\(environment): no events yet")
            return .done
        }
        for line in Self.lines(events) { Console.out(line) }
        return .done
    }

    /// The events as aligned columns: time, action, outcome, revision (`-` when the event has none), who, commit and
    /// duration; the message on the lines below. Widths come from the events shown, so nothing is cut.
    static func lines(_ events: [LedgerEvent]) -> [String] {
        let actionWidth = events.map(\.action.rawValue.count).max() ?? 0
        let outcomeWidth = events.map(\.outcome.rawValue.count).max() ?? 0
        let revisionWidth = events.map { ($0.revision ?? "-").count }.max() ?? 0
        func pad(_ text: String, _ width: Int) -> String {
            text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0)
        }
        return events.map { event in
            var line =
                "\(event.at)  \(pad(event.action.rawValue, actionWidth))  \(pad(event.outcome.rawValue, outcomeWidth))  "
                + "\(pad(event.revision ?? "-", revisionWidth))  by \(event.osUser ?? event.databaseUser)\(event.host.map { "@" + $0 } ?? "")"
            if let commit = event.gitCommit { line += " commit \(commit.prefix(7))" }
            if let ms = event.durationMilliseconds { line += " (\(Console.formatDuration(ms)))" }
            if let message = event.message, !message.isEmpty {
                line += "\n    " + message.replacingOccurrences(of: "\n", with: "\n    ")
            }
            return line
        }
    }
}
