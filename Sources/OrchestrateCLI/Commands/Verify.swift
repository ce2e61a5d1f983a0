import ArgumentParser
import Migrations
import OrchestrateCore

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Round-trip every revision on a scratch database: up, down to the root, up again; the schema must match.",
        discussion: """
        Each down section must undo exactly what its up section did, and each up section run again must do what it did \
        the first time; schemas are compared from the catalog (tables, columns, types, defaults, constraints, indexes, \
        views, functions, triggers, sequences, enum and domain types). Every difference and every failing section is \
        reported with its revision. The scratch database is a new one on the project's sandbox, dropped afterwards, or \
        --url, which must be empty (verify leaves it upgraded). Exits 1 when anything differs or fails.
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .long, help: ArgumentHelp("Verify up to this revision (an id, a unique prefix, or head).", valueName: "rev"))
    var to: String = "head"
    @Option(name: .long, help: ArgumentHelp("An empty database to verify in, instead of a throwaway one on the sandbox.", valueName: "conninfo"))
    var url: String?

    func run() throws {
        let project = try global.loadProject()
        Interrupts.install()
        let report = try Orchestrator(project: project, progress: Console.progress).verify(to: Target(to), url: url)
        if output.json {
            try Console.json(report)
        } else {
            render(report)
        }
        if report.problemCount > 0 { throw ExitCode(1) }
    }

    private func render(_ report: VerifyReport) {
        let place = report.createdScratchDatabase ? "a scratch database (\(report.database), dropped afterwards)" : report.database
        Console.out("verify: \(report.revisions.count) revision(s) on \(place)")
        let width = min(48, report.revisions.map(\.count).max() ?? 0)
        for check in report.checks {
            let phase = check.phase.padding(toLength: 8, withPad: " ", startingAt: 0)
            let revision = check.revision.padding(toLength: max(width, check.revision.count), withPad: " ", startingAt: 0)
            guard !check.ok else {
                Console.out("  \(phase)  \(revision)  " + Console.style("ok", .green))
                continue
            }
            Console.out("  \(phase)  \(revision)  " + Console.style("FAILED", .red) + ": "
                        + (check.problem ?? "").replacingOccurrences(of: "\n", with: "\n      "))
            for difference in check.differences {
                Console.out("      \(difference.description.replacingOccurrences(of: "\n", with: " "))")
            }
        }
        if let stop = report.stoppedAtIrreversible {
            Console.out("  " + Console.style("note:", .yellow) + " \(stop) has no down section: the way down stopped there, and the revisions up to it were not round-tripped")
        }
        if report.checks.contains(where: { !$0.differences.isEmpty }) {
            Console.out("  (+ left behind, - missing, ~ different, compared with what the schema should be)")
        }
        if report.problemCount == 0 {
            Console.out("verify: " + Console.style("ok", .green) + ": every down section undoes its up section, and every up section runs again the same")
        } else {
            Console.out("verify: " + Console.style("\(report.problemCount) problem(s)", .red))
        }
    }
}
