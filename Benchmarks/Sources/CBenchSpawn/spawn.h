#ifndef SLUICE_BENCH_SPAWN_H
#define SLUICE_BENCH_SPAWN_H
#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

/* setns(2): glibc declares it only under _GNU_SOURCE, which Swift's Glibc module is built without. */
extern int setns(int fd, int nstype);

/* clone(2) and its flags: glibc declares them only under _GNU_SOURCE. */
extern int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
#define SLUICE_BENCH_CLONE_VM 0x00000100

/// What the child of ``sluice_bench_spawn_in_netns`` needs; it lives in the parent's memory, which the child
/// shares until its execve.
struct sluice_bench_child {
    int gate_fd, gate_writer_fd, netns_fd, stdin_fd, stdout_fd;
    const char *path;
    char *const *argv;
    char *const *envp;
};

/* The child, on its own stack in the parent's address space: only system calls until execve replaces it. */
static int sluice_bench_child_main(void *context) {
    const struct sluice_bench_child *child = (const struct sluice_bench_child *)context;
    /* Default dispositions and no blocked signals, as a runtime's child has: the bench ignores SIGINT and SIGTERM
       (a Dispatch source handles them), and ignored or blocked signals would stay so across execve. Without
       CLONE_SIGHAND the child has its own copy of the dispositions. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (child->gate_fd >= 0) {
        close(child->gate_writer_fd);
        /* No EINTR loop: the child has no handlers to interrupt it, and its errno is the parent's (shared TLS). */
        char go;
        if (read(child->gate_fd, &go, 1) != 1) {
            _exit(126);
        }
    }
    if (child->netns_fd >= 0 && setns(child->netns_fd, 0x40000000 /* CLONE_NEWNET */) != 0) {
        _exit(126);
    }
    if (dup2(child->stdin_fd, STDIN_FILENO) < 0 || dup2(child->stdout_fd, STDOUT_FILENO) < 0) {
        _exit(126);
    }
    execve(child->path, child->argv, child->envp);
    _exit(127);
}

/// Starts `child->path` as a child process inside the network namespace `child->netns_fd` refers to, with
/// `stdin_fd` and `stdout_fd` as its standard input and output; `netns_fd` -1 leaves the child in this process's
/// namespace. With `gate_fd` other than -1 the child first closes its copy of the gate's write end
/// `gate_writer_fd` and waits to read one byte from `gate_fd`, so a whole burst can be started and then released
/// at once (and, should this process die first, reads end-of-file and exits instead of waiting forever).
///
/// The benchmark times CNI plugins that must run in a "node" namespace: a child that enters it itself costs one
/// setns, where a wrapper program (nsenter, ip netns exec) adds a whole exec to every measurement, and the calling
/// thread never changes namespace.
///
/// The child shares this process's memory (CLONE_VM) on a stack of its own, `stack_size` bytes at `stack`, the way
/// Go's os/exec — and so containerd and podman — start plugins (clone with CLONE_VM|CLONE_VFORK). A fork would
/// copy the bench's page tables and make every execve tear that copy down again: time that depends on the bench's
/// size, which no runtime pays. Unlike vfork this process goes on while the child waits at the gate, so `child`,
/// the strings it points to and the stack must stay untouched until the child has exited (the caller frees them
/// after reaping it). Returns the child's pid, or -1 with errno when clone fails; a child that cannot pass the
/// gate, enter the namespace or set up its descriptors exits with 126, one that cannot exec with 127.
static inline pid_t sluice_bench_spawn_in_netns(struct sluice_bench_child *child, void *stack, size_t stack_size) {
    return clone(sluice_bench_child_main, (char *)stack + stack_size, SLUICE_BENCH_CLONE_VM | SIGCHLD, child);
}

#endif
