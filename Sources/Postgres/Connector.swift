internal import CLibPQ

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// Opens a PGconn the way `Connection.init` documents.
///
/// It uses libpq's non-blocking start (PQconnectStartParams, the same keyword/value semantics as
/// PQconnectdbParams) so that, before any byte reaches the server, the notice receiver is installed (startup
/// warnings never reach stderr) and error verbosity is raised (libpq's error text then carries the server's
/// SQLSTATE, for connection failures and lost connections).
/// It then drives PQconnectPoll with poll(2), enforcing connect_timeout the way libpq's blocking connect does:
/// the timer restarts for each host/port libpq moves on to. One difference: when the timer expires, the attempt
/// ends; libpq's blocking connect would go on to the next host or address of a multi-host connection string.
enum Connector {
    /// Returns an open PGconn that the caller must PQfinish; on failure the PGconn is already finished.
    static func open(
        conninfo: String, applicationName: String?, defaultConnectTimeout: Int, notices: NoticeReceiver
    ) throws(PostgresError) -> OpaquePointer {
        try LibPQ.requireNoNUL(conninfo, "the connection string")
        if let applicationName {
            try LibPQ.requireNoNUL(applicationName, "the application name")
        }
        // Parse first, so that a malformed string is reported as such (with a sanitized message).
        let userOptions = try ConnInfo.options(conninfo)
        let userSetsTimeout = userOptions.contains { $0.keyword == "connect_timeout" && !($0.value ?? "").isEmpty }
        let environmentSetsTimeout = !(environment("PGCONNECT_TIMEOUT") ?? "").isEmpty
        let secrets = userOptions.filter(\.isSecret).compactMap(\.value) + [environment("PGPASSWORD")].compactMap { $0 }

        // Entries before the expanded dbname are defaults the string overrides; entries after it win.
        var parameters: [(keyword: String, value: String)] = []
        if defaultConnectTimeout > 0 && !userSetsTimeout && !environmentSetsTimeout {
            parameters.append(("connect_timeout", String(defaultConnectTimeout)))
        }
        parameters.append(("dbname", ConnInfo.normalized(conninfo)))
        if let applicationName {
            parameters.append(("application_name", applicationName))
        }
        // Swift strings are Unicode: have the server convert to UTF-8 whatever the database encoding.
        parameters.append(("client_encoding", "UTF8"))

        let started = LibPQ.withCStrings(parameters.map(\.keyword), nullTerminated: true) { keywords in
            LibPQ.withCStrings(parameters.map(\.value), nullTerminated: true) { values in
                PQconnectStartParams(keywords, values, 1)
            }
        }
        guard let handle = started else {
            throw PostgresError(kind: .connection, message: "libpq could not allocate a connection (out of memory)")
        }
        notices.install(on: handle)
        _ = PQsetErrorVerbosity(handle, PQERRORS_VERBOSE)
        do throws(PostgresError) {
            try waitUntilConnected(handle, secrets: secrets)
        } catch {
            PQfinish(handle)
            throw error
        }
        // Verbosity stays high: a lost connection's SQLSTATE (57P01 ...) survives only in PQerrorMessage.
        return handle
    }

    /// Drives PQconnectPoll until the connection is made, fails, or connect_timeout expires.
    private static func waitUntilConnected(_ handle: OpaquePointer, secrets: [String]) throws(PostgresError) {
        func failure(adding extra: String? = nil) -> PostgresError {
            var text = LibPQ.string(PQerrorMessage(handle)) ?? ""
            if let extra {
                text += (text.isEmpty || text.hasSuffix("\n") ? "" : "\n") + extra
            }
            let effectiveSecrets = effectiveOptions(handle).filter(\.isSecret).compactMap(\.value)
            return PostgresError(libpqText: text, kind: .connection, secrets: secrets + effectiveSecrets)
        }
        if PQstatus(handle) == CONNECTION_BAD {
            throw failure()
        }
        let timeout = try connectTimeout(of: handle)
        var polling = PGRES_POLLING_WRITING
        var target = ""
        var deadline: ContinuousClock.Instant?
        while true {
            switch polling {
            case PGRES_POLLING_OK:
                return
            case PGRES_POLLING_READING, PGRES_POLLING_WRITING:
                break
            default:
                throw failure()
            }
            if let timeout {
                let current = "\(LibPQ.string(PQhost(handle)) ?? "") \(LibPQ.string(PQport(handle)) ?? "")"
                if current != target || deadline == nil {
                    target = current
                    deadline = ContinuousClock.now.advanced(by: timeout)
                }
            }
            switch waitForSocket(of: handle, writing: polling == PGRES_POLLING_WRITING, until: deadline) {
            case .ready:
                break
            case .timedOut:
                throw failure(adding: "timeout expired")
            case .failed(let reason):
                throw failure(adding: reason)
            }
            polling = PQconnectPoll(handle)
        }
    }

    /// libpq's connect_timeout as it will apply: nil for none (unset, 0 or negative), at least 2 seconds.
    private static func connectTimeout(of handle: OpaquePointer) throws(PostgresError) -> Duration? {
        let value = effectiveOptions(handle).first { $0.keyword == "connect_timeout" }?.value?.trimmed ?? ""
        guard !value.isEmpty else { return nil }
        // libpq's own range: an int. A larger number (9223372036854775807) would overflow the deadline arithmetic.
        guard let seconds = Int32(value) else {
            throw PostgresError(
                kind: .invalidConnectionString,
                message: "invalid integer value \"\(value)\" for connection option \"connect_timeout\"; "
                    + "give a whole number of seconds")
        }
        return seconds > 0 ? .seconds(max(Int(seconds), 2)) : nil
    }

    private enum WaitOutcome {
        case ready, timedOut, failed(String)
    }

    /// Waits with poll(2) until the connection's socket is readable (or writable), or `deadline` passes.
    private static func waitForSocket(
        of handle: OpaquePointer, writing: Bool, until deadline: ContinuousClock.Instant?
    ) -> WaitOutcome {
        let socket = PQsocket(handle)
        guard socket >= 0 else { return .failed("invalid socket") }
        var descriptor = pollfd(fd: socket, events: Int16(writing ? POLLOUT : POLLIN), revents: 0)
        while true {
            var milliseconds: Int32 = -1
            if let deadline {
                let remaining = ContinuousClock.now.duration(to: deadline)
                if remaining <= .zero {
                    return .timedOut
                }
                let (seconds, attoseconds) = remaining.components
                let rounded = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
                milliseconds = Int32(clamping: rounded)
            }
            let ready = poll(&descriptor, 1, milliseconds)
            if ready > 0 {
                return .ready
            }
            if ready < 0 {
                let code = errno
                if code != EINTR {
                    return .failed("could not wait for the server: \(String(cString: strerror(code)))")
                }
            }
        }
    }

    /// The options libpq is using for `handle` (PQconninfo), including values from the environment.
    static func effectiveOptions(_ handle: OpaquePointer) -> [LibPQ.Option] {
        guard let info = PQconninfo(handle) else { return [] }
        defer { PQconninfoFree(info) }
        return LibPQ.options(info)
    }

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
