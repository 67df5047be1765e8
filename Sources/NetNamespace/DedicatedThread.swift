import Glibc

/// Runs work on a brand-new POSIX thread and waits for that thread to exit.
///
/// Namespace membership belongs to a kernel task (a thread), not to the process: after `setns` or `unshare` the
/// thread stays in the namespace. Swift's cooperative pool, Dispatch and Foundation reuse their threads, so
/// switching one of them would silently move unrelated work into the namespace. A private thread that exits when
/// the work is done cannot leak its namespace to anyone.
enum DedicatedThread {
    /// Runs `work` on a new thread and returns its outcome once the thread has exited.
    ///
    /// The caller blocks in `pthread_join`, which is also what makes handing `work` and its result between the two
    /// threads safe: the thread starts after `pthread_create` and has finished (and released `work`) before
    /// `pthread_join` returns, so no value is ever touched by both threads at once.
    ///
    /// - Throws: ``NetNamespaceError`` with ``NetNamespaceError/Operation/startThread`` when no thread can be
    ///   started; errors of `work` are returned in the `Result`.
    static func run<T, E: Error>(
        for path: String, _ work: () throws(E) -> T
    ) throws(NetNamespaceError) -> Result<T, E> {
        try withoutActuallyEscaping(work) { (work) throws(NetNamespaceError) -> Result<T, E> in
            var outcome: Result<T, E>?
            let job = Job { outcome = Result { () throws(E) -> T in try work() } }
            let context = Unmanaged.passRetained(job).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(
                &thread, nil,
                { context in
                    Unmanaged<Job>.fromOpaque(context!).takeRetainedValue().body()
                    return nil
                }, context)
            guard status == 0 else {
                Unmanaged<Job>.fromOpaque(context).release()
                throw NetNamespaceError(.startThread, path: path, code: status)
            }
            pthread_join(thread, nil)
            return outcome!
        }
    }

    /// The type-erased work handed to the thread through `pthread_create`'s context pointer.
    private final class Job {
        let body: () -> Void

        init(_ body: @escaping () -> Void) {
            self.body = body
        }
    }
}
