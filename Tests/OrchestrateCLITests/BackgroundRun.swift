import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// An `orchestrate` run started in the background, for tests that signal, kill or race it.
final class BackgroundRun: @unchecked Sendable {
    let process = Process()
    private let out = Pipe(), err = Pipe()
    private let group = DispatchGroup()
    private let outData = Mutex(Data()), errData = Mutex(Data())

    /// Starts `orchestrate arguments` in the project folder.
    init(_ project: TestProject, _ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: try TestProject.binaryPath())
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: project.root)
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        for (pipe, box) in [(out, outData), (err, errData)] {
            group.enter()
            // Read as it comes, so a test can wait for a line the run prints instead of sleeping.
            DispatchQueue.global().async { [group] in
                while true {
                    let data = pipe.fileHandleForReading.availableData
                    if data.isEmpty { break }
                    box.withLock { $0.append(data) }
                }
                group.leave()
            }
        }
    }

    var pid: Int32 { process.processIdentifier }

    /// What the run has written to stderr so far.
    var stderrSoFar: String { String(decoding: errData.withLock { $0 }, as: UTF8.self) }

    /// Sends `signal` to the process.
    func send(_ signal: Int32) { kill(pid, signal) }

    /// How a background run ended.
    struct Outcome {
        var exitCode: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout + stderr }
    }

    /// Waits for the end (at most `timeout` seconds: a run still going then is killed, so a hang fails the test
    /// instead of holding the suite) and returns what it printed.
    func wait(timeout: Double = 120) -> Outcome {
        if group.wait(timeout: .now() + timeout) == .timedOut {
            kill(pid, SIGKILL)
            group.wait()
        }
        process.waitUntilExit()
        return Outcome(
            exitCode: process.terminationStatus,
            stdout: String(decoding: outData.withLock { $0 }, as: UTF8.self),
            stderr: String(decoding: errData.withLock { $0 }, as: UTF8.self))
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` seconds pass; returns whether it held.
@discardableResult
func waitUntil(timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return try condition()
}

/// The server processes of database `database` running a statement that contains `text` (not ours).
func backends(in database: String, running text: String) throws -> [Int32] {
    try TestPostgres.query(
        database,
        """
        SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND position($1 in query) > 0
        """, [.text(text)]
    ).compactMap { $0[0].flatMap { Int32($0) } }
}
