import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// One run of the `orchestrate` binary that is killed when it exceeds its time: a hang is a finding, not a stuck test.
struct TimedRun: Sendable {
    /// How the run ended.
    enum Ending: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)
        case timedOut

        var description: String {
            switch self {
            case .exited(let code): "exit \(code)"
            case .signaled(let signal): "killed by signal \(signal)"
            case .timedOut: "still running at the timeout, killed"
            }
        }
    }

    var arguments: [String]
    var ending: Ending
    var stdout: String
    var stderr: String
    var seconds: Double
    var output: String { stdout + stderr }

    /// Runs `orchestrate arguments` in `directory` with `environment` replacing the process environment, its
    /// output going to files (a pipe kept open by a grandchild could not hang us either).
    static func run(
        _ arguments: [String], in directory: String, environment: [String: String],
        timeout: Double = 10
    ) throws -> TimedRun {
        let base = NSTemporaryDirectory() + "orchestrate-fuzz-run-" + UUID().uuidString.prefix(12)
        let (outPath, errPath) = (base + ".out", base + ".err")
        defer { unlink(outPath); unlink(errPath) }
        guard FileManager.default.createFile(atPath: outPath, contents: nil),
            FileManager.default.createFile(atPath: errPath, contents: nil)
        else {
            throw TestSupportError("cannot create \(outPath)")
        }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestProject.binaryPath())
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        let started = Date()
        try process.run()
        try? out.close()
        try? err.close()
        let deadline = started.addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() >= deadline {
                kill(process.processIdentifier, SIGKILL)
                timedOut = true
                break
            }
            usleep(5_000)
        }
        process.waitUntilExit()
        let ending: Ending =
            timedOut
            ? .timedOut
            : process.terminationReason == .uncaughtSignal
                ? .signaled(process.terminationStatus) : .exited(process.terminationStatus)
        let read = { (path: String) in
            String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        }
        return TimedRun(
            arguments: arguments, ending: ending, stdout: read(outPath), stderr: read(errPath),
            seconds: Date().timeIntervalSince(started))
    }
}
