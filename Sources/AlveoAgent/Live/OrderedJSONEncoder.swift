import AlveoCore

/// Writes an Encodable value as the agent writes all its JSON (events, journal, the control API):
/// object members in the order they are encoded (a synthesized `encode(to:)` encodes properties in
/// their declared order), an absent optional as `null` (its member is kept, as the documented answers
/// have it), numbers as `JSONValue` prints them (integral ones without a decimal point). A value can
/// embed JSON text it already has as is (`RawJSONEncoding`). Compact, no trailing newline.
enum OrderedJSONEncoder {
    static func encode(_ value: some Encodable) -> String {
        let root = Node.Box()
        let encoder = NodeEncoder(box: root, codingPath: [])
        do { try value.encode(to: encoder) } catch {
            // The types encoded here throw nothing of their own: nothing else can fail.
            root.node = .scalar(.null)
        }
        var out = ""
        root.node.write(to: &out)
        return out
    }

    /// The value as a `JSONValue`, for a value that embeds no JSON text (`RawJSONEncoding`): the status.
    static func value(_ value: some Encodable) -> JSONValue {
        let root = Node.Box()
        do { try value.encode(to: NodeEncoder(box: root, codingPath: [])) } catch { return .null }
        return root.node.value
    }

    indirect enum Node {
        case scalar(JSONValue)
        case object([(String, Box)])
        case array([Box])
        case raw(String)

        /// Where a value is written once its container is known.
        final class Box {
            var node: Node = .scalar(.null)
        }

        var value: JSONValue {
            switch self {
            case .scalar(let value): value
            case .raw: .null  // only answers with events embed raw JSON, and they are written as text
            case .array(let items): .array(items.map(\.node.value))
            case .object(let members): .object(members.map { ($0.0, $0.1.node.value) })
            }
        }

        func write(to out: inout String) {
            switch self {
            case .scalar(let value): value.write(to: &out)
            case .raw(let text): out += text
            case .array(let items):
                out += "["
                for (index, item) in items.enumerated() {
                    if index > 0 { out += "," }
                    item.node.write(to: &out)
                }
                out += "]"
            case .object(let members):
                out += "{"
                for (index, (key, value)) in members.enumerated() {
                    if index > 0 { out += "," }
                    JSONValue.string(key).write(to: &out)
                    out += ":"
                    value.node.write(to: &out)
                }
                out += "}"
            }
        }
    }
}

/// An encoder that can take JSON text as is (the events of an answer, as stdout and the journal have them).
protocol RawJSONEncoding {
    func encodeRaw(_ json: String)
}

private final class NodeEncoder: Encoder, RawJSONEncoding {
    let box: OrderedJSONEncoder.Node.Box
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(box: OrderedJSONEncoder.Node.Box, codingPath: [any CodingKey]) {
        self.box = box
        self.codingPath = codingPath
    }

    func encodeRaw(_ json: String) { box.node = .raw(json) }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = box.node {} else { box.node = .object([]) }
        return KeyedEncodingContainer(KeyedNodeContainer<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = box.node {} else { box.node = .array([]) }
        return UnkeyedNodeContainer(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleNodeContainer(box: box, codingPath: codingPath) }
}

/// A scalar as a node (integers as the numbers they are).
private func scalar(_ value: some Encodable) -> OrderedJSONEncoder.Node? {
    switch value {
    case let value as String: .scalar(.string(value))
    case let value as Bool: .scalar(.bool(value))
    case let value as Double: .scalar(.number(value))
    case let value as Float: .scalar(.number(Double(value)))
    case let value as Int: .scalar(.number(Double(value)))
    case let value as Int64: .scalar(.number(Double(value)))
    case let value as Int32: .scalar(.number(Double(value)))
    case let value as UInt64: .scalar(.number(Double(value)))
    case let value as UInt32: .scalar(.number(Double(value)))
    case let value as UInt: .scalar(.number(Double(value)))
    case let value as Int16: .scalar(.number(Double(value)))
    case let value as Int8: .scalar(.number(Double(value)))
    case let value as UInt16: .scalar(.number(Double(value)))
    case let value as UInt8: .scalar(.number(Double(value)))
    default: nil
    }
}

/// A number, text or truth value as a node.
private func leaf(_ value: some Encodable) -> OrderedJSONEncoder.Node.Box {
    let box = OrderedJSONEncoder.Node.Box()
    box.node = scalar(value) ?? .scalar(.null)
    return box
}

private func encoded(_ value: some Encodable, at codingPath: [any CodingKey]) throws -> OrderedJSONEncoder.Node.Box {
    let box = OrderedJSONEncoder.Node.Box()
    if let node = scalar(value) { box.node = node } else { try value.encode(to: NodeEncoder(box: box, codingPath: codingPath)) }
    return box
}

private struct KeyedNodeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: OrderedJSONEncoder.Node.Box
    let codingPath: [any CodingKey]

