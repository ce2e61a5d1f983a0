import ArgumentParser
import Foundation
import OrchestrateCore

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The project folder (the one holding environments/); default: found by walking up from the working directory.",
            valueName: "dir"))
    var project: String?

    /// Loads the project from `--project` or the working directory.
    func loadProject() throws(OrchestrateError) -> Project {
        let root = try Project.locateRoot(from: FileManager.default.currentDirectoryPath, explicit: project)
        return try Project.load(root: root, processEnvironment: ProcessInfo.processInfo.environment)
    }

    /// The project root only.
    func projectRoot() throws(OrchestrateError) -> String {
        try Project.locateRoot(from: FileManager.default.currentDirectoryPath, explicit: project)
    }
}

/// Options of reporting commands.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print a JSON document instead of text.")
    var json = false
}

/// How a writing run groups revisions into transactions.
struct TransactionOptions: ParsableArguments {
    @Flag(
        name: .long,
        help:
            "Run every revision in one transaction: all land or none (refused when a revision is non-transactional). Same as transaction = \"all\" in the environment's file."
    )
    var singleTransaction = false

    var options: RunOptions { RunOptions(singleTransaction: singleTransaction) }
}

/// `--scratch-url`: where `baseline`, `diff` and `new --from-db/--from-schema` replay revisions.
struct ScratchOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "An empty database to replay the revisions on (default: a throwaway database on the sandbox).",
            valueName: "url"))
    var scratchURL: String?
}

/// Asks for confirmation before work on a protected environment: `--yes`, or the environment's name typed on a
/// terminal after the plan (from `preview`, when it can be computed) is shown. Without either nothing runs.
///
/// `planCommand` is the `plan` invocation that previews this action (nil for actions without a plan, such as unlock).
func confirmProtected(
    _ environment: EnvironmentConfig, action: String, yes: Bool, planCommand: String? = nil,
    preview: () throws(OrchestrateError) -> PlanReport? = { nil }
) throws(OrchestrateError) {
    guard environment.isProtected, !yes else { return }
    guard isatty(STDIN_FILENO) == 1, Console.stderrIsTerminal else {
        throw .policy(
            "environment `\(environment.name)` is protected: \(action) needs --yes when there is no terminal to confirm on; nothing was run",
            hint: planCommand.map { "rerun with --yes once the plan (`\($0)`) is what you expect" }
                ?? "rerun with --yes to \(action) `\(environment.name)`")
    }
    if let report = try preview() {
        for line in PlanPrinter.lines(report) { Console.err(line) }
    }
    FileHandle.standardError.write(Data("`\(environment.name)` is protected. Type its name to \(action): ".utf8))
    guard let answer = readLine(strippingNewline: true), answer.trimmingCharacters(in: .whitespaces) == environment.name
    else {
        throw .policy("not confirmed; nothing was run")
    }
}
