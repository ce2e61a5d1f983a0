import ArgumentParser
import Foundation
import Migrations
import OrchestrateCore

struct New: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Write a new migration on top of the single head.",
        discussion: "The file is migrations/YYYYMMDDHHMMSS_slug.sql (UTC) with `-- parent:` set to the current head.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "What the migration does, e.g. \"add orders\".") var words: [String] = []
    @Option(
        name: [.customShort("m"), .customLong("message")],
        help: ArgumentHelp("The message, as with `alembic revision -m`.", valueName: "message"))
    var option: String?
    @Flag(name: .long, help: "Mark it `-- transaction: false` (for CREATE INDEX CONCURRENTLY and the like).")
    var noTransaction = false

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
    }

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        let project = context.project
        let path = try Authoring.newRevision(in: project, message: message, transactional: !noTransaction)
        Console.out(path)
        return .done
    }
}
