import AlveoCore
import AlveoIO
import Foundation

/// Where and how to send RFC 5424 syslog messages.
package struct SyslogSettings: Sendable, Equatable {
    package var host = "127.0.0.1"
    package var port = 514
    /// Facility number (local0 = 16).
    package var facility = 16
    /// HOSTNAME field; the machine's name by default.
    package var hostname = ProcessInfo.processInfo.hostName
    package var appName = "alveo"
    /// The bed, carried in the structured data.
    package var bedID = "BED"
    package var connectTimeout: Duration = .seconds(5)
    /// How long to wait for the receiver's TCP stack to acknowledge a message.
    package var ackTimeout: Duration = .seconds(5)
    package var reconnectMax: Duration = .seconds(30)
    package var resendWindow: Duration = .seconds(5)
    /// RFC 5425 (syslog over TLS), or nil for plain TCP; with RELP, RELP over TLS as rsyslog's imrelp
    /// takes it (`tls="on"`).
    package var tls: TLSSettings?
    /// `outputs.syslog.protocol`: octet-counted TCP (confirmed by the receiver's kernel) or RELP
    /// (confirmed by the receiver itself).
    package var transport: SyslogTransport = .tcp
    /// What RELP's `open` names as `relp_software` (name,version,url; no commas inside a part).
    package var software = "alveo"
    /// `outputs.syslog.reannounce`: the re-announcement schedule too (default: a log carries every
    /// event), or state transitions only.
    package var reannounce: ReannouncePolicy = .schedule

    package init() {}

    /// Facility names (RFC 5424 table 1) accepted in configuration.
    package static let facilities: [String: Int] = [
        "kern": 0, "user": 1, "daemon": 3, "auth": 4, "syslog": 5, "local0": 16, "local1": 17, "local2": 18,
        "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
    ]
}

/// How syslog messages travel and what confirms them (`outputs.syslog.protocol`).
package enum SyslogTransport: String, Sendable, Equatable, CaseIterable {
    /// RFC 6587 octet counting over TCP (or RFC 5425 TLS): delivered once the receiver's kernel has
    /// acknowledged the bytes, with a resend window for a receiver restarted just after.
    case tcp
    /// rsyslog's RELP: delivered once the receiver answers `rsp 200` for the message's transaction.
    case relp
}

/// RFC 5424 messages over TCP with octet-counting framing (RFC 6587). Syslog has no application
/// acknowledgement: a message counts as delivered once the receiver's TCP stack has acknowledged every
/// byte (TCP_INFO), and entries delivered shortly before a broken link are sent again after
/// reconnecting (`resendWindow`), so nothing is lost when the receiver restarts; duplicates carry the
/// same `seq` in their structured data.
package struct SyslogProtocol: ForwardingProtocol {
    package let settings: SyslogSettings

    package init(settings: SyslogSettings) {
        self.settings = settings
    }

    package var name: String { "syslog" }
    package var host: String { settings.host }
    package var port: Int { settings.port }
    package var connectTimeout: Duration { settings.connectTimeout }
    package var reconnectMax: Duration { settings.reconnectMax }
    package var retryAfterError: Duration { .seconds(1) }
    package var resendWindow: Duration { settings.resendWindow }
    package var heartbeatInterval: Duration? { nil }
    package var reannounce: ReannouncePolicy { settings.reannounce }
    package var tls: TLSSettings? { settings.tls }
    package func heartbeat(number: Int, over link: any ByteLink) throws {}

    package func deliver(_ entry: JournalEntry, event: AlarmEvent, over link: any ByteLink) throws -> DeliveryOutcome {
        let message = SyslogMessage.build(entry: entry, event: event, settings: settings, now: Date())
        let bytes = Array(message.utf8)
        // A receiver restarted while the link was idle: reconnect first, or this message would be lost.
        if link.peerHasClosed() { throw SocketError(operation: "send", peer: link.peer, code: ECONNRESET) }
        try link.send(Array("\(bytes.count) ".utf8) + bytes)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: settings.ackTimeout)
        while !link.allSentBytesAcknowledged() {
            guard clock.now < deadline else { throw SocketError(operation: "wait for TCP acknowledgement", peer: link.peer, code: ETIMEDOUT) }
            usleep(200)
        }
        // A reset also empties the unacknowledged count: only an established connection means delivered.
        guard link.isEstablished(), !link.peerHasClosed() else {
            throw SocketError(operation: "send", peer: link.peer, code: ECONNRESET)
        }
        return .delivered
    }
}

