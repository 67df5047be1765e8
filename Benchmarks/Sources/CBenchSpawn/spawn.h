#ifndef SLUICE_BENCH_SPAWN_H
#define SLUICE_BENCH_SPAWN_H
#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

/* setns(2): glibc declares it only under _GNU_SOURCE, which Swift's Glibc module is built without. */
extern int setns(int fd, int nstype);

/// Starts `path` as a child process inside the network namespace `netns_fd` refers to, with `stdin_fd` and
/// `stdout_fd` as its standard input and output; `netns_fd` -1 leaves the child in this process's namespace. With
/// `gate_fd` other than -1 the child first closes its copy of the gate's write end `gate_writer_fd` and waits to read
/// one byte from `gate_fd`, so a whole burst can be forked and then released at once (and, should this process
/// die first, reads end-of-file and exits instead of waiting forever).
///
/// The benchmark times CNI plugins that must run in a "node" namespace: a child that enters it itself costs one
/// setns, where a wrapper program (nsenter, ip netns exec) adds a whole exec to every measurement, and the calling
/// thread never changes namespace. This process has other threads, so between fork and execve the child makes only
/// async-signal-safe calls. Returns the child's pid, or -1 with errno when fork fails; a child that cannot pass the
/// gate, enter the namespace or set up its descriptors exits with 126, one that cannot exec with 127.
static inline pid_t sluice_bench_spawn_in_netns(
    int gate_fd, int gate_writer_fd, int netns_fd, const char *path, char *const argv[], char *const envp[],
    int stdin_fd, int stdout_fd) {
    pid_t pid = fork();
    if (pid != 0) {
        return pid;
    }
    /* Default dispositions and no blocked signals, as a runtime's child has: the bench ignores SIGINT and SIGTERM
       (a Dispatch source handles them), and ignored or blocked signals would stay so across execve. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (gate_fd >= 0) {
        close(gate_writer_fd);
        char go;
        ssize_t got;
        do {
            got = read(gate_fd, &go, 1);
        } while (got < 0 && errno == EINTR);
        if (got != 1) {
            _exit(126);
        }
    }
    if (netns_fd >= 0 && setns(netns_fd, 0x40000000 /* CLONE_NEWNET */) != 0) {
        _exit(126);
    }
    if (dup2(stdin_fd, STDIN_FILENO) < 0 || dup2(stdout_fd, STDOUT_FILENO) < 0) {
        _exit(126);
    }
    execve(path, argv, envp);
    _exit(127);
}

#endif
