import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a program to its end with posix_spawn and waitpid, its output captured through temporary files.
///
/// Foundation's `Process` can miss the exit of a child whose own children outlive it (pg_ctl leaves the server
/// running), and pipes inherited by such a long-lived grandchild never reach end-of-file. Files and a plain
/// `waitpid` have neither problem.
public enum ChildProcess {
    /// The exit status and output of a finished program.
    public struct Outcome: Sendable {
        /// The exit code, or 128 + the signal number when a signal ended it.
        public var status: Int32
        /// What it wrote to stdout.
        public var stdout: String
        /// What it wrote to stderr.
        public var stderr: String
        /// Both, stdout first.
        public var output: String { stdout + stderr }
    }

    /// Runs `executable` with `arguments` in `directory`, with `stdin` (or /dev/null) as its input.
    ///
    /// With `timeout`, a child still running after that many seconds is killed (SIGKILL) and the call throws: a caller
    /// that must never hang (a test) says so.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String],
        directory: String = "/", stdin: String? = nil,
        timeout: Double? = nil
    ) throws(OrchestrateError) -> Outcome {
        let base = NSTemporaryDirectory() + "orchestrate-child-\(getpid())-\(UUID().uuidString.prefix(8))"
        let (inputPath, outputPath, errorPath) = (base + ".in", base + ".out", base + ".err")
        defer { for path in [inputPath, outputPath, errorPath] { unlink(path) } }
        if let stdin {
            guard FileManager.default.createFile(atPath: inputPath, contents: Data(stdin.utf8)) else {
                throw .operation("cannot write \(inputPath)")
            }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin == nil ? "/dev/null" : inputPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // Nothing else crosses over: a server started here outlives us, and must not keep the caller's pipes or
        // sockets open (a CI step, or Foundation's Process in a test, would wait for their end forever).
        if let open = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            for descriptor in open.compactMap({ Int32($0) }) where descriptor > 2 {
                posix_spawn_file_actions_addclose(&actions, descriptor)
            }
        }

        // The working directory is set by a shell (posix_spawn_file_actions_addchdir_np is not visible from Swift's
        // Glibc module): a server user such as `postgres` may not be allowed into the caller's directory.
        let shell = "/bin/sh"
        let argv: [UnsafeMutablePointer<CChar>?] =
            ([shell, "-c", "cd \"$0\" && exec \"$@\"", directory, executable] + arguments)
            .map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        // The child starts with no signal blocked and default handlers: a server it starts must stop on SIGTERM even
        // when the caller's thread blocks signals (test runners and signal-handling threads do).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, shell, &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw .operation("cannot run \(executable): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        if let timeout {
            let deadline = Date().addingTimeInterval(timeout)
            while true {
                let done = waitpid(pid, &status, WNOHANG)
                if done == pid { break }
                if done < 0, errno != EINTR {
                    throw .operation("cannot wait for \(executable): \(String(cString: strerror(errno)))")
                }
                if Date() >= deadline {
                    kill(pid, SIGKILL)
                    _ = waitpid(pid, &status, 0)
                    throw .operation(
                        "\(executable) \(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s and was killed"
                    )
                }
                usleep(2_000)
            }
        } else {
            while waitpid(pid, &status, 0) < 0 {
                guard errno == EINTR else {
                    throw .operation("cannot wait for \(executable): \(String(cString: strerror(errno)))")
                }
            }
        }
        // WIFEXITED / WEXITSTATUS are macros; decode the status word by hand.
        let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(
            status: exitStatus,
            stdout: (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "")
    }
}
