import ArgumentParser

/// The operator's tool: everything here but `demo` runs without root against manifests, never against the kernel;
/// `demo` builds its own virtual cluster in network namespaces.
@main
struct Sluice: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Compile and inspect Sluice's data plane from Kubernetes manifests (no root needed).",
        subcommands: [
            CompileCommand.self, TraceCommand.self, PolicyCommand.self, RouteCommand.self, DemoCommand.self,
            StatusCommand.self,
        ])
}
