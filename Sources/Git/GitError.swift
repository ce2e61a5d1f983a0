/// A failed git operation: what happened, where, and what to do next.
///
/// `message` is complete and meant for the user; `code` is what callers switch on. `libgitCode` and
/// `libgitClass` carry libgit2's raw error code (`GIT_ENOTFOUND` is -3) and error class when the failure
/// came from libgit2, for diagnostics only.
public struct GitError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Code: Sendable, Hashable {
        /// A revision, reference, object or path does not exist.
        case notFound
        /// A short commit id or reference name matches several objects.
        case ambiguous
        /// The folder is not inside a git repository.
        case notARepository
        /// The repository belongs to another user and is not listed in `safe.directory`.
        case unsafeOwnership
        /// The repository is a shallow clone that lacks the history the operation needs.
        case shallowHistory
        /// HEAD names a branch that has no commits yet.
        case unbornBranch
        /// A revision expression is malformed, or names something that is not a commit.
        case invalidSpec
        /// Any other failure; `message` says which.
        case other
    }

    /// What kind of failure this is.
    public var code: Code
    /// The full explanation: what happened, where, and what to do next.
    public var message: String
    /// libgit2's return code (negative), or 0 when the failure did not come from a libgit2 call.
    public var libgitCode: Int32
    /// libgit2's error class (`git_error_t`), when libgit2 reported one.
    public var libgitClass: Int32?

    /// Makes an error; the module makes its own, this is for callers and tests that need one.
    public init(code: Code, message: String, libgitCode: Int32 = 0, libgitClass: Int32? = nil) {
        self.code = code
        self.message = message
        self.libgitCode = libgitCode
        self.libgitClass = libgitClass
    }

    /// The message.
    public var description: String { message }
}
