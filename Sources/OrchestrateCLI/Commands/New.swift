import ArgumentParser
import Foundation
import Migrations
import OrchestrateCore

struct New: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Write a new migration on top of the single head.",
        discussion: """
            The file is migrations/YYYYMMDDHHMMSS_slug.sql (UTC) with `-- parent:` set to the current head.

            Autogenerate: with --from-db (a connection string, or an environment's name) or --from-schema (a SQL file, \
            applied to a scratch database in a transaction that is rolled back), the head of migrations/ is replayed on \
            a scratch database (a throwaway database on the sandbox, or --scratch-url; cached in .orchestrate/cache/) and \
            compared with that schema: the new revision's up section holds the statements that turn the head's schema \
            into it, its down section the reverse, destructive statements flagged `-- DESTROYS DATA`, renames never \
            guessed. Nothing is written when there is no difference or when anything fails.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "What the migration does, e.g. \"add orders\".") var words: [String] = []
    @Option(
        name: [.customShort("m"), .customLong("message")],
        help: ArgumentHelp("The message, as with `alembic revision -m`.", valueName: "message"))
    var option: String?
    @Flag(name: .long, help: "Mark it `-- transaction: false` (for CREATE INDEX CONCURRENTLY and the like).")
    var noTransaction = false
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Generate the SQL from this database's schema: a connection string, or an environment's name.",
            valueName: "url"))
    var fromDB: String?
    @Option(
        name: .long,
        help: ArgumentHelp("Generate the SQL from the schema this SQL file builds.", valueName: "file"))
    var fromSchema: String?
    @OptionGroup var scratch: ScratchOptions

    /// The message, from `-m` or the words.
    var message: String { option ?? words.joined(separator: " ") }

    func validate() throws {
        if option != nil, !words.isEmpty {
            throw ValidationError("give the message once: either `-m MESSAGE` or words after `new`")
        }
        if message.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ValidationError(
                "give a message, e.g. `orchestrate new add orders` or `orchestrate new -m \"add orders\"`")
        }
        if fromDB != nil, fromSchema != nil {
            throw ValidationError("give at most one of --from-db and --from-schema")
        }
        if scratch.scratchURL != nil, fromDB == nil, fromSchema == nil {
            throw ValidationError("--scratch-url goes with --from-db or --from-schema")
        }
    }

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        let project = context.project
        if let target = schemaTarget {
            context.handleInterrupts()
            let report = try context.orchestrator.autogenerate(
                message: message, from: target, scratchURL: scratch.scratchURL, transactional: !noTransaction)
            guard let path = report.path else {
                Console.out(
                    "no difference: the head of migrations/ already produces the schema of \(report.source); nothing was written"
                )
                return .done
            }
            Console.out(path)
            let destructive = report.changes.filter(\.destroysData).count
            Console.err(
                "wrote \(report.changes.count) change(s) from \(report.source)"
                    + (destructive > 0 ? ", \(destructive) destroying data (marked DESTROYS DATA)" : "")
                    + "; review it, then `orchestrate verify`:")
            for change in report.changes { Console.err("  \(change)") }
            return .done
        }
        let path = try Authoring.newRevision(in: project, message: message, transactional: !noTransaction)
        Console.out(path)
        return .done
    }

    /// Where `--from-db` / `--from-schema` take the schema; nil for a plain `new`. A file is resolved against the
    /// working directory, as the user typed it.
    private var schemaTarget: SchemaTarget? {
        if let fromDB { return .database(fromDB) }
        guard let fromSchema else { return nil }
        let absolute =
            fromSchema.hasPrefix("/")
            ? fromSchema : FileManager.default.currentDirectoryPath + "/" + fromSchema
        return .file(path: absolute, display: fromSchema)
    }
}
