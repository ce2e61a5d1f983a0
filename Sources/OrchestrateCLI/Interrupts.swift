import Foundation
import OrchestrateCore

/// Ctrl-C handling for the writing commands: the first Ctrl-C (or SIGTERM) cancels the running statement and lets
/// the run roll back, record the interruption and release the lock; a second one exits at once.
enum Interrupts {
    static func install() {
        Interruption.install { signal, count in
            if count == 1 {
                Console.err(
                    Console.style("interrupting:", .yellow, forStderr: true)
                        + " cancelling the running statement and rolling back (press Ctrl-C again to exit at once)")
            } else {
                Console.err(
                    "exiting at once; the server rolls back what was open, and the environment lock is released with the connection"
                )
                _exit(128 + signal)
            }
        }
    }
}
