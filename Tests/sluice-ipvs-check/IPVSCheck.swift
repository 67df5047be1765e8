import Foundation

/// The IPVS backend against a real IPVS kernel: run inside the VM (`scripts/run-in-vm.sh`) by
/// Tests/IPVSKernelTests, or with `bench SERVICES ENDPOINTS` by `sluice-bench ipvs`. Never run it on a machine you
/// care about: it programs the network namespace it starts in (the VM's root namespace).
@main
struct IPVSCheck {
    static func main() async {
        let arguments = CommandLine.arguments
        if arguments.count >= 2, arguments[1] == "bench" {
            let services = arguments.count > 2 ? Int(arguments[2]) ?? 1000 : 1000
            let endpoints = arguments.count > 3 ? Int(arguments[3]) ?? 10 : 10
            do {
                try await Bench.run(services: services, endpoints: endpoints)
            } catch {
                say("BENCH FAIL \(error)")
                exit(1)
            }
            exit(0)
        }
        let checks = Checks()
        let pods: Pods
        do {
            pods = try Pods.make()
        } catch {
            say("CHECK FAIL setup: \(error)")
            exit(1)
        }
        await checks.runAll(pods: pods)
        await checks.daemon(pods: pods)
        pods.tearDown()
        say("CHECKS DONE failed=\(checks.failed)")
        exit(checks.failed == 0 ? 0 : 1)
    }
}

/// Prints a line and flushes at once: the VM's output port must see it even if the program dies next.
func say(_ line: String) {
    print(line)
    fflush(nil)
}
