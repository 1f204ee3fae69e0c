import AlveoTestKit
import AlveoAgent
import Foundation
import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoOutput
import Testing

@Suite struct AgentConfigTests {
    @Test func aBedMayWaitForItsPatient() throws {
        let config = try AgentConfig.parse(yaml: "rules: {}", file: "bed.yaml")
        #expect(config.patient == .unknown)
        #expect(config.patient.predictedBodyWeightKg == nil)
        let partial = try AgentConfig.parse(yaml: "patient: {sex: male}", file: "bed.yaml")
        #expect(partial.patient.sex == .male && partial.patient.heightCm == nil)
    }

    @Test func patientOnlyConfigIsEnough() throws {
        let config = try AgentConfig.parse(yaml: """
            patient:
              sex: female
              height_cm: 160
              conditions: [diffuse_alveolar_hemorrhage, anca_vasculitis]
            """, file: "bed.yaml")
        #expect(config.patient.sex == .female)
        #expect(config.patient.conditions == [.diffuseAlveolarHemorrhage, .ancaVasculitis])
        #expect(config.rules == RuleSettings())
    }

    @Test func everyRuleNumberIsOverridable() throws {
        let config = try AgentConfig.parse(yaml: """
            patient: {sex: male, height_cm: 180}
            rules:
              lpv.tidal_volume_high: {threshold_ml_per_kg: 7, delay_s: 120}
              oxygenation.spo2_low: {enabled: false}
              technical.device_silent:
                timeout_s: 15
                per_source_timeout_s: {oxi: 30}
              alarm_system: {high_s: 300, latched_s: 1800, medium_s: 300, medium_max_s: 2400, rearm_s: 3600}
            """, file: "bed.yaml")
        #expect(config.rules[TidalVolumeHigh.self].vtHighMlPerKg == 7)
        #expect(config.rules[TidalVolumeHigh.self].vtHighDelay == 120)
        #expect(config.rules.disabled == [.spo2Low])
        #expect(config.rules.silentAfter(source: "oxi") == 30)
        #expect(config.rules.silentAfter(source: "vent") == 15)
        #expect(config.rules.reannounceHigh == 300 && config.rules.reannounceLatched == 1800)
        #expect(config.rules.reannounceMedium == 300 && config.rules.reannounceMediumMax == 2400 && config.rules.advisoryRearm == 3600)
    }

