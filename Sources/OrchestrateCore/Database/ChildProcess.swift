import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to its end with posix_spawn and waitpid, its output captured through a temporary file.
///
/// Foundation's `Process` can miss the exit of a child whose own children outlive it (pg_ctl leaves the server
/// running), and then `waitUntilExit` never returns; a plain `waitpid` has no such problem.
enum ChildProcess {
    /// The exit status and combined output of a finished program.
    struct Outcome {
        var status: Int32
        var output: String
    }

    /// Runs `executable` with `arguments` in `/`, stdin from /dev/null, stdout and stderr captured.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]) throws(OrchestrateError) -> Outcome {
        let outputPath = NSTemporaryDirectory() + "orchestrate-child-\(getpid())-\(UUID().uuidString.prefix(8)).log"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else crosses over: a server started here outlives us, and must not keep the caller's pipes or
        // sockets open (a CI step, or Foundation's Process in a test, would wait for their end forever).
        if let open = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            for descriptor in open.compactMap({ Int32($0) }) where descriptor > 2 {
                posix_spawn_file_actions_addclose(&actions, descriptor)
            }
        }

        // Run in `/` (posix_spawn_file_actions_addchdir_np is not visible from Swift's Glibc module): a server user
        // such as `postgres` may not be allowed into the caller's working directory.
        let shell = "/bin/sh"
        let argv: [UnsafeMutablePointer<CChar>?] = ([shell, "-c", "cd / && exec \"$@\"", "sh", executable] + arguments)
            .map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, shell, &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw .operation("cannot run \(executable): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else {
                throw .operation("cannot wait for \(executable): \(String(cString: strerror(errno)))")
            }
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS are macros; decode the status word by hand.
        let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: exitStatus, output: output)
    }
}
