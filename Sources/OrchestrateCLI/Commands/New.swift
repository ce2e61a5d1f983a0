import ArgumentParser
import Foundation
import Migrations
import OrchestrateCore

struct New: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Write a new migration on top of the single head.",
        discussion: "The file is migrations/YYYYMMDDHHMMSS_slug.sql (UTC) with `-- parent:` set to the current head.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "What the migration does, e.g. \"add orders\".") var words: [String] = []
    @Option(name: [.customShort("m"), .customLong("message")], help: ArgumentHelp("The message, as with `alembic revision -m`.", valueName: "message"))
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
            throw ValidationError("give a message, e.g. `orchestrate new add orders` or `orchestrate new -m \"add orders\"`")
        }
    }

    func run() throws {
        let project = try global.loadProject()
        let path = try Authoring.newRevision(in: project, message: message, transactional: !noTransaction)
        Console.out(path)
    }
}

struct Heads: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "heads", abstract: "The revisions with no children (one, unless branches diverged).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let project = try global.loadProject()
        let migrations = try project.loadMigrations()
        let heads = migrations.graph.heads
        if output.json { return try Console.json(["heads": heads]) }
        for head in heads { Console.out(head) }
        if heads.count > 1 {
            Console.err(Console.style("warning:", .yellow, forStderr: true)
                        + " \(heads.count) heads: `orchestrate merge` joins them, or `orchestrate rebase REV --onto OTHER` moves one that no environment has applied")
        }
    }
}

struct Lock: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Freeze an environment: every writing command refuses it until `unlock`.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The environment.") var environment: String
    @Option(name: .long, help: "Why it is frozen (shown to everyone who is refused).") var reason: String

    func run() throws {
        let project = try global.loadProject()
        try Orchestrator(project: project, progress: Console.progress).freeze(environment, reason: reason)
        Console.out("\(environment): frozen (\(reason))")
    }
}

struct Unlock: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unlock", abstract: "Thaw a frozen environment.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The environment.") var environment: String
    @Flag(name: .long, help: "Confirm work on a protected environment without a prompt.") var yes = false

    func run() throws {
        let project = try global.loadProject()
        try confirmProtected(try project.environment(environment), action: "unlock", yes: yes)
        if let freeze = try Orchestrator(project: project, progress: Console.progress).thaw(environment) {
            Console.out("\(environment): thawed (was \(freeze.summary))")
        } else {
            Console.out("\(environment): was not frozen")
        }
    }
}

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the setup line by line: configs, variables, databases, ledger, git.",
        discussion: "Exits 1 when any check fails.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let root = try global.projectRoot()
        let checks = OrchestrateCore.Doctor.run(projectRoot: root, processEnvironment: ProcessInfo.processInfo.environment,
                                                progress: Console.progress)
        if output.json {
            try Console.json(checks)
        } else {
            for check in checks {
                let mark: String
                switch check.outcome {
                case .ok: mark = Console.style("ok  ", .green)
                case .warning: mark = Console.style("warn", .yellow)
                case .failed: mark = Console.style("FAIL", .red)
                }
                Console.out("\(mark)  \(check.subject): \(check.detail.replacingOccurrences(of: "\n", with: "\n        "))")
            }
        }
        if checks.contains(where: { $0.outcome == .failed }) { throw ExitCode(1) }
    }
}