    @Test(arguments: [
        ("patient: {sex: other, height_cm: 170}", "bed.yaml:1: patient.sex: 'other' is not one of: male, female"),
        ("patient: {sex: male, height_cm: 17}", "bed.yaml:1: patient.height_cm: 17.0 is out of the allowed range"),
        ("patient:\n  sex: female\n  height_cm: 100", "bed.yaml:3: patient.height_cm: ARDSNet PBW is for adults: height 100 cm is outside 130-250 cm"),
        ("patient: {sex: male, height_cm: 170}\nrules:\n  alarm_system: {reannounce_s: 300}", "bed.yaml:3: rules.alarm_system.reannounce_s: reannounce_s is gone in rules v2"),
        ("patient: {sex: male, height_cm: 170}\nrules:\n  escalation.plasma_exchange: {spo2_pct: 90}", "bed.yaml:3: rules.escalation.plasma_exchange.spo2_pct: spo2_pct is gone in rules v2"),
        ("patient: {sex: male, height_cm: 170, pbw_kg: 5}", "bed.yaml:1: patient.pbw_kg: 5.0 is out of the allowed range"),
        ("patient:\n  sex: male\n  height_cm: tall", "bed.yaml:3: patient.height_cm: expected a number (cm)"),
        ("patient: {sex: male, height_cm: 170, weight: 80}", "bed.yaml:1: patient.weight: unknown key"),
        ("patient: {sex: male, height_cm: 170}\nrules:\n  alarm_system: {max_sample_age_s: 60}", "bed.yaml:3: rules.alarm_system.max_sample_age_s: 60.0 is out of the allowed range"),
        ("patient: {sex: male, height_cm: 170}\nrule: {}", "bed.yaml:2: rule: unknown key (allowed here: patient, rules, devices, outputs, control, inputs, logging, trends)"),
        ("patient: {sex: male, height_cm: 170}\nrules:\n  lpv.tidal_volume_high: {threshold_ml_per_kg: 20}", "bed.yaml:3: rules.lpv.tidal_volume_high.threshold_ml_per_kg: 20.0 is out of the allowed range"),
        ("patient: {sex: male, height_cm: 170}\nrules:\n  lpv.plateau_high: {end_cmh2o: 35}", "rules.lpv.plateau_high: need end_cmh2o <= threshold_cmh2o"),
        ("patient: [", "bed.yaml:2: not valid YAML: did not find expected node content"),
        ("patient: {sex: male, height_cm: 170}\nrules:\n  escalation.prone_positioning: {offset_s: 60}",
         "bed.yaml:3: rules.escalation.prone_positioning.offset_s: offset_s does not apply to escalation.prone_positioning: the prompt keeps its own qualifying window"),
        ("patient: {sex: male, height_cm: 170}\nrules:\n  technical.monitoring_gap: {chatter_max_per_h: 5}",
         "chatter_max_per_h does not apply to technical.monitoring_gap"),
        ("patient: {sex: male, height_cm: 170}\nrules:\n  oxygenation.spo2_low: {chatter_max_per_h: 0}",
         "bed.yaml:3: rules.oxygenation.spo2_low.chatter_max_per_h: 0.0 is out of the allowed range"),
        // Rules v3 §4.4, §2.2, §7.16: the end of pf_falling's hysteresis above its start, a high alarm
        // silent for 2 h, and v2's latched_s 7200 with a hint of why it went.
        ("patient: {sex: male, height_cm: 170}\nrules:\n  oxygenation.pf_falling: {fall_fraction: 0.2, end_fall_fraction: 0.25}",
         "rules.oxygenation.pf_falling: need end_fall_fraction <= fall_fraction"),
        ("patient: {sex: male, height_cm: 170}\nrules:\n  alarm_system: {high_max_s: 7200}",
         "bed.yaml:3: rules.alarm_system.high_max_s: 7200.0 is out of the allowed range 600.0...3600.0"),
        ("patient: {sex: male, height_cm: 170}\nrules:\n  alarm_system: {latched_s: 7200}",
         "bed.yaml:3: rules.alarm_system.latched_s: latched_s 7200.0 is refused: rules v3 re-announce an unacknowledged latched high alarm at least every 3600 s"),
        // Rules v3 §5.1: the MAP thresholds in order, the allowed ranges.
        ("patient: {sex: male, height_cm: 170}\nrules:\n  circulation.hypotension: {high_threshold_mmhg: 70}",
         "rules.circulation.hypotension: need high_threshold_mmhg <= threshold_mmhg <= end_mmhg"),
        ("patient: {sex: male, height_cm: 170}\nrules:\n  circulation.hypotension: {end_mmhg: 60}",
         "rules.circulation.hypotension: need high_threshold_mmhg <= threshold_mmhg <= end_mmhg"),
        ("patient: {sex: male, height_cm: 170}\nrules:\n  circulation.hypotension: {threshold_mmhg: 20}",
         "bed.yaml:3: rules.circulation.hypotension.threshold_mmhg: 20.0 is out of the allowed range"),
        ("patient: {sex: male, height_cm: 170}\nrules:\n  circulation.hypotension: {nibp_valid_s: 30}",
         "bed.yaml:3: rules.circulation.hypotension.nibp_valid_s: 30.0 is out of the allowed range"),
        // Rules v3 §5.2: EOLIA's numbers within their ranges.
        ("patient: {sex: male, height_cm: 170}\nrules:\n  escalation.ecmo_referral: {ph_max: 7.6}",
         "bed.yaml:3: rules.escalation.ecmo_referral.ph_max: 7.6 is out of the allowed range"),
        ("patient: {sex: male, height_cm: 170}\nrules:\n  escalation.ecmo_referral: {offset_s: 60}",
         "offset_s does not apply to escalation.ecmo_referral"),
        // Rules v3 §4.13: the high tier of haemoptysis while prone.
        ("patient: {sex: male, height_cm: 170}\nrules:\n  dah.hemoptysis_prone: {high_ml: 2000}",
         "bed.yaml:3: rules.dah.hemoptysis_prone.high_ml: 2000.0 is out of the allowed range"),
        // Rules v3 §3.3: one ECMO state at start.
        ("patient: {sex: male, height_cm: 170, conditions: [ecmo_vv, ecmo_va]}",
         "ecmo_vv and ecmo_va: give at most one"),
        // Rules v3 §3.4: massive haemoptysis from 100 to 5000 ml.
        ("patient: {sex: male, height_cm: 170}\nrules:\n  dah.hemoptysis_volume: {massive_ml: 50}",
         "bed.yaml:3: rules.dah.hemoptysis_volume.massive_ml: 50.0 is out of the allowed range"),
        // Issue 28: devices behind the device gateway and on the LAN.
        ("devices:\n  - {id: mon, transport: {kind: pcd01}}", "bed.yaml:2: devices[0].transport: missing 'equipment'"),
        ("devices:\n  - {id: mon, poll_interval_s: 1, transport: {kind: pcd01, equipment: MON}}", "'poll_interval_s' does not apply to a pcd01 device"),
        ("devices:\n  - {id: mon, transport: {kind: pcd01, equipment: 'A|B'}}", "no HL7 separators"),
        ("devices:\n  - {id: a, transport: {kind: pcd01, equipment: MON}}\n  - {id: b, transport: {kind: pcd01, equipment: mon}}",
         "'b' and 'a' both take equipment mon"),
        ("devices:\n  - {id: mon, transport: {kind: pcd01, equipment: MON}}", "bed.yaml:2: devices: 'mon' is a pcd01 device: its values come through the device gateway"),
        ("inputs:\n  hl7: {bind: 127.0.0.1, port: 2576, allowed_senders: [LIS], device_gateway: {location: ICU}}", "give senders: the gateway's MSH-3"),
        ("inputs:\n  hl7: {bind: 127.0.0.1, port: 2576, allowed_senders: [LIS], device_gateway: {senders: [GW]}}",
         "device_gateway: give its location (this bed's PV1-3 as the gateway writes it) or a bed_location"),
        ("inputs:\n  hl7: {bind: 127.0.0.1, port: 2576, allowed_senders: [LIS], device_gateway: {senders: [GW], location: 'A|B'}}", "give this bed's PV1-3"),
        ("devices:\n  - {id: mon, transport: {kind: lan, protocol: pb840, host: 10.0.0.1}}", "pb840 is a serial-only protocol: on the LAN Alveo speaks intellivue"),
        ("devices:\n  - {id: mon, transport: {kind: lan, protocol: intellivue}}", "missing 'host'"),
        ("devices:\n  - {id: mon, transport: {kind: lan, protocol: intellivue, host: 10.0.0.1, path: /dev/ttyS0}}", "path: unknown key"),
    ])
    func badConfigsSayWhatAndWhere(yaml: String, message: String) {
        #expect {
            try AgentConfig.parse(yaml: yaml, file: "bed.yaml")
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func theAlarmEnginesTimingIsConfigurablePerRule() throws {
        let config = try AgentConfig.parse(yaml: """
            rules:
              technical.sensor_off: {offset_s: 30, chatter_max_per_h: 6, chatter_stable_s: 120}
              dah.hemoptysis_prone: {min_active_s: 0}
              escalation.plasma_exchange: {chatter_max_per_h: 1}
              technical.trend_store_failed: {chatter_stable_s: 60}
            """, file: "bed.yaml")
        #expect(config.rules.policy(.sensorOff) == AlarmPolicy(offset: 30, chatterMax: 6, chatterStable: 120))
        #expect(config.rules.policy(.hemoptysisProne).minActive == 0)
        #expect(config.rules.policy(.plasmaExchange).chatterMax == 1)
        #expect(config.outputs.alarmPolicies[RuleID.trendStoreFailed.ordinal].chatterStable == 60, "the agent's own alarms too")
        #expect(config.rules.policy(.spo2Low) == AlarmPolicy.defaults(for: .spo2Low))
    }

    @Test func syslogProtocolIsTCPByDefaultAndRELPOnRequest() throws {
        func syslog(_ line: String) throws -> SyslogSettings? {
            try AgentConfig.parse(yaml: """
                outputs:
                  journal: {directory: journal}
                  syslog: {host: 127.0.0.1, port: 2514, bed_id: ICU-B1\(line)}
                """, file: "bed.yaml").outputs.syslog
        }
        #expect(try syslog("")?.transport == .tcp)
        #expect(try syslog(", protocol: tcp")?.transport == .tcp)
        let relp = try #require(try syslog(", protocol: relp, ack_timeout_ms: 2000"))
        #expect(relp.transport == .relp)
        #expect(relp.ackTimeout == .milliseconds(2000))
        #expect(relp.software == "alveo,\(AlveoVersion.string)")
        #expect {
            try syslog(", protocol: rfc3195")
        } throws: { error in
            "\(error)".contains("bed.yaml:3: outputs.syslog.protocol: 'rfc3195' is not a syslog protocol (tcp:")
        }
        #expect {
            try syslog(", protocol: relp, resend_window_s: 5")
        } throws: { error in
            "\(error)".contains("bed.yaml:3: outputs.syslog.resend_window_s: resend_window_s is for protocol: tcp")
        }
    }

    @Test func everyConfigurableKeyIsDocumented() throws {
        let doc = try String(contentsOf: Paths.repository.appendingPathComponent("docs/clinical-rules.md"), encoding: .utf8)
        for rule in RuleID.allCases {
            #expect(doc.contains("`\(rule.id)`"), "docs/clinical-rules.md does not describe \(rule.id)")
            for key in RuleSettings.keys(for: rule) {
                #expect(doc.contains("`\(key.name)`"), "\(rule.id).\(key.name) is not documented")
            }
        }
    }
}

