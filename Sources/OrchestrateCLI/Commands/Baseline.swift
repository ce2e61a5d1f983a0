import ArgumentParser
import Foundation
import OrchestrateCore

struct Baseline: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Record a revision and its ancestors as applied to an environment without running them; audited.",
        discussion: """
            For a database that already runs the revisions: set up by hand, or by another tool before `orchestrate \
            import`. --to REV names the position; --from TOOL reads it from that tool's table in ENV's database \
            (alembic_version, flyway_schema_history, schema_migrations, goose_db_version), which is left alone. The live \
            schema is first compared with the schema the revisions produce on a scratch database (a throwaway database on \
            the sandbox, or --scratch-url, an empty database); a difference refuses unless --accept-differences, which \
            records them in the event. A ledger that already records revisions gets only the missing ones, when what it \
            records is below the position. Runs under the environment lock; protected environments need --yes.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The environment.") var environment: String
    @Option(
        name: .long, help: ArgumentHelp("The revision the database runs (an id or a unique prefix).", valueName: "rev"))
    var to: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Read the position from this tool's table: \(ForeignTool.allCases.map(\.rawValue).joined(separator: ", ")).",
            valueName: "tool"))
    var from: ForeignTool?
    @Option(name: .long, help: "Why the database already runs these revisions; recorded in the event log.") var reason:
        String
    @OptionGroup var scratch: ScratchOptions
    @Flag(name: .long, help: "Record even when the live schema differs; the differences go into the event.")
    var acceptDifferences = false
    @Flag(name: .long, help: "Confirm work on a protected environment without a prompt.") var yes = false

    func validate() throws {
        if (to == nil) == (from == nil) { throw ValidationError("give exactly one of --to REV and --from TOOL") }
        if reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ValidationError("--reason must say why the database already runs these revisions")
        }
    }

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        let project = context.project
        try confirmProtected(try project.environment(environment), action: "baseline", yes: yes)
        let position: BaselinePosition = to.map { .revision($0) } ?? .tool(from ?? .alembic)
        let report = try context.orchestrator.baseline(
            environment, position: position, reason: reason,
            scratchURL: scratch.scratchURL, acceptDifferences: acceptDifferences)
        if output.json {
            try Console.json(report)
            return .done
        }
        guard !report.recorded.isEmpty else {
            Console.out("\(environment): already records every revision of \(report.source); nothing recorded")
            return .done
        }
        Console.out(
            "\(environment): recorded \(report.recorded.count) revision(s) as applied by baseline, from \(report.source)"
        )
        for revision in report.recorded { Console.out("  \(revision)") }
        if !report.alreadyRecorded.isEmpty {
            Console.out("\(report.alreadyRecorded.count) were already recorded")
        }
        if !report.differences.isEmpty {
            Console.out("accepted \(report.differences.count) schema difference(s), recorded in the event:")
            for difference in report.differences { Console.out("  \(difference)") }
        }
        return .done
    }
}
