import AlveoCore
import Foundation
import GRDB

/// Why the trend store cannot be used.
package struct TrendStoreError: Error, CustomStringConvertible, Sendable {
    package var path: String
    package var problem: String

    package var description: String { "trend store \(path): \(problem)" }
}

/// The trend store of one bed: an SQLite database in WAL mode (docs/trends.md has the schema, for the
/// `sqlite3` shell). Created 0600 (patient data). Raw values are kept `rawRetention` seconds, minute
/// summaries, alarm events, positions and the context `summaryRetention`.
package final class TrendStore: Sendable {
    package let path: String
    let db: any DatabaseWriter

    /// The schema's version, in `PRAGMA user_version` and docs/trends.md.
    package static let schemaVersion = 1

    /// Opens (creating it if missing) the store at `path`; `":memory:"` is a private in-memory store
    /// (a report straight from a trace or a scenario).
    package init(path: String, readOnly: Bool = false) throws(TrendStoreError) {
        self.path = path
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.label = "alveo-trends"
        // A locked database (someone's long read in the sqlite3 shell) waits this long, then fails:
        // the writer thread retries at its next batch, the core's loop never waits.
        configuration.busyMode = .timeout(2)
        do {
            if path == ":memory:" {
                db = try DatabaseQueue(configuration: configuration)
            } else {
                if !readOnly, !FileManager.default.fileExists(atPath: path) {
                    let directory = (path as NSString).deletingLastPathComponent
                    if !directory.isEmpty {
                        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                                attributes: [.posixPermissions: 0o750])
                    }
                    // Patient data: the file (and SQLite's -wal and -shm, which take its mode) is 0600.
                    guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                        throw TrendStoreError(path: path, problem: "cannot create the file")
                    }
                } else if readOnly, !FileManager.default.fileExists(atPath: path) {
                    throw TrendStoreError(path: path, problem: "no such file")
                }
                db = try DatabasePool(path: path, configuration: configuration)
            }
        } catch let error as TrendStoreError {
            throw error
        } catch {
            throw TrendStoreError(path: path, problem: TrendStore.describe(error))
        }
        if !readOnly {
            do { try TrendStore.migrator.migrate(db) } catch { throw TrendStoreError(path: path, problem: "cannot set up the schema: \(TrendStore.describe(error))") }
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return "\(error.resultCode)\(error.message.map { ": \($0)" } ?? "")"
        }
        return "\(error)"
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE observation(
                    time REAL NOT NULL, parameter TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL,
                    source TEXT NOT NULL, method TEXT NOT NULL);
                CREATE INDEX observation_by_time ON observation(time);
                CREATE INDEX observation_by_parameter ON observation(parameter, time);
                CREATE TABLE derived(
                    time REAL NOT NULL, name TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL,
                    method TEXT NOT NULL, inputs TEXT NOT NULL);
                CREATE INDEX derived_by_time ON derived(time);
                CREATE INDEX derived_by_name ON derived(name, method, time);
                CREATE TABLE position_period(start_time REAL NOT NULL, end_time REAL, position TEXT NOT NULL);
                CREATE TABLE alarm_event(
                    time REAL NOT NULL, alarm_id INTEGER NOT NULL, rule TEXT NOT NULL, type TEXT NOT NULL, title TEXT NOT NULL,
                    phase TEXT NOT NULL, priority TEXT NOT NULL, state TEXT NOT NULL, acknowledged INTEGER NOT NULL,
                    reason TEXT, source TEXT, text TEXT NOT NULL);
                CREATE INDEX alarm_event_by_time ON alarm_event(time);
                CREATE TABLE minute_summary(
                    minute REAL NOT NULL, series TEXT NOT NULL, min REAL NOT NULL, min_time REAL NOT NULL,
                    max REAL NOT NULL, max_time REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL,
                    PRIMARY KEY(series, minute)) WITHOUT ROWID;
                CREATE TABLE context(
                    time REAL NOT NULL, bed TEXT NOT NULL, sex TEXT, height_cm REAL, pbw_kg REAL,
                    conditions TEXT NOT NULL, devices TEXT NOT NULL);
                PRAGMA user_version = 1;
                """)
        }
        return migrator
    }

    /// The series key of a derived value in the summaries and the report (`pf/measured`, `sf`, …).
    package static func seriesKey(_ derived: TrendDerived) -> String { seriesKey(name: derived.name, method: derived.method) }

    static func seriesKey(name: String, method: String) -> String { name == "pf" ? "pf/\(method)" : name }

    /// The FiO2 (a fraction) in a measured P/F's inputs, or nil (inputs are read from any file).
    static func fio2Input(_ inputs: String) -> Double? {
        struct Inputs: Decodable { var fio2: Double? }
        guard let fio2 = (try? JSONDecoder().decode(Inputs.self, from: Data(inputs.utf8)))?.fio2, fio2.isFinite, fio2 > 0, fio2 <= 1 else { return nil }
        return fio2
    }

    /// A minute summary row (series, min, min_time, max, max_time) as its series, its lowest and
    /// highest points, and those in time order (one point when they are the same); nil for a row that
    /// is not one.
    static func extremes(_ row: Row) -> (series: String, lowest: TrendPoint, highest: TrendPoint, points: [TrendPoint])? {
        guard let key = row.text(0), let low = row.real(1), let lowT = row.real(2), let high = row.real(3), let highT = row.real(4) else { return nil }
        let lowest = TrendPoint(time: lowT, value: low), highest = TrendPoint(time: highT, value: high)
        return (key, lowest, highest, lowT == highT ? [lowest] : lowT < highT ? [lowest, highest] : [highest, lowest])
    }

    /// Writes `rows` in one transaction (all or nothing).
    package func write(_ rows: [TrendRow]) throws(TrendStoreError) {
        guard !rows.isEmpty else { return }
        do {
            try db.write { db in
                let observation = try db.cachedStatement(sql: "INSERT INTO observation VALUES (?, ?, ?, ?, ?, ?)")
                let derived = try db.cachedStatement(sql: "INSERT INTO derived VALUES (?, ?, ?, ?, ?, ?)")
                let summary = try db.cachedStatement(sql: """
                    INSERT INTO minute_summary VALUES (?, ?, ?, ?, ?, ?, ?, 1)
                    ON CONFLICT(series, minute) DO UPDATE SET
                        min_time = CASE WHEN excluded.min < min THEN excluded.min_time ELSE min_time END,
                        min = MIN(min, excluded.min),
                        max_time = CASE WHEN excluded.max > max THEN excluded.max_time ELSE max_time END,
                        max = MAX(max, excluded.max),
                        sum = sum + excluded.sum, count = count + 1
                    """)
                let alarm = try db.cachedStatement(sql: "INSERT INTO alarm_event VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                for row in rows {
                    switch row {
                    case .observation(let o):
                        try observation.execute(arguments: [o.time, o.parameter, o.value, o.unit, o.source, o.method])
                        let minute = (o.time / 60).rounded(.down) * 60
                        try summary.execute(arguments: [minute, o.parameter, o.value, o.time, o.value, o.time, o.value])
                    case .derived(let d):
                        try derived.execute(arguments: [d.time, d.name, d.value, d.unit, d.method, d.inputs])
                        let minute = (d.time / 60).rounded(.down) * 60
                        try summary.execute(arguments: [minute, TrendStore.seriesKey(d), d.value, d.time, d.value, d.time, d.value])
                    case .position(let time, let position):
                        let open = try String.fetchOne(db, sql: "SELECT position FROM position_period WHERE end_time IS NULL ORDER BY start_time DESC LIMIT 1")
                        if open == position { continue }
                        try db.execute(sql: "UPDATE position_period SET end_time = MAX(start_time, ?) WHERE end_time IS NULL", arguments: [time])
                        try db.execute(sql: "INSERT INTO position_period VALUES (?, NULL, ?)", arguments: [time, position])
                    case .alarm(let a):
                        try alarm.execute(arguments: [a.time, a.alarmID, a.rule, a.type, a.title, a.phase, a.priority, a.state, a.acknowledged,
                                                      a.reason, a.source, a.text])
                    case .context(let c):
                        try db.execute(sql: "INSERT INTO context VALUES (?, ?, ?, ?, ?, ?, ?)",
                                       arguments: [Date().timeIntervalSince1970, c.bed, c.sex, c.heightCm, c.pbwKg,
                                                   c.conditions.joined(separator: ","), c.devices.joined(separator: ",")])
                    }
                }
            }
        } catch {
            throw TrendStoreError(path: path, problem: TrendStore.describe(error))
        }
    }

    /// Deletes raw values (observations, derived) older than `raw` seconds before `now`, and summaries,
    /// alarm events and closed position periods older than `summaries` seconds. Returns rows removed.
    @discardableResult
    package func enforceRetention(now: Double, raw: Double, summaries: Double) throws(TrendStoreError) -> Int {
        do {
            return try db.write { db in
                var removed = 0
                try db.execute(sql: "DELETE FROM observation WHERE time < ?", arguments: [now - raw])
                removed += db.changesCount
                try db.execute(sql: "DELETE FROM derived WHERE time < ?", arguments: [now - raw])
                removed += db.changesCount
                try db.execute(sql: "DELETE FROM minute_summary WHERE minute < ?", arguments: [now - summaries])
                removed += db.changesCount
                try db.execute(sql: "DELETE FROM alarm_event WHERE time < ?", arguments: [now - summaries])
                removed += db.changesCount
                try db.execute(sql: "DELETE FROM position_period WHERE end_time IS NOT NULL AND end_time < ?", arguments: [now - summaries])
                removed += db.changesCount
                return removed
            }
        } catch {
            throw TrendStoreError(path: path, problem: TrendStore.describe(error))
        }
    }

    /// Moves the write-ahead log into the database file and empties it (at a clean stop; SQLite also
    /// does it as the log grows).
    package func checkpoint() {
        guard let pool = db as? DatabasePool else { return }
        _ = try? pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
    }

    /// SQLite's `PRAGMA quick_check`: "ok", or what is damaged.
    package func quickCheck() throws(TrendStoreError) -> String {
        do {
            return try db.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check").joined(separator: "; ") }
        } catch {
            throw TrendStoreError(path: path, problem: TrendStore.describe(error))
        }
    }

    /// Counts of rows per table (for `alveo report --info` and the tests).
    package func counts() throws(TrendStoreError) -> [String: Int] {
        do {
            return try db.read { db in
                var counts: [String: Int] = [:]
                for table in ["observation", "derived", "position_period", "alarm_event", "minute_summary", "context"] {
                    counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
                }
                return counts
            }
        } catch {
            throw TrendStoreError(path: path, problem: TrendStore.describe(error))
        }
    }

    /// Every observation in time order (the tests compare them with a replay's export).
    package func observations() throws(TrendStoreError) -> [TrendObservation] {
        do {
            return try db.read { db in
                try Row.fetchAll(db, sql: "SELECT time, parameter, value, unit, source, method FROM observation ORDER BY rowid").compactMap { row in
                    guard let time = row.real(0), let parameter = row.text(1), let value = row.real(2) else { return nil }
                    return TrendObservation(time: time, parameter: parameter, value: value, unit: row.text(3) ?? "", source: row.text(4) ?? "",
                                            method: row.text(5) ?? "")
                }
            }
        } catch {
            throw TrendStoreError(path: path, problem: TrendStore.describe(error))
        }
    }

    /// Raw values per window above which the report reads the minute summaries instead.
    package static let rawReadLimit = 200_000

    /// What the report shows for the window [from, to] (nil: the data's own extent), each series
    /// downsampled to `buckets` buckets (`Downsampling`).
    package func read(from: Double?, to: Double?, buckets: Int = Downsampling.defaultBuckets) throws(TrendStoreError) -> TrendData {
        do {
            return try db.read { db in
                let extent = try Row.fetchOne(db, sql: """
                    SELECT MIN(t), MAX(t) FROM (
                        SELECT MIN(time) AS t FROM observation UNION ALL SELECT MAX(time) FROM observation
                        UNION ALL SELECT MIN(time) FROM derived UNION ALL SELECT MAX(time) FROM derived
                        UNION ALL SELECT MIN(minute) FROM minute_summary UNION ALL SELECT MAX(minute) + 60 FROM minute_summary
                        UNION ALL SELECT MIN(time) FROM alarm_event UNION ALL SELECT MAX(time) FROM alarm_event)
                    """)
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                guard version <= TrendStore.schemaVersion else {
                    throw TrendStoreError(path: path, problem: "schema version \(version), written by a newer Alveo (this one reads \(TrendStore.schemaVersion))")
                }
                // Any file may be handed to the report: every value is read as what it is, never trusted
                // to have the column's type; times and values outside what a report can show are skipped.
                let lower = from ?? extent?.real(0) ?? 0
                var upper = to ?? extent?.real(1) ?? lower
                if !(upper > lower) { upper = lower + 60 }
                let context = try Row.fetchOne(db, sql: "SELECT bed, sex, height_cm, pbw_kg, conditions, devices FROM context ORDER BY rowid DESC LIMIT 1").map {
                    TrendContext(bed: $0.text(0) ?? "", sex: $0.text(1), heightCm: $0.real(2), pbwKg: $0.real(3),
                                 conditions: ($0.text(4) ?? "").split(separator: ",").prefix(16).map(String.init),
                                 devices: ($0.text(5) ?? "").split(separator: ",").prefix(16).map(String.init))
                }
                // Counted only up to the limit: a week of values is not scanned to learn it is too many.
                let limit = TrendStore.rawReadLimit + 1
                let rawCount = (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT 1 FROM observation WHERE time BETWEEN ? AND ? LIMIT ?)",
                                                 arguments: [lower, upper, limit]) ?? 0)
                    + (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT 1 FROM derived WHERE time BETWEEN ? AND ? LIMIT ?)",
                                        arguments: [lower, upper, limit]) ?? 0)
                let useSummaries = rawCount > TrendStore.rawReadLimit
                var series: [String: TrendSeries] = [:]
                let downsampling = Downsampling(from: lower, to: upper, buckets: buckets)
                if useSummaries {
                    var perSeries: [String: [TrendPoint]] = [:]
                    let rows = try Row.fetchCursor(db, sql: """
                        SELECT series, min, min_time, max, max_time FROM minute_summary
                        WHERE minute BETWEEN ? AND ? ORDER BY series, minute
                        """, arguments: [lower - 60, upper])
                    while let row = try rows.next() {
                        guard let (key, lowest, highest, points) = TrendStore.extremes(row),
                              lowest.time >= lower, lowest.time <= upper || highest.time <= upper else { continue }
                        // Appended in place (a copy out and back would copy the series at every row).
                        perSeries[key, default: []].append(contentsOf: points)
                    }
                    for (key, points) in perSeries {
                        let inside = points.filter { $0.time >= lower && $0.time <= upper }
                        series[key] = TrendSeries(points: downsampling.apply(inside), values: inside.count, fromSummaries: true)
                    }
                } else {
                    var perSeries: [String: [TrendPoint]] = [:]
                    let observations = try Row.fetchCursor(db, sql: "SELECT parameter, time, value FROM observation WHERE time BETWEEN ? AND ? ORDER BY time, rowid",
                                                           arguments: [lower, upper])
                    while let row = try observations.next() {
                        guard let key = row.text(0), let time = row.real(1), let value = row.real(2) else { continue }
                        perSeries[key, default: []].append(TrendPoint(time: time, value: value))
                    }
                    let derived = try Row.fetchCursor(db, sql: "SELECT name, method, time, value FROM derived WHERE time BETWEEN ? AND ? ORDER BY time, rowid",
                                                      arguments: [lower, upper])
                    while let row = try derived.next() {
                        guard let name = row.text(0), let time = row.real(2), let value = row.real(3) else { continue }
                        let key = TrendStore.seriesKey(name: name, method: row.text(1) ?? "")
                        perSeries[key, default: []].append(TrendPoint(time: time, value: value))
                    }
                    // Before the oldest raw value (retention removed the rest), the minute summaries.
                    let rawStart = try Row.fetchOne(db, sql: "SELECT MIN(t) FROM (SELECT MIN(time) AS t FROM observation UNION ALL SELECT MIN(time) FROM derived)")?.real(0)
                    var older: [String: [TrendPoint]] = [:]
                    if lower < rawStart ?? .infinity {
                        let end = min(upper, rawStart ?? upper)
                        let rows = try Row.fetchCursor(db, sql: """
                            SELECT series, min, min_time, max, max_time FROM minute_summary
                            WHERE minute >= ? AND minute < ? ORDER BY series, minute
                            """, arguments: [(lower / 60).rounded(.down) * 60, end])
                        while let row = try rows.next() {
                            guard let (key, _, _, points) = TrendStore.extremes(row) else { continue }
                            older[key, default: []].append(contentsOf: points.filter { $0.time >= lower && $0.time < end })
                        }
                    }
                    for key in Set(perSeries.keys).union(older.keys) {
                        let points = (older[key] ?? []) + (perSeries[key] ?? [])
                        series[key] = TrendSeries(points: downsampling.apply(points), values: points.count, fromSummaries: older[key]?.isEmpty == false)
                    }
                }
                let positions = try Row.fetchAll(db, sql: """
                    SELECT start_time, end_time, position FROM position_period
                    WHERE start_time <= ? AND (end_time IS NULL OR end_time >= ?) ORDER BY start_time
                    """, arguments: [upper, lower]).compactMap { row in
                    row.real(0).map { TrendPosition(start: $0, end: row.real(1), position: row.text(2) ?? "") }
                }
                let alarms = try Row.fetchAll(db, sql: """
                    SELECT time, alarm_id, rule, type, title, phase, priority, state, acknowledged, reason, source, text FROM alarm_event
                    WHERE alarm_id IN (SELECT alarm_id FROM alarm_event WHERE time BETWEEN ? AND ?)
                       OR (time < ? AND alarm_id NOT IN (SELECT alarm_id FROM alarm_event WHERE phase = 'end' AND time < ?))
                    ORDER BY time, rowid
                    LIMIT 100000
                    """, arguments: [lower, upper, lower, lower]).compactMap { row -> TrendAlarmEvent? in
                    guard let time = row.real(0), let id = row.integer(1) else { return nil }
                    return TrendAlarmEvent(time: time, alarmID: id, rule: row.text(2) ?? "", type: row.text(3) ?? "", title: row.text(4) ?? "",
                                           phase: row.text(5) ?? "", priority: row.text(6) ?? "", state: row.text(7) ?? "",
                                           acknowledged: (row.integer(8) ?? 0) != 0, reason: row.text(9), source: row.text(10), text: row.text(11) ?? "")
                }
                let gasTimes = try Row.fetchAll(db, sql: """
                    SELECT DISTINCT time FROM observation WHERE parameter = 'pao2' AND time BETWEEN ? AND ? ORDER BY time LIMIT 10000
                    """, arguments: [lower, upper]).compactMap { $0.real(0) }
                // The blood gas table: each PaO2 with the measured P/F of its sample time (its inputs
                // give the FiO2 used, a fraction), and PaCO2 and pH sampled at the same time.
                var measured: [Double: (pf: Double, fio2: Double?)] = [:]
                for row in try Row.fetchAll(db, sql: """
                    SELECT time, value, inputs FROM derived WHERE name = 'pf' AND method = 'measured' AND time BETWEEN ? AND ? ORDER BY time LIMIT 10000
                    """, arguments: [lower, upper]) {
                    guard let time = row.real(0), let value = row.real(1) else { continue }
                    measured[time] = (value, row.text(2).flatMap(TrendStore.fio2Input).map { $0 * 100 })
                }
                var labs: [String: [Double: Double]] = [:]
                for row in try Row.fetchAll(db, sql: """
                    SELECT parameter, time, value FROM observation WHERE parameter IN ('paco2', 'ph') AND time BETWEEN ? AND ? ORDER BY time LIMIT 20000
                    """, arguments: [lower, upper]) {
                    guard let parameter = row.text(0), let time = row.real(1), let value = row.real(2) else { continue }
                    labs[parameter, default: [:]][time] = value
                }
                var gases: [TrendGas] = []
                for row in try Row.fetchAll(db, sql: """
                    SELECT time, value FROM observation WHERE parameter = 'pao2' AND time BETWEEN ? AND ? ORDER BY time, rowid LIMIT 10000
                    """, arguments: [lower, upper]) {
                    guard let time = row.real(0), let value = row.real(1) else { continue }
                    gases.append(TrendGas(time: time, pao2: value, fio2Percent: measured[time]?.fio2, pf: measured[time]?.pf,
                                          paco2: labs["paco2"]?[time], ph: labs["ph"]?[time]))
                }
                let hemoptysisBefore = try Row.fetchAll(db, sql: """
                    SELECT time, value FROM observation WHERE parameter = 'hemoptysis' AND time >= ? AND time < ? ORDER BY time LIMIT 10000
                    """, arguments: [lower - 7 * 86400, lower]).compactMap { row in
                    row.real(0).flatMap { time in row.real(1).map { TrendPoint(time: time, value: $0) } }
                }
                return TrendData(context: context, from: lower, to: upper, series: series, positions: positions, alarms: alarms, gasTimes: gasTimes,
                                 gases: gases, hemoptysisBefore: hemoptysisBefore)
            }
        } catch let error as TrendStoreError {
            throw error
        } catch {
            throw TrendStoreError(path: path, problem: TrendStore.describe(error))
        }
    }
}

extension Row {
    /// The column as a finite number, whatever its storage (a damaged or foreign file): nil otherwise.
    func real(_ index: Int) -> Double? {
        switch (self[index] as DatabaseValue).storage {
        case .double(let value): value.isFinite ? value : nil
        case .int64(let value): Double(value)
        default: nil
        }
    }

    func integer(_ index: Int) -> Int? {
        switch (self[index] as DatabaseValue).storage {
        case .int64(let value): Int(value)
        case .double(let value): value.isFinite && abs(value) < 1e15 ? Int(saturating: value) : nil
        default: nil
        }
    }

    /// Text, at most 4 KB of it.
    func text(_ index: Int) -> String? {
        if case .string(let value) = (self[index] as DatabaseValue).storage { return value.utf8.count > 4096 ? String(value.prefix(4096)) : value }
        return nil
    }
}

/// The report's downsampling (docs/trends.md): the window is cut into `buckets` equal buckets; a
/// series with at most 2 × buckets points keeps them all; otherwise each bucket keeps its lowest and
/// its highest point (the earliest of equals), in time order, one point when they are the same.
/// So a week at 1 Hz draws at most 2 × buckets points and no extreme is lost.
package struct Downsampling: Sendable {
    package static let defaultBuckets = 500
    package var from: Double
    package var to: Double
    package var buckets: Int

    package init(from: Double, to: Double, buckets: Int) {
        self.from = from
        self.to = max(to, from + 1)
        self.buckets = max(1, buckets)
    }

    package func bucket(_ time: Double) -> Int {
        let index = ((time - from) / (to - from) * Double(buckets)).rounded(.down)
        guard index.isFinite else { return 0 }
        return Int(saturating: min(max(index, 0), Double(buckets - 1)))
    }

    package func apply(_ points: [TrendPoint]) -> [TrendPoint] {
        guard points.count > 2 * buckets else { return points }
        var result: [TrendPoint] = []
        result.reserveCapacity(2 * buckets)
        var current = -1
        var low = points[0], high = points[0]
        func flush() {
            guard current >= 0 else { return }
            if low == high { result.append(low) } else if low.time <= high.time {
                result.append(low)
                result.append(high)
            } else {
                result.append(high)
                result.append(low)
            }
        }
        for point in points {
            let index = bucket(point.time)
            if index != current {
                flush()
                current = index
                low = point
                high = point
            } else {
                if point.value < low.value { low = point }
                if point.value > high.value { high = point }
            }
        }
        flush()
        return result
    }
}

extension TrendStore {
    /// A value of any SQLite storage class, for `insertRaw`.
    package enum RawValue: Sendable {
        case null, integer(Int64), real(Double), text(String), blob([UInt8])
    }

    /// The tables, in `insertRaw`'s numbering.
    package static let tables = ["observation", "derived", "position_period", "alarm_event", "minute_summary", "context"]

    /// Inserts a row of any values into table `table` (mod the table count), as a damaged or foreign
    /// file could hold them (the fuzz target and the tests: the reader must take any file). Values
    /// beyond the table's columns are dropped, missing ones are NULL; a refused row (NOT NULL, the
    /// summary's key) is not an error.
    package func insertRaw(table: Int, values: [RawValue]) {
        let columns = [6, 6, 3, 12, 8, 7]
        let index = ((table % columns.count) + columns.count) % columns.count
        var row = Array(values.prefix(columns[index]))
        while row.count < columns[index] { row.append(.null) }
        let arguments = StatementArguments(row.map { value -> (any DatabaseValueConvertible)? in
            switch value {
            case .null: nil
            case .integer(let n): n
            case .real(let x): x
            case .text(let s): s
            case .blob(let b): Data(b)
            }
        })
        _ = try? db.write { db in
            try db.execute(sql: "INSERT INTO \(TrendStore.tables[index]) VALUES (\(Array(repeating: "?", count: columns[index]).joined(separator: ", ")))",
                           arguments: arguments)
        }
    }
}
