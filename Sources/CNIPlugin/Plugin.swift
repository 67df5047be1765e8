/// The CNI plugin's entry point: one call with the process's environment and stdin, one answer for stdout.
///
/// Kept apart from the executable so tests can drive the whole protocol in-process and so `sluice-cni`'s
/// `main.swift` stays a few lines of I/O.
public enum Plugin {
    /// What to print on stdout and the exit status.
    public struct Outcome: Sendable, Hashable {
        public let stdout: String
        public let status: Int32
    }

    /// Runs one CNI command.
    ///
    /// - Parameters:
    ///   - environment: looks up a variable (`getenv` in the executable).
    ///   - stdin: the configuration the runtime wrote.
    public static func run(environment: (String) -> String?, stdin: [UInt8]) -> Outcome {
        // VERSION first and without parsing anything beyond the version: runtimes call it all the time, with a
        // configuration that is only `{"cniVersion": …}` and `CNI_PATH=dummy`.
        if environment("CNI_COMMAND") == PluginEnvironment.Command.version.rawValue {
            let requested = requestedVersion(stdin)
            let document = JSON.object([
                ("cniVersion", .string(requested ?? CNIVersion.latest)),
                ("supportedVersions", .array(CNIVersion.supported.map(JSON.string))),
            ])
            return Outcome(stdout: document.text + "\n", status: 0)
        }
        do {
            let parsedEnvironment = try PluginEnvironment(environment)
            let network = try NetworkConfiguration(stdin: stdin, environment: parsedEnvironment)
            let commands = Commands(environment: parsedEnvironment, network: network)
            switch parsedEnvironment.command {
            case .add:
                return Outcome(stdout: try commands.add().document(version: network.cniVersion).text + "\n", status: 0)
            case .delete:
                try commands.delete()
            case .check:
                try commands.check()
            case .garbageCollect:
                try commands.garbageCollect()
            case .status:
                try commands.status()
            case .version:
                break
            }
            return Outcome(stdout: "", status: 0)
        } catch {
            let version = requestedVersion(stdin) ?? CNIVersion.latest
            return Outcome(stdout: error.document(cniVersion: version).text + "\n", status: 1)
        }
    }

    /// The configuration's `cniVersion` when it is one this plugin speaks, for answering in it.
    private static func requestedVersion(_ stdin: [UInt8]) -> String? {
        guard case .string(let version) = (try? JSON.parse(stdin))?["cniVersion"],
            CNIVersion.supported.contains(version)
        else {
            return nil
        }
        return version
    }
}
