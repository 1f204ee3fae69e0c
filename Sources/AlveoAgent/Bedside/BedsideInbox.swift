import AlveoCore
import Dispatch
import Foundation
import Synchronization

/// Where the control API (and the laboratory listener) hand the live bedside loop what people and the
/// hospital say, and get its answer: entries are taken in the one order of everything the loop takes
/// (devices, clock ticks, entries), recorded in the trace when recording, journaled before they are
/// answered. Until the live agent has started (or after it stopped) the inbox answers `notRunning`.
package final class BedsideInbox: Sendable {
    /// Hands one request to the running loop; false if it could not take it (stopping, full).
    package typealias Submit = @Sendable (Request) -> Bool

    package enum Request: Sendable {
        /// The entry's sample ages become sample times when the loop's clock reads its arrival.
        case entry(BedsideEntry, reply: @Sendable (Result<EntryReply, BedsideRefusal>) -> Void)
        case status(reply: @Sendable (JSONValue) -> Void)
        /// A device gateway's message (IHE PCD-01, as a trace keeps it) with rows of these devices:
        /// recorded, read and queued by the loop's input in one step, with no answer to wait for.
        case deviceMessage([UInt8], devices: [String])
    }

    /// What the loop did with an entry.
    package struct EntryReply: Sendable {
        /// The events it caused, in order (journaled before this reply).
        package var events: [AlarmEvent]
        /// When the loop took it, and the sample time it gave the values (core seconds).
        package var t: Double
        package var sampledAt: Double?
    }

    package enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The live loop is not running (starting, stopping).
        case notRunning
        /// No answer within the time allowed (the loop is stalled or overloaded).
        case timedOut
        case refused(BedsideRefusal)

        package var description: String {
            switch self {
            case .notRunning: "the bedside loop is not running (the agent is starting or stopping)"
            case .timedOut: "the bedside loop did not answer in time"
            case .refused(let refusal): refusal.description
            }
        }
    }

    /// The closure sits in a class, never directly in the `Mutex`: reading a function value through a
    /// generic `withLock`'s `inout` parameter re-abstracts it and writes the wrapped closure back, so
    /// every request added two thunk frames to every later call: after ~17,000 requests the stack
    /// overflowed (issue 23). A reference is stored and read as it is.
    private final class Submitter: Sendable {
        let submit: Submit
        init(_ submit: @escaping Submit) { self.submit = submit }
    }
    private let submitter = Mutex<Submitter?>(nil)
    private let inputs = Mutex<(@Sendable () -> StatusAnswer.Listener)?>(nil)
    private let run = Mutex<String?>(nil)

    /// This run's id, once its journal is open (the alert manager's status reports name it).
    package var runID: String? {
        get { run.withLock { $0 } }
        set { run.withLock { $0 = newValue } }
    }

    package init() {}

    /// The laboratory and ADT listener, which feeds this inbox, tells `alveo status` how it is doing.
    func registerListener(_ status: @escaping @Sendable () -> StatusAnswer.Listener) {
        inputs.withLock { $0 = status }
    }

    /// The registered inputs' states, for the status report.
    var inputStatus: StatusAnswer.Inputs {
        StatusAnswer.Inputs(hl7: inputs.withLock { $0 }?())
    }

    package func attach(_ submit: @escaping Submit) {
        let box = Submitter(submit)
        submitter.withLock { $0 = box }
    }
    package func detach() { submitter.withLock { $0 = nil } }

    /// Hands `entry` to the loop and waits (at most `timeout`) for what it did.
    package func submit(_ entry: BedsideEntry, timeout: Duration = .seconds(10)) async -> Result<EntryReply, Failure> {
        await ask(timeout: timeout) { finish in
            .entry(entry) { result in finish(result.mapError { .refused($0) }) }
        }
    }

    /// `submit` for a caller on its own thread (the laboratory listener's connections): blocks it until
    /// the loop answered or the timeout passed.
    package func submitWaiting(_ entry: BedsideEntry, timeout: Duration = .seconds(10)) -> Result<EntryReply, Failure> {
        let done = DispatchSemaphore(value: 0)
        let answer = Mutex<Result<EntryReply, Failure>>(.failure(.timedOut))
        Task {
            let result = await submit(entry, timeout: timeout)
            answer.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return answer.withLock { $0 }
    }

    /// Hands a device gateway's message to the loop's input; false when the loop is not running or
    /// could not take it (the listener then does not answer, and the gateway sends it again).
    package func submitDeviceMessage(_ message: [UInt8], devices: [String]) -> Bool {
        guard let submit = submitter.withLock({ $0 })?.submit else { return false }
        return submit(.deviceMessage(message, devices: devices))
    }

    /// The loop's state for `alveo status`: a `StatusAnswer`, encoded in the loop's step.
    package func status(timeout: Duration = .seconds(10)) async -> Result<JSONValue, Failure> {
        await ask(timeout: timeout) { finish in .status { finish(.success($0)) } }
    }

    /// Sends the request `make` builds around a one-shot completion, and waits for it or the timeout.
    private func ask<T: Sendable>(timeout: Duration, _ make: (@escaping @Sendable (Result<T, Failure>) -> Void) -> Request) async -> Result<T, Failure> {
        guard let submit = submitter.withLock({ $0 })?.submit else { return .failure(.notRunning) }
        let once = OneShot<Result<T, Failure>>()
        let request = make { once.fulfil($0) }
        guard submit(request) else { return .failure(.notRunning) }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            once.fulfil(.failure(.timedOut))
        }
        defer { timer.cancel() }
        return await once.value()
    }
}

/// A value delivered once, by whoever comes first (the loop's answer or the timeout), to one waiter.
final class OneShot<T: Sendable>: Sendable {
    private let state = Mutex<(value: T?, waiter: CheckedContinuation<T, Never>?)>((nil, nil))

    func fulfil(_ value: T) {
        let waiter: CheckedContinuation<T, Never>? = state.withLock { state in
            guard state.value == nil else { return nil }
            state.value = value
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: value)
    }

    func value() async -> T {
        await withCheckedContinuation { continuation in
            let ready: T? = state.withLock { state in
                if let value = state.value { return value }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
