import ArgumentParser
import OrchestrateCore

struct Audit: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "The environment's event log, newest first.",
        discussion: """
            On a fleet: the newest events over every selected target (--target, --shard), each naming its target; \
            --json is then an object with `events` (each with `target`) and `unreadable`. Exits 3 when a target \
            could not be read, after showing the others' events and naming it.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var fleet: FleetOptions
    @Argument(help: "The environment.") var environment: String
    @Option(name: .long, help: "How many events to show.") var limit: Int = 50

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        if fleet.isFleet(try context.project.environment(environment)) {
            return try fleetAudit(context)
        }
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

    /// A fleet's newest events, each line led by its target; the unreadable targets named after them (exit 3).
    private func fleetAudit(_ context: CommandContext) throws -> CommandOutcome {
        let audit = try context.inspector.auditFleet(
            environment, limit: max(1, limit), selection: try fleet.selection())
        if output.json {
            try Console.json(audit)
        } else {
            if audit.events.isEmpty {
                Console.out("\(environment): no events yet on \(audit.targets) target(s)")
            } else {
                let width = audit.events.map(\.target.count).max() ?? 0
                let lines = Self.lines(audit.events.map(\.event))
                for (event, line) in zip(audit.events, lines) {
                    Console.out(event.target.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + line)
                }
            }
            for item in audit.unreadable {
                Console.out(
                    "\(item.target): " + Console.style("unreadable", .red) + ": "
                        + (item.error.split(separator: "\n").first.map(String.init) ?? ""))
            }
        }
        return audit.unreadable.isEmpty ? .done : .unreadable
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
