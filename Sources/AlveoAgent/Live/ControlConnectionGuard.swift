import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTPTypes
import Synchronization

/// The control API's connections under one `ConnectionTable`: each connection's pipeline carries a
/// `ControlConnectionGuard.Handler` that tells the table when it opened, when a request began and was
/// answered, and when it closed; the table says which waiting connection to close when a new one
/// comes at the bound, and `sweep` (every second) closes those past their time.
final class ControlConnectionGuard: Sendable {
    private let table: Mutex<ConnectionTable>
    private let logger: Logger
    private let reported = Mutex<(evicted: Int, refused: Int)>((0, 0))

    init(limits: ConnectionTable.Limits, logger: Logger) {
        table = Mutex(ConnectionTable(limits: limits))
        self.logger = logger
    }

    var limits: ConnectionTable.Limits { table.withLock { $0.limits } }

    /// Open connections, and how many were closed to make room, refused, or closed for waiting too long.
    var counts: (open: Int, evicted: Int, refused: Int, expired: Int) {
        table.withLock { ($0.count, $0.evicted, $0.refused, $0.expired) }
    }

    /// A new handler for one connection's pipeline.
    func handler() -> Handler { Handler(guard: self) }

    func opened(_ handle: ConnectionHandle) -> Bool {
        let admission = table.withLock { $0.admit(handle, established: true, now: .now) }
        switch admission {
        case .admitted(let victims):
            victims.forEach { $0.close() }
            if !victims.isEmpty { report() }
            return true
        case .refused:
            report()
            return false
        }
    }

    func began(_ handle: ConnectionHandle) { table.withLock { $0.busy(handle, now: .now) } }
    func answered(_ handle: ConnectionHandle) { table.withLock { $0.idle(handle, now: .now) } }
    func closed(_ handle: ConnectionHandle) { table.withLock { _ = $0.remove(handle) } }

    /// Closes the connections past their time.
    func sweep() {
        let expired = table.withLock { $0.expire(now: .now) }
        for (handle, _) in expired { handle.close() }
        if !expired.isEmpty { Counter(label: "alveo_control_connections_expired_total").increment(by: expired.count) }
    }

    /// Logs that connections were closed or refused at the bound: the first time, then at most once
    /// per 100 more, so a flood of connections cannot flood the log.
    private func report() {
        let (evicted, refused, limit) = table.withLock { ($0.evicted, $0.refused, $0.limits.limit) }
        let line: String? = reported.withLock { last in
            defer { last = (evicted, refused) }
            let first = last.evicted == 0 && last.refused == 0
            guard first || evicted / 100 > last.evicted / 100 || refused / 100 > last.refused / 100 else { return nil }
            return "control API at its bound of \(limit) connections: \(evicted) waiting connection(s) closed to make room, \(refused) refused since the start"
        }
        Counter(label: "alveo_control_connections_evicted_total").increment(by: 1)
        if let line { logger.warning("\(line)") }
    }

    /// One connection's part: between the HTTP codec and Hummingbird's request handling.
    final class Handler: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart

        private let owner: ControlConnectionGuard
        private var handle: ConnectionHandle?

        init(guard owner: ControlConnectionGuard) { self.owner = owner }

        func handlerAdded(context: ChannelHandlerContext) {
            let channel = context.channel
            let handle = ConnectionHandle(peer: nil) { channel.close(promise: nil) }
            self.handle = handle
            if !owner.opened(handle) { context.close(promise: nil) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            if let handle { owner.closed(handle) }
            context.fireChannelInactive()
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            if let handle { owner.closed(handle) }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head = unwrapInboundIn(data), let handle { owner.began(handle) }
            context.fireChannelRead(data)
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if case .end = unwrapOutboundIn(data), let handle { owner.answered(handle) }
            context.write(data, promise: promise)
        }
    }
}
