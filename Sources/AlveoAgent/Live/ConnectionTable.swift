import Synchronization

/// A connection a server holds, closable from any thread (a channel's `close`, a socket's `shutdown`).
package final class ConnectionHandle: Sendable {
    package let peer: String?
    private let closer: @Sendable () -> Void
    private let closed = Atomic(false)

    package init(peer: String?, close: @escaping @Sendable () -> Void) {
        self.peer = peer
        closer = close
    }

    /// Closes it once; later calls do nothing.
    package func close() {
        if !closed.exchange(true, ordering: .relaxed) { closer() }
    }
}

/// The bounds of a server's connections, so that nobody can hold its doors shut (issue 23: 1,100 idle
/// control connections wedged the agent; 8 idle or half-open HL7 connections locked the laboratory
/// out): at most `limit` connections, at most `perPeer` from one peer address, and a connection
/// that waits — in its handshake, idle, or in a request — longer than it may is closed.
///
/// A new connection is never turned away while another is merely waiting: it takes the place of the
/// one that has waited longest (of its own peer first, when the peer is at its bound). Only when every
/// connection is busy with a request is the new one refused; requests end within `busyTimeout`.
/// Pure: time is handed in (a monotonic clock's instants), the caller closes what it is told to.
package struct ConnectionTable {
    package struct Limits: Sendable, Equatable {
        package var limit: Int
        package var perPeer: Int
        /// A TLS handshake (or anything before the connection is usable) must finish within this.
        package var handshakeTimeout: Duration
        /// An established connection with nothing in progress is closed after this (nil: never).
        package var idleTimeout: Duration?
        /// A request (or message) begun must be answered within this.
        package var busyTimeout: Duration

        package init(limit: Int, perPeer: Int, handshakeTimeout: Duration, idleTimeout: Duration?, busyTimeout: Duration) {
            self.limit = max(1, limit)
            self.perPeer = max(1, perPeer)
            self.handshakeTimeout = handshakeTimeout
            self.idleTimeout = idleTimeout
            self.busyTimeout = busyTimeout
        }
    }

    package enum State: Equatable, Sendable {
        case handshaking, idle, busy
    }

    struct Entry {
        let handle: ConnectionHandle
        var state: State
        /// When it entered its state.
        var since: ContinuousClock.Instant
        let order: UInt64
    }

    package enum Admission {
        /// Take it; close these first (they waited longest).
        case admitted(evicting: [ConnectionHandle])
        /// Refuse it: every connection it could replace is busy.
        case refused(reason: String)
    }

    package let limits: Limits
    private var entries: [ObjectIdentifier: Entry] = [:]
    private var nextOrder: UInt64 = 0
    package private(set) var evicted = 0
    package private(set) var refused = 0
    package private(set) var expired = 0

    package init(limits: Limits) { self.limits = limits }

    package var count: Int { entries.count }
    package func count(of state: State) -> Int { entries.values.filter { $0.state == state }.count }

    /// A new connection: admitted (perhaps in another's place) or refused. `established`: usable at
    /// once (no handshake).
    package mutating func admit(_ handle: ConnectionHandle, established: Bool, now: ContinuousClock.Instant) -> Admission {
        var victims: [ConnectionHandle] = []
        if let peer = handle.peer {
            let mine = entries.filter { $0.value.handle.peer == peer }
            if mine.count >= limits.perPeer {
                guard let victim = Self.longestWaiting(mine) else {
                    refused += 1
                    return .refused(reason: "\(mine.count) connections from \(peer), every one busy (at most \(limits.perPeer) from one peer)")
                }
                victims.append(entries.removeValue(forKey: victim)!.handle)
            }
        }
        if victims.isEmpty, entries.count >= limits.limit {
            guard let victim = Self.longestWaiting(entries) else {
                refused += 1
                return .refused(reason: "\(entries.count) connections, every one busy (at most \(limits.limit))")
            }
            victims.append(entries.removeValue(forKey: victim)!.handle)
        }
        nextOrder += 1
        entries[ObjectIdentifier(handle)] = Entry(handle: handle, state: established ? .idle : .handshaking, since: now, order: nextOrder)
        evicted += victims.count
        return .admitted(evicting: victims)
    }

    /// The connection that has waited longest: handshaking or idle, the oldest state first.
    private static func longestWaiting(_ entries: [ObjectIdentifier: Entry]) -> ObjectIdentifier? {
        entries.filter { $0.value.state != .busy }.min { ($0.value.since, $0.value.order) < ($1.value.since, $1.value.order) }?.key
    }

    /// Its handshake is done, or its request answered: idle from now.
    package mutating func idle(_ handle: ConnectionHandle, now: ContinuousClock.Instant) {
        set(handle, .idle, now)
    }

    /// A request (or message) began.
    package mutating func busy(_ handle: ConnectionHandle, now: ContinuousClock.Instant) {
        set(handle, .busy, now)
    }

    private mutating func set(_ handle: ConnectionHandle, _ state: State, _ now: ContinuousClock.Instant) {
        let key = ObjectIdentifier(handle)
        guard var entry = entries[key], entry.state != state else { return }
        entry.state = state
        entry.since = now
        entries[key] = entry
    }

    /// The connection is gone (closed by either side); false if it was not held (already evicted).
    @discardableResult
    package mutating func remove(_ handle: ConnectionHandle) -> Bool {
        entries.removeValue(forKey: ObjectIdentifier(handle)) != nil
    }

    /// Every connection (stopping): removed here, the caller closes them.
    package mutating func removeAll() -> [ConnectionHandle] {
        defer { entries.removeAll() }
        return entries.values.map(\.handle)
    }

    /// The connections past their time (removed here; the caller closes them), with why.
    package mutating func expire(now: ContinuousClock.Instant) -> [(handle: ConnectionHandle, why: String)] {
        var out: [(ConnectionHandle, String)] = []
        for (key, entry) in entries {
            let waited = now - entry.since
            let why: String?
            switch entry.state {
            case .handshaking: why = waited > limits.handshakeTimeout ? "no handshake within \(limits.handshakeTimeout)" : nil
            case .idle: why = limits.idleTimeout.flatMap { waited > $0 ? "idle for more than \($0)" : nil }
            case .busy: why = waited > limits.busyTimeout ? "a request unfinished for more than \(limits.busyTimeout)" : nil
            }
            if let why {
                entries.removeValue(forKey: key)
                out.append((entry.handle, why))
            }
        }
        expired += out.count
        return out
    }
}
