import ArgumentParser
import Foundation
import Migrations
import OrchestrateCore

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the setup line by line: configs, variables, databases, ledger, git.",
        discussion: "Exits 1 when any check fails.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let root = try global.projectRoot()
        let checks = OrchestrateCore.Doctor.run(
            projectRoot: root, processEnvironment: ProcessInfo.processInfo.environment, interruptions: .process,
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
                Console.out(
                    "\(mark)  \(check.subject): \(check.detail.replacingOccurrences(of: "\n", with: "\n        "))")
            }
        }
        try (checks.contains(where: { $0.outcome == .failed }) ? CommandOutcome.checkFailed : .done).finish()
    }
}
