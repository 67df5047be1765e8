import Glibc

/// `CLONE_NEWNET` from `<sched.h>`: glibc declares it (and `setns`/`unshare`) only under `_GNU_SOURCE`, which the
/// Swift Glibc module is not built with.
let CLONE_NEWNET: Int32 = 0x4000_0000

/// glibc's `setns(2)` wrapper, which the Glibc module hides behind `_GNU_SOURCE`; looked up by name once.
let setns: @convention(c) (_ fd: Int32, _ nstype: Int32) -> Int32 = libcFunction("setns")

/// glibc's `unshare(2)` wrapper, which the Glibc module hides behind `_GNU_SOURCE`; looked up by name once.
let unshare: @convention(c) (_ flags: Int32) -> Int32 = libcFunction("unshare")

/// Resolves a glibc function the Glibc module does not import, so this module needs no C shim.
///
/// Both functions have been in glibc since 2.14, so a missing symbol means a broken installation, not a
/// condition to handle.
private func libcFunction<Function>(_ symbol: String) -> Function {
    guard let address = dlsym(dlopen(nil, RTLD_NOW), symbol) else {
        fatalError("glibc has no \(symbol)(); NetNamespace needs glibc 2.14 or later")
    }
    return unsafeBitCast(address, to: Function.self)
}
