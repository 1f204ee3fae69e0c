import CModbus
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Serial line parity.
public enum Parity: String, Sendable, CaseIterable {
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
public enum ModbusEndpoint: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case rtu(path: String, baud: Int, parity: Parity, dataBits: Int, stopBits: Int)

    public var description: String {
        switch self {
        case .tcp(let host, let port): "modbus-tcp://\(host):\(port)"
        case .rtu(let path, let baud, let parity, let dataBits, let stopBits):
            "modbus-rtu:\(path)@\(baud)/\(dataBits)\(parity.rawValue.prefix(1).uppercased())\(stopBits)"
        }
    }
}

/// Which register table a read uses.
public enum RegisterFunction: String, Sendable, CaseIterable {
    /// Function code 03.
    case holding
    /// Function code 04.
    case input
}

/// One libmodbus client context. The context is owned here alone: every C call runs under the lock,
/// and `deinit` closes and frees it. A context is not thread-safe, so a bus uses one connection from
/// one thread; the lock only makes a stray call from another thread safe rather than corrupting.
public final class ModbusConnection: Sendable {
    private let context: Mutex<OpaquePointer>
    public let endpoint: ModbusEndpoint
    public let unitID: Int

    /// Creates the context and sets the unit id and timeouts (`modbus_new_tcp` / `modbus_new_rtu`,
    /// `modbus_set_slave`, `modbus_set_response_timeout`, `modbus_set_byte_timeout`). Does not connect.
    public init(endpoint: ModbusEndpoint, unitID: Int, responseTimeout: Duration = .milliseconds(500),
                byteTimeout: Duration = .milliseconds(100)) throws(ModbusError)
    {
        self.endpoint = endpoint
        self.unitID = unitID
        let peer = endpoint.description
        guard (0...247).contains(unitID) else {
            throw ModbusError(operation: "configure", peer: peer, cause: .invalidRequest("unit id \(unitID) is outside 0...247"))
        }
        let created: OpaquePointer?
        switch endpoint {
        case .tcp(let host, let port):
            created = modbus_new_tcp(host, Int32(port))
        case .rtu(let path, let baud, let parity, let dataBits, let stopBits):
            created = modbus_new_rtu(path, Int32(baud), parity.libmodbusCode, Int32(dataBits), Int32(stopBits))
        }
        guard let created else {
            throw ModbusError.fromErrno(alveo_errno(), operation: "create context", peer: peer)
        }
        func seconds(_ duration: Duration) -> (UInt32, UInt32) {
            let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
            return (UInt32(micros / 1_000_000), UInt32(micros % 1_000_000))
        }
        let response = seconds(responseTimeout), byte = seconds(byteTimeout)
        guard modbus_set_slave(created, Int32(unitID)) == 0,
              modbus_set_response_timeout(created, response.0, response.1) == 0,
              modbus_set_byte_timeout(created, byte.0, byte.1) == 0
        else {
            let error = ModbusError.fromErrno(alveo_errno(), operation: "configure", peer: peer)
            modbus_free(created)
            throw error
        }
        context = Mutex(created)
    }

    deinit {
        context.withLock { ctx in
            modbus_close(ctx)
            modbus_free(ctx)
        }
    }

    /// Opens the TCP connection or the serial device (`modbus_connect`).
    public func connect() throws(ModbusError) {
        let failure: Int32? = context.withLock { ctx in
            modbus_connect(ctx) == 0 ? nil : alveo_errno()
        }
        if let failure { throw ModbusError.fromErrno(failure, operation: "connect", peer: endpoint.description) }
    }

    /// Closes the link; `connect()` may be called again (`modbus_close`).
    public func close() {
        context.withLock { ctx in modbus_close(ctx) }
    }

    /// Reads `count` consecutive registers from `address` (`modbus_read_registers` for holding,
    /// `modbus_read_input_registers` for input), at most 125 per request.
    public func read(_ function: RegisterFunction, address: Int, count: Int) throws(ModbusError) -> [UInt16] {
        let operation = "read \(count) \(function.rawValue) register(s) at \(address) from unit \(unitID)"
        guard (1...125).contains(count), address >= 0, address + count <= 65536 else {
            throw ModbusError(operation: operation, peer: endpoint.description,
                              cause: .invalidRequest("count must be 1...125 and the range within 0...65535"))
        }
        var values = [UInt16](repeating: 0, count: count)
        let result: (Int32, Int32) = context.withLock { ctx in
            let read = values.withUnsafeMutableBufferPointer { buffer in
                function == .holding
                    ? modbus_read_registers(ctx, Int32(address), Int32(count), buffer.baseAddress)
                    : modbus_read_input_registers(ctx, Int32(address), Int32(count), buffer.baseAddress)
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
