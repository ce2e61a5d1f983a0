import ArgumentParser
import Foundation
import OrchestrateCore

/// `--target NAME` and `--shard I/N`: which targets of a fleet a command runs on.
struct FleetOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("Run only on this target of a fleet (repeatable).", valueName: "name"))
    var target: [String] = []
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Run only on shard I of N of a fleet (0-based, a stable split by target name; e.g. --shard $JOB_COMPLETION_INDEX/4).",
            valueName: "i/n"))
    var shard: String?

    /// The selection; a malformed `--shard` is an error with the rule.
    func selection() throws(OrchestrateError) -> TargetSelection {
        TargetSelection(
            names: target, shard: try shard.map { (text) throws(OrchestrateError) in try .init(parsing: text) })
    }

    /// Whether the command runs as a fleet command: the environment is a fleet, or targets were selected (which a
    /// single database then refuses).
    func isFleet(_ environment: EnvironmentConfig) -> Bool {
        environment.isFleet || !target.isEmpty || shard != nil
    }
}

/// Renders fleet runs: progress on stderr (a line with the counts on a terminal, one line per target elsewhere) and
/// the summary on stdout.
enum FleetReportPrinter {
    private static let lock = NSLock()

    /// One target finished.
    static func progress(_ progress: FleetProgress) {
        let name = "\(progress.environment)/\(progress.target)"
        let line = "\(name): \(progress.status.rawValue)" + (progress.detail.isEmpty ? "" : ": \(progress.detail)")
        lock.withLock {
            guard Console.stderrIsTerminal else {
                Console.err(line)
                return
            }
            if progress.status == .failed || progress.status == .locked {
                FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
                Console.err(Console.style(line, .red, forStderr: true))
            }
            let finished = progress.done + progress.unchanged + progress.failed + progress.locked
            let counts =
                "\(progress.environment): \(finished)/\(progress.total) targets: \(progress.done) done, \(progress.unchanged) unchanged, \(progress.failed) failed, \(progress.locked) locked"
            FileHandle.standardError.write(
                Data(("\r\u{1B}[K" + counts + (finished == progress.total ? "\n" : "")).utf8))
        }
    }

    /// Prints the summary (or the JSON report), then ends with the run's failure, if any: exit 3 when a target
    /// failed, 4 when the only problems were locked or frozen targets, 130 after Ctrl-C.
    static func finish(_ report: FleetReport, json: Bool) throws -> CommandOutcome {
        if Console.stderrIsTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        if json {
            try Console.json(report)
        } else {
            for line in lines(report) { Console.out(line) }
        }
        if let failure = report.failure { throw failure }
        return .done
    }

    /// The summary: the counts, then each failed or locked target with its first error, then the skipped ones.
    static func lines(_ report: FleetReport) -> [String] {
        let selected = report.targets.count
        let of = selected == report.fleetSize ? "" : " (of \(report.fleetSize) in the fleet)"
        var lines = [
            "\(report.environment): \(report.action) on \(selected) target(s)\(of): \(report.count(.done)) done, \(report.count(.unchanged)) unchanged, \(report.count(.failed)) failed, \(report.count(.locked)) locked, \(report.count(.skipped)) skipped"
        ]
        for result in report.targets where result.status == .done && !result.revisions.isEmpty {
            lines.append("  \(result.target): \(result.revisions.joined(separator: ", "))")
        }
        for result in report.targets where result.status == .failed || result.status == .locked {
            lines.append("  \(result.status == .failed ? "failed" : "locked") \(result.target): \(result.error ?? "")")
            if let hint = result.hint { lines.append("    hint: \(hint)") }
        }
        let skipped = report.targets.filter { $0.status == .skipped }.map(\.target)
        if !skipped.isEmpty {
            let names = skipped.prefix(20).joined(separator: ", ") + (skipped.count > 20 ? ", …" : "")
            lines.append("  skipped: \(names)" + (report.stopReason.map { " (\($0))" } ?? ""))
        }
        return lines
    }

    /// A fleet's plan: the targets grouped by what they would run (with `--sql`, each target's script under a
    /// comment naming it), then each target that cannot be planned, with why.
    static func planLines(_ report: FleetPlanReport, sql: Bool) -> [String] {
        var lines: [String] = []
        let plans = report.targets.compactMap { entry in entry.plan.map { (entry.target, $0) } }
        if sql {
            for (target, plan) in plans {
                lines.append("-- target \(target)")
                for blocker in plan.blockers { lines.append("-- the run would be refused now: \(blocker)") }
                lines.append(String((plan.sql ?? "\n").dropLast()))
            }
        } else {
            var groups: [(key: [String], action: String, targets: [String])] = []
            for (target, plan) in plans {
                let key = plan.steps.map { "\($0.direction) \($0.revision)" }
                if let index = groups.firstIndex(where: { $0.key == key }) {
                    groups[index].targets.append(target)
                } else {
                    groups.append((key, plan.action, [target]))
                }
            }
            let of = report.targets.count == report.fleetSize ? "" : " (of \(report.fleetSize) in the fleet)"
            lines.append("\(report.environment): plan for \(report.targets.count) target(s)\(of):")
            for group in groups {
                let names = group.targets.prefix(10).joined(separator: ", ") + (group.targets.count > 10 ? ", …" : "")
                let what =
                    group.key.isEmpty
                    ? "nothing to run"
                    : "\(group.action) would run \(group.key.count) revision(s): \(group.key.joined(separator: ", "))"
                lines.append("  \(group.targets.count) target(s): \(what) (\(names))")
            }
            for (target, plan) in plans {
                for blocker in plan.blockers { lines.append("  \(target): the run would be refused now: \(blocker)") }
            }
        }
        for entry in report.targets where entry.error != nil {
            lines.append("  cannot plan \(entry.target): \(entry.error ?? "")")
        }
        return lines
    }
}
