import Foundation
import OrchestrateCLI

exit(Orchestrate.run(arguments: Array(CommandLine.arguments.dropFirst())))