@Suite struct ProfileFileTests {
    @Test func shippedGatewayProfileEqualsTheBuiltInMap() throws {
        let path = Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path
        #expect(try ProfileLoader.load(path: path) == ModbusProfile.gatewayV1)
    }

    @Test func shippedFloatProfileLoads() throws {
        let profile = try ProfileLoader.load(path: Paths.repository.appendingPathComponent("devices/generic-float32-cdab/profile.yaml").path)
        #expect(profile.fields.allSatisfy { $0.type == .float32CDAB && $0.table == .holding })
        #expect(profile.fields.first { $0.parameter == .vt }?.unit == .litre)
    }

    @Test func badProfileSaysWhatAndWhere() throws {
        let path = try Paths.temporaryDirectory().appendingPathComponent("p.yaml").path
        try "name: x\nregisters:\n  - {parameter: vt, address: 3, unit: mbar}\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            try ProfileLoader.load(path: path)
        } throws: { error in
            "\(error)".contains("\(path):3: registers[0]: unit 'mbar' cannot be converted for vt (allowed: ml, l)")
        }
    }
}

@Suite struct ShippedConfigTests {
    @Test func everyConfigUnderConfigIsValid() throws {
        let directory = Paths.repository.appendingPathComponent("config")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }
        #expect(files.count >= 3)
        for file in files {
            let config = try AgentConfig.load(path: directory.appendingPathComponent(file).path)
            for device in config.devices {
                #expect(FileManager.default.fileExists(atPath: device.profilePath), "\(file): \(device.profilePath)")
            }
        }
    }

    @Test func duplicateDeviceIdsAndMissingTransportAreRefused() {
        let profile = Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path
        #expect {
            try AgentConfig.parse(yaml: """
                patient: {sex: male, height_cm: 170}
                devices:
                  - {id: a, profile: \(profile), transport: {kind: modbus_tcp, port: 502}}
                  - {id: a, profile: \(profile), transport: {kind: modbus_tcp, port: 503}}
                """, file: "bed.yaml")
        } throws: { "\($0)".contains("device id 'a' is used twice") }
        #expect {
            try AgentConfig.parse(yaml: """
                patient: {sex: male, height_cm: 170}
                devices:
                  - {id: a, profile: \(profile), transport: {kind: modbus_rtu}}
                """, file: "bed.yaml")
        } throws: { "\($0)".contains("bed.yaml:3: devices[0].transport: missing 'path'") }
        #expect {
            try AgentConfig.parse(yaml: """
                patient: {sex: male, height_cm: 170}
                devices:
                  - {id: a, profile: nowhere.yaml, transport: {kind: modbus_tcp}}
                """, file: "bed.yaml")
        } throws: { "\($0)".contains("bed.yaml:3: devices[0].profile: cannot find the profile nowhere.yaml: looked for /") }
        #expect {
            try AgentConfig.parse(yaml: """
                patient: {sex: male, height_cm: 170}
                devices:
                  - {id: a, profile: \(profile), transport: {kind: modbus_rtu, path: /dev/ttyUSB0, baud: 9600, unit_id: 1}}
                  - {id: b, profile: \(profile), transport: {kind: modbus_rtu, path: /dev/ttyUSB0, baud: 19200, unit_id: 2}}
                """, file: "bed.yaml")
        } throws: { "\($0)".contains("share /dev/ttyUSB0 with different line settings") }
        #expect {
            try AgentConfig.parse(yaml: """
                patient: {sex: male, height_cm: 170}
                devices:
                  - {id: a, profile: \(profile), transport: {kind: modbus_tcp, port: 502}}
                  - {id: b, profile: \(profile), transport: {kind: modbus_tcp, port: 502}}
                """, file: "bed.yaml")
        } throws: { "\($0)".contains("are both unit 1") }
        #expect {
            try AgentConfig.parse(yaml: """
                patient: {sex: male, height_cm: 170}
                devices:
                  - {id: a, profile: \(profile), transport: {kind: modbus_tcp, port: 502.5}}
                """, file: "bed.yaml")
        } throws: { "\($0)".contains("expected a whole number") }
    }
}

