internal import CLibGit2

/// The result of `git_libgit2_init`, run once per process on first use (Swift initialises globals
/// lazily and thread-safely). libgit2 is never shut down: it lives as long as the process.
///
/// Trees up to 16 MiB are then made eligible for libgit2's object cache (the default is 4 KiB),
/// so a large `migrations/` tree is parsed once per version, not once per look-up. Objects are not
/// re-hashed on every read (as with git itself), which halves the cost of reading thousands of blobs.
private let libgit2InitializationResult: Int32 = {
    let result = git_libgit2_init()
    guard result >= 0 else { return result }
    return min(CLibGit2_set_tree_cache_limit(16 << 20), CLibGit2_disable_strict_hash_verification(), 0)
}()

/// The one place that calls libgit2 functions that can fail, and reads their errors.
///
/// libgit2 1.5.1 keeps its last error per thread and does not clear it on success, so
/// `git_error_last()` may be stale or NULL. Every call therefore clears the error first, runs the
/// function, and reads `git_error_last()` only after a negative return, before anything else runs.
enum LibGit2 {
    /// Initialises libgit2 if this process has not done so yet.
    static func initialize() throws(GitError) {
        let result = libgit2InitializationResult
        guard result >= 0 else {
            throw GitError(
                code: .other,
                message: "libgit2 could not be initialised (git_libgit2_init returned \(result))",
                libgitCode: result)
        }
    }

    /// Runs `body`, one libgit2 call named `function`, and returns its non-negative result.
    ///
    /// On a negative result, throws an error whose message is `context` followed by libgit2's own
    /// message (or, when libgit2 left none, the function's name and return code).
    @discardableResult
    static func call(
        _ function: StaticString,
        _ context: @autoclosure () -> String,
        _ body: () -> Int32
    ) throws(GitError) -> Int32 {
        git_error_clear()
        let result = body()
        guard result < 0 else { return result }
        throw lastError(result, function: function, context: context())
    }

    /// The error for a negative `result` just returned by `function`. Call it immediately after the call.
    static func lastError(_ result: Int32, function: StaticString, context: String) -> GitError {
        var libgitClass: Int32?
        var detail = "\(function) failed with code \(result)"
        if let last = git_error_last(), let text = last.pointee.message {
            libgitClass = last.pointee.klass
            detail = String(cString: text)
        }
        return GitError(
            code: code(for: result),
            message: "\(context): \(detail)",
            libgitCode: result,
            libgitClass: libgitClass)
    }

    /// The module's code for a libgit2 return code.
    static func code(for result: Int32) -> GitError.Code {
        switch result {
        case GIT_ENOTFOUND.rawValue: .notFound
        case GIT_EAMBIGUOUS.rawValue: .ambiguous
        case GIT_EUNBORNBRANCH.rawValue: .unbornBranch
        case GIT_EINVALIDSPEC.rawValue: .invalidSpec
        case GIT_EOWNER.rawValue: .unsafeOwnership
        default: .other
        }
    }

    /// libgit2's error class for failures of the object database (a missing object).
    static let objectDatabaseErrorClass = Int32(bitPattern: GIT_ERROR_ODB.rawValue)
    /// libgit2's error class for merge failures ("no merge base found").
    static let mergeErrorClass = Int32(bitPattern: GIT_ERROR_MERGE.rawValue)

    /// A copy of a C string owned by libgit2, or nil for NULL.
    static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
