import ArgumentParser
import Foundation
import Testing

@testable import OrchestrateCLI

/// Every command names itself. Without `commandName:`, ArgumentParser derives the name from the type's name at run
/// time (`String(describing:)`), which on Linux scans every protocol conformance of the process: about 30 % of the
/// instructions of `orchestrate --help`.
@Suite("command names")
struct CommandNameTests {
    @Test("every command's configuration has an explicit commandName")
    func explicitNames() {
        var missing: [String] = []
        var names: [String] = []
        func visit(_ command: any ParsableCommand.Type, path: String) {
            let configuration = command.configuration
            guard let name = configuration.commandName else {
                missing.append("\(path) \(command)")
                return
            }
            names.append("\(path) \(name)".trimmingCharacters(in: .whitespaces))
            for subcommand in configuration.subcommands {
                visit(subcommand, path: "\(path) \(name)")
            }
        }
        visit(Orchestrate.self, path: "")
        #expect(missing.isEmpty, "commands without commandName: \(missing)")
        #expect(names.contains("orchestrate upgrade"))
        #expect(names.contains("orchestrate sandbox status"))
        #expect(names.count >= 20)
    }
}
