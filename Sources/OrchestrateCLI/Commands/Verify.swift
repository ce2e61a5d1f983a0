import ArgumentParser
import Migrations
import OrchestrateCore

struct Verify: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "Round-trip every revision on a scratch database: up, down to the root, up again; the schema must match.",
        discussion: """
            Each down section must undo exactly what its up section did, and each up section run again must do what it did \
            the first time; schemas are compared from the catalog (tables, columns, types, defaults, constraints, indexes, \
            views, functions, triggers, sequences, enum and domain types). Every difference and every failing section is \
            reported with its revision. The scratch database is a new one on the project's sandbox, dropped afterwards (a \
            sandbox verify starts is stopped again), or --url, which must be empty but for verify's own ledger; verify \
            reverts it to how it found it when every revision has a down section. Exits 0 only when every revision in \
            range was round-tripped and matched; a revision without a down section cannot be, so exits 1 and names it. \
            For projects without down sections, --up-only checks that every revision applies on a fresh database and \
            records the schema after each.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @Option(
        name: .long,
        help: ArgumentHelp("Verify up to this revision (an id, a unique prefix, or head).", valueName: "rev"))
    var to: String = "head"
    @Option(
        name: .long,
        help: ArgumentHelp(
            "An empty database to verify in, instead of a throwaway one on the sandbox.", valueName: "conninfo"))
    var url: String?
    @Flag(name: .long, help: "Only apply every revision (for projects without down sections); nothing is reverted.")
    var upOnly = false

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        context.handleInterrupts()
        let report = try context.orchestrator.verify(
            to: Target(to), url: url,
            upOnly: upOnly)
        if output.json {
            try Console.json(report)
        } else {
            render(report)
        }
        return report.passed ? .done : .checkFailed
    }

    private func render(_ report: VerifyReport) {
        let place =
            report.createdScratchDatabase
            ? "a scratch database (\(report.database), dropped afterwards)" : report.database
        Console.out("verify: \(report.revisions.count) revision(s) on \(place)")
        let width = min(48, report.revisions.map(\.count).max() ?? 0)
        for check in report.checks {
            let phase = check.phase.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
            let revision = check.revision.padding(
                toLength: max(width, check.revision.count), withPad: " ", startingAt: 0)
            guard !check.ok else {
                Console.out("  \(phase)  \(revision)  " + Console.style("ok", .green))
                continue
            }
            Console.out(
                "  \(phase)  \(revision)  " + Console.style("FAILED", .red) + ": "
                    + (check.problem ?? "").replacingOccurrences(of: "\n", with: "\n      "))
            for difference in check.differences {
                Console.out("      \(difference.description.replacingOccurrences(of: "\n", with: " "))")
            }
        }
        if let stop = report.stoppedAtIrreversible {
            Console.out(
                "  " + Console.style("note:", .yellow) + " \(stop) has no down section: the way down stopped there")
        }
        if report.checks.contains(where: { !$0.differences.isEmpty }) {
            Console.out("  (+ left behind, - missing, ~ different, compared with what the schema should be)")
        }
        if let left = report.leftBehind {
            Console.out(
                "  " + Console.style("note:", .yellow)
                    + " \(report.database) keeps \(left); give a new database to run verify again")
        }
        let total = report.revisions.count
        if report.mode == .upOnly {
            let applied = report.checks.filter { $0.phase == .up && $0.ok }.count
            if report.problemCount == 0 {
                Console.out(
                    "verify: " + Console.style("ok", .green)
                        + ": all \(total) revision(s) apply on a fresh database (up only: no down section was run); the schema has \(report.schema.count) object(s)"
                )
            } else {
                Console.out(
                    "verify: " + Console.style("\(report.problemCount) problem(s)", .red)
                        + ": \(applied) of \(total) revision(s) applied (up only)")
            }
            return
        }
        if report.passed {
            Console.out(
                "verify: " + Console.style("ok", .green)
                    + ": all \(total) revision(s) round-tripped: every down section undoes its up section, and every up section runs again the same"
            )
            return
        }
        var parts: [String] = []
        if report.problemCount > 0 { parts.append(Console.style("\(report.problemCount) problem(s)", .red)) }
        let missing = report.notRoundTripped
        if !missing.isEmpty {
            let shown = Listing.items(missing, limit: 8, counted: false)
            parts.append(
                Console.style("\(missing.count) of \(total) revision(s) not round-tripped", .red) + " (\(shown))")
        }
        Console.out("verify: " + parts.joined(separator: "; ") + "; \(report.roundTripped.count) round-tripped")
        if report.problemCount == 0, report.stoppedAtIrreversible != nil {
            Console.out(
                "  hint: write `-- migrate:down` sections for them, or run `orchestrate verify --up-only` to check that every revision applies"
            )
        }
    }
}