/// Builds one RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`.
package enum SyslogMessage {
    /// high → crit (2), medium → warning (4), low → notice (5).
    package static func severity(_ priority: Priority) -> Int {
        switch priority {
        case .high: 2
        case .medium: 4
        case .low: 5
        }
    }

    /// TIMESTAMP is when the event was detected (the journal's time); MSGID the rule id.
    package static func build(entry: JournalEntry, event: AlarmEvent, settings: SyslogSettings, now: Date) -> String {
        let pri = settings.facility * 8 + severity(event.priority)
        let timestamp = entry.wallTime ?? PCD04Message.rfc3339(now)
        var alarm: [(String, String)] = [("bed", settings.bedID), ("seq", entry.unjournaledID ?? "\(entry.seq)"),
                                         ("alarm_id", "\(event.alarmID)"), ("rule", event.rule.id)]
        if let run = event.run { alarm.append(("alarm_run", run)) }
        if let source = event.source { alarm.append(("source", source)) }
        if let parameter = event.parameter { alarm.append(("parameter", parameter.name)) }
        alarm += [("phase", event.phase.rawValue), ("priority", event.priority.name), ("type", event.type.rawValue),
                  ("state", event.state.rawValue), ("acknowledged", event.acknowledged ? "true" : "false")]
        if let reason = event.reason { alarm.append(("reason", reason)) }
        alarm.append(("t", JSONValue.formatted(event.t)))
        var evidence: [(String, String)] = []
        for (key, value) in event.evidence.sorted(by: { $0.0 < $1.0 }) {
            switch value {
            case .number(let number): evidence.append((key, JSONValue.formatted(number)))
            case .string(let text): evidence.append((key, text))
            case .bool(let flag): evidence.append((key, flag ? "true" : "false"))
            case .object, .array, .null: continue
            }
        }
        var sd = "[alarm@32473" + alarm.map { " \(name($0.0))=\"\(escape($0.1))\"" }.joined() + "]"
        if !evidence.isEmpty { sd += "[evidence@32473" + evidence.map { " \(name($0.0))=\"\(escape($0.1))\"" }.joined() + "]" }
        let header = "<\(pri)>1 \(field(timestamp, 64)) \(field(settings.hostname, 255)) \(field(settings.appName, 48)) \(getpid()) \(field(event.rule.id, 32))"
        return "\(header) \(sd) \(text(event.text))"
    }

    /// SD-PARAM values escape `"`, `\` and `]` (RFC 5424 6.3.3), on Unicode scalars (a `"` followed by
    /// a combining mark is still a quote to a receiver); control characters (C0, DEL, C1), which RFC
    /// 5424 lets through but which forge lines in a receiver's line-based files, become spaces.
    static func escape(_ value: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            if scalar == "\"" || scalar == "\\" || scalar == "]" { out.append("\\") }
            out.append(HL7Escaping.isControl(scalar) ? " " : scalar)
        }
        return String(out)
    }

    /// MSG: the alarm text as it is (UTF-8), control characters as spaces (one message, one line).
    static func text(_ value: String) -> String {
        guard value.unicodeScalars.contains(where: { HL7Escaping.isControl($0) }) else { return value }
        return String(String.UnicodeScalarView(value.unicodeScalars.map { HL7Escaping.isControl($0) ? " " : $0 }))
    }

    /// PARAM-NAME (SD-NAME): 1 to 32 printable US-ASCII characters except `=`, space, `]` and `"`;
    /// anything else dropped, "_" when nothing is left.
    static func name(_ key: String) -> String {
        let kept = key.unicodeScalars.filter { $0.value > 32 && $0.value < 127 && $0 != "=" && $0 != "]" && $0 != "\"" }.prefix(32)
        return kept.isEmpty ? "_" : String(String.UnicodeScalarView(kept))
    }

    /// A header field: printable US-ASCII without spaces (PRINTUSASCII, RFC 5424 6), at most `limit`
    /// characters, "-" when empty.
    static func field(_ value: String, _ limit: Int) -> String {
        let kept = value.unicodeScalars.filter { $0.value > 32 && $0.value < 127 }.prefix(limit)
        return kept.isEmpty ? "-" : String(String.UnicodeScalarView(kept))
    }
}
