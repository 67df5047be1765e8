/*
 * glibc functions that need shared libraries at run time, defined to fail in the static `sluice-cni` (see
 * include/CNIStaticLink.h).
 *
 * - Name service: libnl's archive references getaddrinfo (nl_addr_info) and getprotobyname/getprotobynumber
 *   (protocol names in its dump and parse helpers). The plugin resolves no names and prints no libnl objects;
 *   every address it handles is numeric.
 * - dlopen: the Swift runtime calls it only when the SWIFT_DEBUG_ENABLE_LIB_PRESPECIALIZED debugging variable
 *   names a library to find, and the plugin loads no code.
 */
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <stddef.h>

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
    (void)node;
    (void)service;
    (void)hints;
    *res = NULL;
    errno = ENOSYS;
    return EAI_SYSTEM;
}

struct protoent *getprotobyname(const char *name) {
    (void)name;
    return NULL;
}

struct protoent *getprotobynumber(int proto) {
    (void)proto;
    return NULL;
}

void *dlopen(const char *filename, int flags) {
    (void)filename;
    (void)flags;
    return NULL;
}

/*
 * The Swift runtime's source of `CommandLine.arguments`. On Linux its own version finds argv at start-up by
 * reading /proc/self/maps and walking the initial stack from `environ` — a fifth of the instructions of a whole
 * VERSION call, on every exec, whether or not the program looks at its arguments. glibc hands argc and argv to
 * every initialiser in a static executable, so the plugin keeps them from there instead; defining both symbols
 * of the runtime's CommandLine object keeps that object (and its initialiser) out of the link.
 */
static char **saved_argv;
static int saved_argc;

__attribute__((constructor(101))) static void save_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}

__attribute__((swiftcall)) char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen) {
    *outArgLen = saved_argc;
    return saved_argv;
}

__attribute__((swiftcall)) void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc) {
    saved_argv = argv;
    saved_argc = argc;
}
