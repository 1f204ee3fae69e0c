import AlveoCore
import CModbus
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Serial line parity.
package enum Parity: String, Sendable, CaseIterable {
    case none, even, odd

    var libmodbusCode: CChar {
        switch self {
        case .none: CChar(UInt8(ascii: "N"))
        case .even: CChar(UInt8(ascii: "E"))
        case .odd: CChar(UInt8(ascii: "O"))
        }
    }
}

/// Where a Modbus server is.
package enum ModbusEndpoint: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case rtu(path: String, baud: Int, parity: Parity, dataBits: Int, stopBits: Int)

    package var description: String {
        switch self {
        case .tcp(let host, let port): "modbus-tcp://\(host):\(port)"
        case .rtu(let path, let baud, let parity, let dataBits, let stopBits):
            "modbus-rtu:\(path)@\(baud)/\(dataBits)\(parity.rawValue.prefix(1).uppercased())\(stopBits)"
        }
    }
}

/// Which register table a read uses.
package enum RegisterFunction: String, Sendable, CaseIterable {
    /// Function code 03.
    case holding
    /// Function code 04.
    case input
}

/// One libmodbus client context. The context is owned here alone: every C call runs under the lock,
/// and `deinit` closes and frees it. A context is not thread-safe, so a bus uses one connection from
/// one thread; the lock only makes a stray call from another thread safe rather than corrupting.
package final class ModbusConnection: Sendable {
    private let context: Mutex<OpaquePointer>
    package let endpoint: ModbusEndpoint
    private let unit: Mutex<Int>

    /// The unit id requests go to now.
    package var unitID: Int { unit.withLock { $0 } }

    /// Creates the context and sets the unit id and timeouts (`modbus_new_tcp` / `modbus_new_rtu`,
    /// `modbus_set_slave`, `modbus_set_response_timeout`, `modbus_set_byte_timeout`). Does not connect.
    package init(endpoint: ModbusEndpoint, unitID: Int, responseTimeout: Duration = .milliseconds(500),
                byteTimeout: Duration = .milliseconds(100)) throws(ModbusError)
    {
        self.endpoint = endpoint
        self.unit = Mutex(unitID)
        let peer = endpoint.description
        guard (0...255).contains(unitID) else {
            throw ModbusError(operation: "configure", peer: peer, cause: .invalidRequest("unit id \(unitID) is outside 0...255"))
        }
        let created: OpaquePointer?
        switch endpoint {
        case .tcp(let host, let port):
            // libmodbus takes a numeric IPv4 address only: resolve names such as "localhost" here.
            created = modbus_new_tcp(ModbusConnection.numericIPv4(host) ?? host, Int32(clamping: port))
        case .rtu(let path, let baud, let parity, let dataBits, let stopBits):
            created = modbus_new_rtu(path, Int32(clamping: baud), parity.libmodbusCode, Int32(clamping: dataBits), Int32(clamping: stopBits))
        }
        guard let created else {
            throw ModbusError.fromErrno(alveo_errno(), operation: "create context", peer: peer)
        }
        func seconds(_ duration: Duration) -> (UInt32, UInt32) {
            let micros = max(0, duration.wholeNanoseconds / 1000)
            return (UInt32(clamping: micros / 1_000_000), UInt32(micros % 1_000_000))
        }
        let response = seconds(responseTimeout), byte = seconds(byteTimeout)
        guard modbus_set_slave(created, Int32(clamping: unitID)) == 0,
              modbus_set_response_timeout(created, response.0, response.1) == 0,
              modbus_set_byte_timeout(created, byte.0, byte.1) == 0
        else {
            let error = ModbusError.fromErrno(alveo_errno(), operation: "configure", peer: peer)
            modbus_free(created)
            throw error
        }
        context = Mutex(created)
    }

    /// The first IPv4 address of `host`, via getaddrinfo.
    static func numericIPv4(_ host: String) -> String? {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(result) }
        guard let address = first.pointee.ai_addr else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        let ok = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet4 in
            var raw = inet4.pointee.sin_addr
            return inet_ntop(AF_INET, &raw, &text, socklen_t(text.count)) != nil
        }
        return ok ? String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    deinit {
        context.withLock { ctx in
            modbus_close(ctx)
            modbus_free(ctx)
        }
    }

    /// Addresses the next requests to another unit on the same bus (`modbus_set_slave`): several
    /// devices on one RS-485 line, or behind one TCP gateway, share one connection.
    package func setUnit(_ unitID: Int) throws(ModbusError) {
        guard (0...255).contains(unitID) else {
            throw ModbusError(operation: "set unit", peer: endpoint.description, cause: .invalidRequest("unit id \(unitID) is outside 0...255"))
        }
        let failure: Int32? = context.withLock { ctx in modbus_set_slave(ctx, Int32(clamping: unitID)) == 0 ? nil : alveo_errno() }
        if let failure { throw ModbusError.fromErrno(failure, operation: "set unit \(unitID)", peer: endpoint.description) }
        unit.withLock { $0 = unitID }
    }

    /// Discards bytes still in the receive buffer, e.g. a late reply after a timeout (`modbus_flush`).
    package func flush() {
        context.withLock { ctx in _ = modbus_flush(ctx) }
    }

    /// Opens the TCP connection or the serial device (`modbus_connect`).
    /// libmodbus waits with select(2), whose fd_set holds descriptors below FD_SETSIZE (1,024) only:
    /// glibc aborts the process on a larger one. The agent raises its descriptor limit above that, so
    /// a link is opened only while a descriptor below it is free (the next one the kernel gives), and
    /// one that still lands above it is closed: a clear error, never an abort.
    package func connect() throws(ModbusError) {
        let peer = endpoint.description
        guard ModbusConnection.lowDescriptorFree() else {
            throw ModbusError(operation: "connect", peer: peer, cause: .invalidRequest(
                "no file descriptor below \(FD_SETSIZE) is free (libmodbus waits with select(2)): too many files or connections are open"))
        }
        let failure: Int32? = context.withLock { ctx in
            guard modbus_connect(ctx) == 0 else { return alveo_errno() }
            if modbus_get_socket(ctx) >= FD_SETSIZE {
                modbus_close(ctx)
                return EMFILE
            }
            return nil
        }
        if let failure { throw ModbusError.fromErrno(failure, operation: "connect", peer: peer) }
    }

    /// Whether the next descriptor the kernel hands out is below FD_SETSIZE.
    static func lowDescriptorFree() -> Bool {
        let probe = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
        if probe < 0 { return errno != EMFILE && errno != ENFILE }
        Glibc.close(probe)
        return probe < FD_SETSIZE
    }

    /// Closes the link; `connect()` may be called again (`modbus_close`).
    package func close() {
        context.withLock { ctx in modbus_close(ctx) }
    }

    /// Reads `count` consecutive registers from `address` (`modbus_read_registers` for holding,
    /// `modbus_read_input_registers` for input), at most 125 per request.
    package func read(_ function: RegisterFunction, address: Int, count: Int) throws(ModbusError) -> [UInt16] {
        let operation = "read \(count) \(function.rawValue) register(s) at \(address) from unit \(unitID)"
        guard (1...125).contains(count), address >= 0, address + count <= 65536 else {
            throw ModbusError(operation: operation, peer: endpoint.description,
                              cause: .invalidRequest("count must be 1...125 and the range within 0...65535"))
        }
        var values = [UInt16](repeating: 0, count: count)
        let result: (Int32, Int32) = context.withLock { ctx in
            let read = values.withUnsafeMutableBufferPointer { buffer in
                function == .holding
                    ? modbus_read_registers(ctx, Int32(clamping: address), Int32(clamping: count), buffer.baseAddress)
                    : modbus_read_input_registers(ctx, Int32(clamping: address), Int32(clamping: count), buffer.baseAddress)
            }
            return (read, read < 0 ? alveo_errno() : 0)
        }
        guard result.0 == count else {
            if result.0 >= 0 {
                throw ModbusError(operation: operation, peer: endpoint.description,
                                  cause: .protocolViolation("\(result.0) registers in the reply"))
            }
            throw ModbusError.fromErrno(result.1, operation: operation, peer: endpoint.description)
        }
        return values
    }
}

/// Internal helpers exposed for tests.
package enum ModbusConnectionTestHooks {
    package static func resolve(_ host: String) -> String? { ModbusConnection.numericIPv4(host) }
}
