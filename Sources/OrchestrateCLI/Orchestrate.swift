import ArgumentParser
import Foundation
import Logging
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
            New.self, Heads.self, Graph.self, Check.self, Status.self, Audit.self, PlanCommand.self, Upgrade.self,
            Promote.self, Downgrade.self, Lock.self, Unlock.self, Repair.self, Merge.self, Rebase.self, Verify.self,
            Doctor.self, SandboxCommand.self,
        ]
    )

    public init() {}

    /// Parses `arguments`, runs the command and returns the process exit code (DESIGN §6).
    public static func run(arguments: [String]) -> Int32 {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["ORCHESTRATE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
            return handler
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
}
