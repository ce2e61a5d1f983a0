import ArgumentParser
import OrchestrateCore

/// How a command ended, as the process sees it (DESIGN §6). Errors carry their own code (`OrchestrateError.exitCode`);
/// this is the one place where a command that finished its work turns what it found into an exit code.
enum CommandOutcome: Int32 {
    /// Done, nothing to report: exit 0.
    case done = 0
    /// A check or policy failed (findings, verify problems, doctor failures): exit 1.
    case checkFailed = 1
    /// A report found an invalid migration file (check): exit 2.
    case invalidInput = 2
    /// A report could not read something it was asked about (status): exit 3.
    case unreadable = 3

    /// Ends the command with this outcome's exit code.
    func finish() throws {
        if self != .done { throw ExitCode(rawValue) }
    }
}

/// What a command working on a project gets: the project, and the core objects wired to the console's progress.
struct CommandContext {
    let project: Project

    /// The writing commands, reporting progress on the console.
    var orchestrator: Orchestrator {
        Orchestrator(project: project, interruptions: .process, progress: Console.progress)
    }
    /// The reading commands, reporting progress on the console.
    var inspector: Inspector { Inspector(project: project, interruptions: .process, progress: Console.progress) }

    /// Makes Ctrl-C and SIGTERM cancel the running statement and roll back; called right before a command runs
    /// revisions (after any confirmation prompt, which Ctrl-C must simply end).
    func handleInterrupts() {
        Interrupts.install()
    }
}

/// A subcommand that works on the project found from the working directory (or `--project`): `run()` loads it,
/// hands it to `execute`, and turns the outcome into the exit code.
protocol ProjectCommand: ParsableCommand {
    /// `--project`.
    var global: GlobalOptions { get }
    /// Does the command's work; throws `OrchestrateError` for what stops it.
    func execute(_ context: CommandContext) throws -> CommandOutcome
}

extension ProjectCommand {
    func run() throws {
        try execute(CommandContext(project: try global.loadProject())).finish()
    }
}