    private func append(_ key: Key, _ member: OrderedJSONEncoder.Node.Box) {
        guard case .object(var members) = box.node else { return }
        members.removeAll { $0.0 == key.stringValue }
        members.append((key.stringValue, member))
        box.node = .object(members)
    }

    mutating func encodeNil(forKey key: Key) throws {
        append(key, OrderedJSONEncoder.Node.Box())
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        append(key, try encoded(value, at: codingPath + [key]))
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws { append(key, leaf(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { append(key, leaf(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { append(key, leaf(value)) }
    mutating func encode(_ value: Float, forKey key: Key) throws { append(key, leaf(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { append(key, leaf(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { append(key, leaf(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { append(key, leaf(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { append(key, leaf(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { append(key, leaf(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { append(key, leaf(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { append(key, leaf(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { append(key, leaf(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { append(key, leaf(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { append(key, leaf(value)) }

    // An absent optional is written as null: the answers keep every documented member.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = OrderedJSONEncoder.Node.Box()
        nested.node = .object([])
        append(key, nested)
        return KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(box: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = OrderedJSONEncoder.Node.Box()
        nested.node = .array([])
        append(key, nested)
        return UnkeyedNodeContainer(box: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let nested = OrderedJSONEncoder.Node.Box()
        append(key, nested)
        return NodeEncoder(box: nested, codingPath: codingPath + [key])
    }
}

private struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct UnkeyedNodeContainer: UnkeyedEncodingContainer {
    let box: OrderedJSONEncoder.Node.Box
    let codingPath: [any CodingKey]
    var count: Int {
        if case .array(let items) = box.node { items.count } else { 0 }
    }

    private func append(_ item: OrderedJSONEncoder.Node.Box) {
        guard case .array(var items) = box.node else { return }
        items.append(item)
        box.node = .array(items)
    }

    mutating func encodeNil() throws { append(OrderedJSONEncoder.Node.Box()) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        append(try encoded(value, at: codingPath + [IndexKey(count)]))
    }
    mutating func encode(_ value: Bool) throws { append(leaf(value)) }
    mutating func encode(_ value: String) throws { append(leaf(value)) }
    mutating func encode(_ value: Double) throws { append(leaf(value)) }
    mutating func encode(_ value: Float) throws { append(leaf(value)) }
    mutating func encode(_ value: Int) throws { append(leaf(value)) }
    mutating func encode(_ value: Int8) throws { append(leaf(value)) }
    mutating func encode(_ value: Int16) throws { append(leaf(value)) }
    mutating func encode(_ value: Int32) throws { append(leaf(value)) }
    mutating func encode(_ value: Int64) throws { append(leaf(value)) }
    mutating func encode(_ value: UInt) throws { append(leaf(value)) }
    mutating func encode(_ value: UInt8) throws { append(leaf(value)) }
    mutating func encode(_ value: UInt16) throws { append(leaf(value)) }
    mutating func encode(_ value: UInt32) throws { append(leaf(value)) }
    mutating func encode(_ value: UInt64) throws { append(leaf(value)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = OrderedJSONEncoder.Node.Box()
        nested.node = .object([])
        let path = codingPath + [IndexKey(count)]
        append(nested)
        return KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(box: nested, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = OrderedJSONEncoder.Node.Box()
        nested.node = .array([])
        let path = codingPath + [IndexKey(count)]
        append(nested)
        return UnkeyedNodeContainer(box: nested, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let nested = OrderedJSONEncoder.Node.Box()
        let path = codingPath + [IndexKey(count)]
        append(nested)
        return NodeEncoder(box: nested, codingPath: path)
    }
}

private struct SingleNodeContainer: SingleValueEncodingContainer {
    let box: OrderedJSONEncoder.Node.Box
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { box.node = .scalar(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        box.node = try encoded(value, at: codingPath).node
    }
    mutating func encode(_ value: Bool) throws { box.node = leaf(value).node }
    mutating func encode(_ value: String) throws { box.node = leaf(value).node }
    mutating func encode(_ value: Double) throws { box.node = leaf(value).node }
    mutating func encode(_ value: Float) throws { box.node = leaf(value).node }
    mutating func encode(_ value: Int) throws { box.node = leaf(value).node }
    mutating func encode(_ value: Int8) throws { box.node = leaf(value).node }
    mutating func encode(_ value: Int16) throws { box.node = leaf(value).node }
    mutating func encode(_ value: Int32) throws { box.node = leaf(value).node }
    mutating func encode(_ value: Int64) throws { box.node = leaf(value).node }
    mutating func encode(_ value: UInt) throws { box.node = leaf(value).node }
    mutating func encode(_ value: UInt8) throws { box.node = leaf(value).node }
    mutating func encode(_ value: UInt16) throws { box.node = leaf(value).node }
    mutating func encode(_ value: UInt32) throws { box.node = leaf(value).node }
    mutating func encode(_ value: UInt64) throws { box.node = leaf(value).node }
}
