import CNamespaceCalls
import Glibc

/// `CLONE_NEWNET` from `<sched.h>`: glibc declares it (and `setns`/`unshare`) only under `_GNU_SOURCE`, which the
/// Swift Glibc module is not built with; CNamespaceCalls declares the two functions.
let CLONE_NEWNET: Int32 = 0x4000_0000
