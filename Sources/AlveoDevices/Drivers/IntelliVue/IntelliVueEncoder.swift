import AlveoCore

/// A simulated IntelliVue monitor's messages (for `alveo simulate` and the golden traces). The
/// association response is synthetic: a client reads only its first byte (0x0E).
extension SerialDeviceEncoders {
    package static let intelliVueAssociationResponse: [UInt8] = [0x0E, 0x0C, 0x05, 0x08, 0x13, 0x01, 0x00, 0x16, 0x01, 0x02, 0x80, 0x00, 0x14, 0x02]

    /// The MDS Create event report (ROIV, confirmed event report, NOM_NOTI_MDS_CREAT) a monitor sends
    /// after accepting an association, with an empty attribute list.
    package static func intelliVueMDSCreate(invokeID: UInt16 = 1, eventTime: UInt32 = 0x000A_BD00) -> [UInt8] {
        var payload: [UInt8] = [0xE1, 0x00, 0x00, 0x02, 0x00, 0x01]
        let info: [UInt8] = [0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]  // MDS, empty AttributeList
        let argument: [UInt8] = [0x00, 0x21, 0x00, 0x00, 0x00, 0x00] + be32(eventTime) + [0x0D, 0x06] + be16(info.count) + info
        let roiv = be16(Int(invokeID)) + [0x00, 0x01] + be16(argument.count) + argument
        payload += be16(roiv.count) + roiv
        return payload
    }

    /// IntelliVue numerics as a monitor with an SpO2 module (and, for the ventilator's values, an
    /// IntelliBridge/VueLink module) reports them: (physio id, unit code, decimals).
    static let intelliVueNumerics: [(Parameter, UInt16, UInt16, Int)] = [
        (.spo2, 0x4BB8, 0x0220, 0), (.pulseRate, 0x4822, 0x0AA0, 0), (.fio2, 0x7498, 0x0220, 1), (.vt, 0x513C, 0x0652, 0),
        (.pplat, 0x50E8, 0x0F40, 1), (.peep, 0x51A8, 0x0F40, 1), (.ppeak, 0x5109, 0x0F40, 1), (.rr, 0x5012, 0x0AE0, 0),
        (.map, 0x4A17, 0x0F20, 0), (.heartRate, 0x4182, 0x0AA0, 0),
    ]

    /// The poll reply (RORS, NOM_ACT_POLL_MDIB_DATA) to the poll request `request` (its invoke id),
    /// one numeric per value; a probe off the finger makes SpO2 and pulse INVALID with no value.
    package static func intelliVuePollReply(_ values: Values, sensor: SensorState, answering request: [UInt8]) -> [UInt8] {
        let invokeID: [UInt8] = request.count >= 10 ? [request[8], request[9]] : [0, 0]
        var observations: [UInt8] = []
        var count = 0
        for (index, (parameter, physio, unit, decimals)) in intelliVueNumerics.enumerated() {
            guard let value = values[parameter] else { continue }
            let off = sensor != .ok && (parameter == .spo2 || parameter == .pulseRate)
            let numeric = be16(Int(physio)) + (off ? [0x80, 0x00] : [0x00, 0x00]) + be16(Int(unit))
                + be32(IntelliVueFloat.encode(off ? nil : value, decimals: decimals))
            let label = Array(parameter.name.utf16.prefix(8)).flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
            let attributes = [0x09, 0x27] + be16(label.count + 2) + be16(label.count) + label + [0x09, 0x50] + be16(numeric.count) + numeric
            observations += be16(0x10 + index) + [0x00, 0x02] + be16(attributes.count) + attributes
            count += 1
        }
        let context = [0x00, 0x00] + be16(count) + be16(observations.count) + observations
        let list = [0x00, 0x01] + be16(context.count) + context
        let reply: [UInt8] = [0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x20, 0x26, 0x11, 0x30, 0x12, 0x00, 0x00, 0x00,
                              0x00, 0x01, 0x00, 0x06, 0x08, 0x03] + list
        let action = [0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x16] + be16(reply.count) + reply
        let rors = invokeID + [0x00, 0x07] + be16(action.count) + action
        return IntelliVueFrame.encode([0xE1, 0x00, 0x00, 0x02, 0x00, 0x02] + be16(rors.count) + rors)
    }

    static func be16(_ value: Int) -> [UInt8] { [UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)] }
    static func be32(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)] }
}
