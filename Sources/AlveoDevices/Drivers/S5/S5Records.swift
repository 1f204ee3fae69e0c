import AlveoCore

/// Datex-Ohmeda Record Interface (DRI) records, as the S/5 computer interface carries them: a 40-byte
/// header (r_len, r_nbr, dri_level, plug_id, r_time, n_subnet, reserved, reserved, r_maintype, then
/// eight subrecord descriptors of an offset and a type, the list ended by type 0xFF) and the
/// subrecords. Little-endian throughout. Layout from the GE specification's structures as
/// device-protocols-monitors-vents.md and public readers (VSCapture, KaiWU17TUM/icu_devices) give them;
/// devices/ge-s5/README.md says what is not verified against a monitor.
package enum S5Record {
    /// r_maintype of physiological data (DRI_MT_PHDB).
    package static let physiologicalData: UInt16 = 0
    /// Subrecord types of physiological data: a transmission request, displayed values, 10 s and 60 s
    /// trends, auxiliary information; 0xFF ends the descriptor list.
    package static let requestType: UInt8 = 0
    package static let displayed: UInt8 = 1
    package static let trend10s: UInt8 = 2
    package static let trend60s: UInt8 = 3
    package static let endOfList: UInt8 = 0xFF
    /// A physiological subrecord (dri_phdb): a 4-byte time, one class's 270 bytes, marker, reserved,
    /// and the class/level/subtype word.
    package static let phdbSize = 278
    static let descriptorCount = 8

    /// A physiological data request (dri_phdb_req): record type (1 displayed values, 2 and 3 trends),
    /// transmission interval in seconds, and the class bits (0 the basic class alone; 0x2, 0x4, 0x8 add
    /// the extension classes 1-3). The specification's example, displayed values every 10 s with the
    /// classes 0x0E, is the fixture ge_dri_phdb_req_displ10s_spec.bin.
    package static func request(recordType: UInt8 = displayed, interval: UInt16, classes: UInt32 = 0) -> [UInt8] {
        let body: [UInt8] = [recordType] + le16(interval) + le32(classes) + [0, 0]
        return header(length: headerSize + body.count, mainType: physiologicalData, subrecords: [(0, requestType)]) + body
    }

    static let headerSize = S5Frame.headerSize

    /// A record header with these subrecords (offset from the end of the header, type).
    package static func header(length: Int, number: UInt8 = 0, time: UInt32 = 0, mainType: UInt16,
                               subrecords: [(offset: Int, type: UInt8)]) -> [UInt8]
    {
        var header = le16(UInt16(clamping: length)) + [number, 0] + [0, 0] + le32(time) + [0, 0, 0, 0] + le16(mainType)
        for index in 0..<descriptorCount {
            if index < subrecords.count {
                header += le16(UInt16(clamping: subrecords[index].offset)) + [subrecords[index].type]
            } else if index == subrecords.count {
                header += [0, 0, endOfList]
            } else {
                header += [0, 0, 0]
            }
        }
        return header
    }

    /// What a record is.
    package enum Parsed: Equatable, Sendable {
        /// Physiological data: its subrecords of displayed values of the basic class, each whole.
        case physiological(displayedBasic: [[UInt8]])
        /// A record of another kind (alarms, waveforms, network): not read.
        case other(mainType: UInt16)
        case malformed(String)
    }

    /// The record's kind and its displayed basic-class subrecords, if its layout holds: its subrecord
    /// descriptors end with 0xFF (or fill all eight), and every physiological subrecord lies within
    /// the record, after the header, without overlapping another. Subrecords of other types are skipped.
    package static func parse(_ record: [UInt8]) -> Parsed {
        guard record.count >= headerSize else { return .malformed("record of \(record.count) bytes, shorter than its header") }
        let mainType = u16(record, 14)
        guard mainType == physiologicalData else { return .other(mainType: mainType) }
        let dataCount = record.count - headerSize
        var spans: [(start: Int, end: Int, type: UInt8)] = []
        for index in 0..<descriptorCount {
            let at = 16 + 3 * index
            let type = record[at + 2]
            if type == endOfList { break }
            let offset = Int(Int16(bitPattern: u16(record, at)))
            // Other subrecords (auxiliary information) are of other sizes and not read.
            guard type == displayed || type == trend10s || type == trend60s else { continue }
            let size = phdbSize
            guard offset >= 0, offset + size <= dataCount else {
                return .malformed("subrecord \(index + 1) at offset \(offset) (\(size) bytes) outside the record's \(dataCount) data bytes")
            }
            if spans.contains(where: { offset < $0.end && $0.start < offset + size }) {
                return .malformed("subrecord \(index + 1) at offset \(offset) overlaps another")
            }
            spans.append((offset, offset + size, type))
        }
        guard !spans.isEmpty else { return .malformed("physiological record without a physiological subrecord") }
        var displayedBasic: [[UInt8]] = []
        for span in spans where span.type == displayed {
            let subrecord = Array(record[(headerSize + span.start)..<(headerSize + span.end)])
            // cl_drilvl_subt: the class in bits 8-11 (0 basic), as VSCapture reads it.
            if (u16(subrecord, phdbSize - 2) >> 8) & 0x0F == 0 { displayedBasic.append(subrecord) }
        }
        return .physiological(displayedBasic: displayedBasic)
    }

    // MARK: the basic class

    /// A group of the basic class: where it starts in the subrecord (after the 4-byte time), its
    /// status word (bit 0 exists, bit 1 active) and label.
    package struct Group: Sendable, Equatable {
        package let offset: Int
        package var exists: Bool
        package var active: Bool
        package var label: UInt16
    }

    /// Offsets in a displayed subrecord (the 4-byte time first): the groups of basic_phdb in order —
    /// ECG 16, four invasive pressures of 14, NIBP 14, four temperatures of 8, SpO2 14, CO2 14, O2 10,
    /// N2O 10, agent 12, flow-volume 22, CO/wedge 14, NMT 12, ECG extra 6, SvO2 8, two more invasive
    /// pressures of 14, 2 reserved: 270 bytes.
    package static let ecg = 4
    package static let invasivePressures = [20, 34, 48, 62, 244, 258]
    package static let nibp = 76
    package static let spo2 = 122
    package static let o2 = 150
    package static let flowVolume = 182

    /// Invasive pressure labels (the group's label word) that are the arterial line: ART 1, ABP 8.
    package static let arterialLabels: Set<UInt16> = [1, 8]

    package static func group(_ subrecord: [UInt8], at offset: Int) -> Group {
        let status = u32(subrecord, offset)
        return Group(offset: offset, exists: status & 1 != 0, active: status & 2 != 0, label: u16(subrecord, offset + 4))
    }

    /// The raw 16-bit value at `field` (0-based, after the 6-byte group header) of the group at `offset`.
    package static func raw(_ subrecord: [UInt8], group offset: Int, field: Int) -> Int16 {
        Int16(bitPattern: u16(subrecord, offset + 6 + 2 * field))
    }

    /// Values at or below this are the interface's markers, not measurements: -32767 no valid data,
    /// -32766 not updated, -32765 discontinuity, -32764 under range, -32763 over range, -32762 not
    /// calibrated (DATA_INVALID_LIMIT -32001).
    package static let invalidLimit: Int16 = -32001

    static func u16(_ bytes: [UInt8], _ at: Int) -> UInt16 {
        guard at >= 0, at + 1 < bytes.count else { return 0 }
        return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(u16(bytes, at)) | UInt32(u16(bytes, at + 2)) << 16
    }

    package static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    package static func le32(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
    }
}
