import ArgumentParser
import OrchestrateCore

struct Diff: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare an environment's live schema with what its applied revisions produce (schema drift).",
        discussion: """
            The revisions ENV's ledger records as applied are replayed, with the up SQL the ledger recorded and in the \
            order they were applied, on a scratch database (a throwaway database on the sandbox, or --scratch-url, an \
            empty database that keeps the replay), and that schema is compared with ENV's, both without the ledger's \
            schema and other tools' tables (alembic_version, ...). Each difference is printed with the SQL that would \
            bring ENV back to what its revisions say, destructive statements marked; nothing is run on ENV. The replayed \
            schema is cached in .orchestrate/cache/ by the applied set, so a second diff (or status --drift) does not \
            replay again; --no-cache replays anyway. Exits 0 when the schemas match, 1 on drift, 3 when it cannot be \
            told (a database cannot be read, the ledger is damaged, a revision was interrupted or fails on the scratch \
            database).
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The environment.") var environment: String
    @OptionGroup var scratch: ScratchOptions
    @Flag(name: .long, help: "Replay even when the cache holds the schema of these revisions, and rewrite it.")
    var noCache = false

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        context.handleInterrupts()
        let report = try context.orchestrator.diff(environment, scratchURL: scratch.scratchURL, useCache: !noCache)
        if output.json {
            try Console.json(report)
        } else {
            DriftPrinter.render(report)
        }
        return report.drifted ? .checkFailed : .done
    }
}
