import ArgumentParser
import Foundation
import OrchestrateCore

/// The `orchestrate` command line.
public struct Orchestrate: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "orchestrate",
        abstract: "A git-aware, multi-environment migration orchestrator for PostgreSQL.",
        discussion: """
            Exit codes: 0 done; 1 a check or policy failed; 2 bad usage, config or migration file; \
            3 a database or git operation failed (nothing half-applied); 4 the environment is locked or frozen.
            """,
        version: "0.1.0",
        subcommands: [
            Init.self, New.self, Heads.self, Graph.self, History.self, Check.self, Status.self, Audit.self,
            PlanCommand.self, Upgrade.self,
            Promote.self, Downgrade.self, Lock.self, Unlock.self, Repair.self, Merge.self, Rebase.self, Verify.self,
            Doctor.self, SandboxCommand.self, Import.self, Baseline.self, Diff.self,
        ]
    )

    public init() {}

    /// Parses `arguments`, runs the command and returns the process exit code (DESIGN §6).
    public static func run(arguments: [String]) -> Int32 {
        if let refusal = unknownSubcommand(arguments) {
            Console.err(Console.style("error:", .red, forStderr: true) + " " + refusal)
            return 2
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            return 0
        } catch let error as OrchestrateError {
            let error = Interruption.classify(error)
            Console.report(error)
            return error.exitCode
        } catch let error as ExitCode {
            return error.rawValue
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { Console.out(message) }
                return 0
            }
            if !message.isEmpty { Console.err(message) }
            return 2
        }
    }

    /// The names of the subcommands.
    static var subcommandNames: [String] {
        configuration.subcommands.compactMap { $0.configuration.commandName }
    }

    /// The error for a first word that names no subcommand (`orchestrate upgarde dev`, `orchestrate help nosuch`),
    /// with the closest name; nil when the words are fine for the parser to handle.
    static func unknownSubcommand(_ arguments: [String]) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-") else { return nil }
        let names = subcommandNames
        if first == "help" {
            guard arguments.count > 1, let topic = arguments.dropFirst().first, !topic.hasPrefix("-"),
                !names.contains(topic)
            else { return nil }
            return "`\(topic)` is not an orchestrate command\(Suggestion.didYouMean(topic, among: names)); "
                + "`orchestrate --help` lists the commands"
        }
        guard !names.contains(first) else { return nil }
        return "`\(first)` is not an orchestrate command\(Suggestion.didYouMean(first, among: names)); "
            + "`orchestrate --help` lists the commands"
    }
}