@Suite struct SerialDeviceConfigTests {
    @Test func serialDevicesParseAndAProfileIsRefused() throws {
        let config = try AgentConfig.parse(yaml: """
            patient: {sex: male, height_cm: 170}
            devices:
              - {id: vent, poll_interval_s: 0.5, transport: {kind: serial, protocol: pb840, path: /dev/ttyUSB0, baud: 9600, flow_control: rtscts}}
              - {id: oxi, transport: {kind: serial, protocol: masimo_ascii1, path: /dev/ttyUSB1}}
            """, file: "bed.yaml")
        #expect(config.serialDevices.map(\.id) == ["vent", "oxi"])
        #expect(config.serialDevices[0].settings.flowControl == .rtscts)
        #expect(config.serialDevices[0].pollInterval == 0.5)
        #expect {
            try AgentConfig.parse(yaml: """
                patient: {sex: male, height_cm: 170}
                devices:
                  - {id: vent, profile: x.yaml, transport: {kind: serial, protocol: pb840, path: /dev/ttyUSB0}}
                """, file: "bed.yaml")
        } throws: { "\($0)".contains("bed.yaml:3: devices[0].profile: a serial-protocol device takes no profile") }
        #expect {
            try AgentConfig.parse(yaml: """
                patient: {sex: male, height_cm: 170}
                devices:
                  - {id: a, transport: {kind: serial, protocol: pb840, path: /dev/ttyUSB0}}
                  - {id: b, transport: {kind: serial, protocol: medibus, path: /dev/ttyUSB0}}
                """, file: "bed.yaml")
        } throws: { "\($0)".contains("which another device already uses") }
        #expect {
            try AgentConfig.parse(yaml: """
                patient: {sex: male, height_cm: 170}
                devices:
                  - {id: a, transport: {kind: serial, protocol: philips, path: /dev/ttyUSB0}}
                """, file: "bed.yaml")
        } throws: { "\($0)".contains("'philips' is not one of: pb840, medibus, masimo_ascii1, nonin_df2, nonin_df8") }
    }
}
