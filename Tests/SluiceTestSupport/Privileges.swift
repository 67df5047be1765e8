import Glibc
import Testing

/// What the current process may do to the kernel.
///
/// Privileged tests create network namespaces, which needs root (`CAP_SYS_ADMIN`). Developers often run the suite
/// as an ordinary user; CI always runs as root. Tests check this up front so the former see a named skip instead
/// of a wall of `EPERM` failures, and the latter run everything.
public enum Privileges {
    /// True when the effective user is root, as on CI.
    public static var isRoot: Bool { geteuid() == 0 }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test (or every test of the suite) only as root; otherwise it is skipped, and the test report says
    /// why. Use it on every test that creates namespaces: `@Test(.requiresRoot)` or `@Suite(.requiresRoot)`.
    public static var requiresRoot: Self {
        .enabled(if: Privileges.isRoot, "needs root (CI runs as root): creates network namespaces")
    }
}
