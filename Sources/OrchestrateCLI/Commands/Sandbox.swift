import ArgumentParser
import Foundation
import OrchestrateCore

struct SandboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "The project's throwaway PostgreSQL cluster, behind `sandbox:NAME` database URLs.",
        discussion:
            "It lives in .orchestrate/sandbox/ (ignored by git), listens only on a Unix socket, and starts by itself when an environment uses it.",
        subcommands: [Start.self, Stop.self, Info.self])

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start", abstract: "Create (if needed) and start the sandbox.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let sandbox = Sandbox(projectRoot: try global.projectRoot())
            switch try sandbox.start() {
            case .alreadyRunning: Console.out("sandbox already running")
            case .started: Console.out("sandbox started")
            case .initializedAndStarted: Console.out("sandbox created and started")
            }
            Console.out("connect with: psql \"\(sandbox.conninfo(database: "postgres"))\"")
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stop", abstract: "Stop the sandbox (its data stays).")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let sandbox = Sandbox(projectRoot: try global.projectRoot())
            let wasRunning = sandbox.isRunning()
            try sandbox.stop()
            Console.out(wasRunning ? "sandbox stopped" : "sandbox was not running")
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Whether the sandbox runs, and where.",
            discussion:
                "A report: exits 0 whether it runs or not (like `pg_ctl status` would not); `--json` for scripts.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        /// The `--json` document.
        struct Report: Encodable {
            var running: Bool
            var conninfo: String?
            var dataDirectory: String
            var initialized: Bool
        }

        func run() throws {
            let sandbox = Sandbox(projectRoot: try global.projectRoot())
            let running = sandbox.isRunning()
            let initialized = FileManager.default.fileExists(atPath: sandbox.dataDirectory + "/PG_VERSION")
            if output.json {
                return try Console.json(
                    Report(
                        running: running, conninfo: running ? sandbox.conninfo(database: "postgres") : nil,
                        dataDirectory: sandbox.dataDirectory, initialized: initialized))
            }
            if running {
                Console.out("running: \(sandbox.conninfo(database: "postgres"))")
                Console.out("data: \(sandbox.dataDirectory)")
            } else if initialized {
                Console.out("not running (data: \(sandbox.dataDirectory)); `orchestrate sandbox start` starts it")
            } else {
                Console.out(
                    "not created yet: it is created the first time an environment uses sandbox:NAME, or by `orchestrate sandbox start`"
                )
            }
        }
    }
}
