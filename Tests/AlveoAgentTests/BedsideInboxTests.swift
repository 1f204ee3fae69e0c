import AlveoTestKit
import AlveoAgent
import AlveoCore
import Foundation
import Testing

/// The inbox the control API and the HL7 listener hand requests to: it must cost the same at the
/// millionth request as at the first (issue 23: each request wrapped the submit closure once more,
/// and the agent died of a stack overflow after ~17,450 status requests).
@Suite(.ownThread) struct BedsideInboxTests {
    @Test func fiftyThousandStatusRequestsCostNoMoreThanTheFirst() async throws {
        let inbox = BedsideInbox()
        inbox.attach { request in
            if case .status(let reply) = request { reply(.object([("ok", .bool(true))])) }
            return true
        }
        defer { inbox.detach() }
        // Today's code overflowed the stack at ~17,000 (release) and sooner in a debug build.
        for n in 1...50_000 {
            guard case .success = await inbox.status(timeout: .seconds(60)) else {
                Issue.record("status request \(n) was not answered")
                return
            }
        }
    }

    @Test func entriesAnsweredOneAfterAnotherAlsoStayFlat() async throws {
        let inbox = BedsideInbox()
        inbox.attach { request in
            if case .entry(_, let reply) = request { reply(.failure(.nothingToDo("test"))) }
            return true
        }
        defer { inbox.detach() }
        let entry = BedsideEntry(action: .discharge, by: "test", via: "control")
        for n in 1...30_000 {
            guard case .failure(.refused(.nothingToDo)) = await inbox.submit(entry, timeout: .seconds(60)) else {
                Issue.record("entry \(n) was not answered")
                return
            }
        }
        // The blocking form the HL7 listener's connection threads use.
        for _ in 1...2_000 {
            guard case .failure(.refused(.nothingToDo)) = inbox.submitWaiting(entry, timeout: .seconds(60)) else {
                Issue.record("a waiting entry was not answered")
                return
            }
        }
    }

    @Test func aDetachedInboxAnswersNotRunning() async {
        let inbox = BedsideInbox()
        let before = await inbox.status()
        #expect({ if case .failure(.notRunning) = before { true } else { false } }())
        inbox.attach { _ in false }  // the loop is stopping: it takes nothing more
        let stopping = await inbox.status()
        #expect({ if case .failure(.notRunning) = stopping { true } else { false } }())
    }
}
