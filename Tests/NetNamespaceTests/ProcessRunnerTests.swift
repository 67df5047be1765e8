import SluiceTestSupport
import Testing

@Suite("runProcess")
struct ProcessRunnerTests {
    @Test("stdin is fed and stdout returned")
    func roundTrip() throws {
        let result = try runProcess(["cat"], stdin: "line one\nline two\n")
        #expect(result.succeeded)
        #expect(result.stdout == "line one\nline two\n")
        #expect(result.stderr.isEmpty)
    }

    @Test("a non-zero status is a result; output() turns it into an error naming the command")
    func failureIsAResult() throws {
        let result = try runProcess(["sh", "-c", "echo nope >&2; exit 2"])
        #expect(result.status == 2)
        #expect(result.stderr == "nope\n")
        let error = try #require(throws: ProcessError.self) { try result.output() }
        #expect(error == .failed(result))
        #expect(error.description.contains("`sh -c echo nope >&2; exit 2` exited with status 2"))
    }

    @Test("large outputs on both streams and large input do not deadlock")
    func largeOutputs() throws {
        let input = String(repeating: "x", count: 300_000)
        let result = try runProcess(
            ["sh", "-c", "head -c 300000 /dev/zero >&2; cat"], stdin: input)
        #expect(result.stdout.count == 300_000)
        #expect(result.stderr.utf8.count == 300_000)
    }

    @Test("a program killed by a signal reports 128 + signal")
    func signalStatus() throws {
        #expect(try runProcess(["sh", "-c", "kill -9 $$"]).status == 137)
    }

    @Test("a missing program is reported by name")
    func missingProgram() throws {
        #expect(throws: ProcessError.notFound(program: "sl-no-such-tool")) {
            try runProcess(["sl-no-such-tool"])
        }
    }
}
