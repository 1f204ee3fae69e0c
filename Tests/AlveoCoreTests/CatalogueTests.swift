@testable import AlveoCore
import Foundation
import Testing

/// The catalogue is the one list of Alveo's alarms: every identifier has exactly one unit, the
/// ordinals are dense, each unit lives in its family's folder, and every rule is documented with its
/// settings in docs/clinical-rules.md (a new rule is its file, its catalogue line and its section).
@Suite struct CatalogueTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func everyRuleIDHasOneUnitAndTheOrdinalsAreDense() {
        #expect(Catalogue.units.count == Catalogue.entries.count)
        #expect(RuleID.allCases.count == Catalogue.units.count)
        for (index, entry) in Catalogue.entries.enumerated() {
            #expect(entry.declaredOrdinal == index, "\(entry.identifier) declares ordinal \(entry.declaredOrdinal), expected \(index)")
        }
        for unit in Catalogue.units {
            #expect(Catalogue.entries[unit.id.ordinal].identifier == unit.identifier, "\(unit) is not at its ordinal")
            #expect(RuleID(rawValue: unit.identifier) == unit.id, "\(unit.identifier) does not look itself up")
        }
        var identifiers: Set<String> = []
        for unit in Catalogue.units { identifiers.insert(unit.identifier) }
        #expect(identifiers.count == Catalogue.units.count, "identifiers are unique (and a unit is listed once)")
        #expect(RuleID(rawValue: "lpv.no_such_rule") == nil)
    }

    @Test func identifiersFollowTheirFamilyAndTypes() {
        for unit in Catalogue.units {
            let prefix = String(unit.identifier.prefix { $0 != "." })
            let expected: [String] = switch unit.family {
            case .lungProtection: ["lpv"]
            case .oxygenation: ["oxygenation"]
            case .circulation: ["circulation"]
            case .escalation: ["escalation"]
            case .dah: ["dah"]
            case .technical, .agent: ["technical"]
            }
            #expect(expected.contains(prefix), "\(unit.identifier) is in family \(unit.family)")
            if unit.family == .technical || unit.family == .agent { #expect(unit.type == .technical, "\(unit.identifier)") }
            if unit.family == .escalation { #expect(unit.type == .advisory, "\(unit.identifier)") }
        }
    }

    @Test func clinicalRulesAndAgentConditionsAreApart() {
        let clinical = Catalogue.units.filter { $0 is any ClinicalRule.Type }
        let agent = Catalogue.units.filter { $0 is any AgentCondition.Type }
        #expect(clinical.count + agent.count == Catalogue.units.count, "every unit is one kind or the other")
        #expect(Catalogue.clinicalRules.count == clinical.count)
        for unit in agent {
            #expect(unit.family == .agent, "\(unit.identifier): the agent's conditions are in Rules/Agent")
            #expect(unit.id.isAgentCondition || unit.id.isLifecycle)
        }
        for unit in clinical {
            #expect(unit.family != .agent, "\(unit.identifier)")
            #expect(!unit.id.isAgentCondition && !unit.id.isLifecycle)
        }
        // The per-source rules run last, source by source.
        let firstPerSource = Catalogue.clinicalRules.firstIndex { $0 is any SourceRule.Type } ?? Catalogue.clinicalRules.count
        #expect(Catalogue.clinicalRules[firstPerSource...].allSatisfy { $0 is any SourceRule.Type })
    }

    @Test func eachUnitIsItsOwnFileInItsFamilysFolder() {
        for unit in Catalogue.units {
            let path = Self.repository.appendingPathComponent("Sources/AlveoCore/Rules/\(unit.family.rawValue)/\(unit).swift").path
            #expect(FileManager.default.fileExists(atPath: path), "\(unit.identifier): expected \(path)")
        }
    }

    @Test func limitAlarmsReadTheEvidenceTheirRuleWrites() {
        // A limit alarm's value, limit and device keys are typed keys its rule also writes.
        for unit in Catalogue.units {
            guard case .limit(let alarm) = unit.coding else { continue }
            #expect(unit.type == .physiological, "\(unit.identifier): a limit alarm is physiological")
            #expect(!alarm.value.name.isEmpty)
        }
    }

    @Test func everyRuleHasItsSectionWithItsSettings() throws {
        let doc = try String(contentsOf: Self.repository.appendingPathComponent("docs/clinical-rules.md"), encoding: .utf8)
        let sections = doc.components(separatedBy: "\n### ")
        for rule in RuleID.allCases {
            let section = sections.first { $0.hasPrefix("5.") && $0.split(separator: "\n")[0].contains("`\(rule.id)`") }
            guard let section else {
                Issue.record("docs/clinical-rules.md has no section 5.x for `\(rule.id)`")
                continue
            }
            guard !rule.isAgentCondition, !rule.isLifecycle else { continue }
            for key in RuleSettings.ruleKeys(for: rule) {
                #expect(section.contains("`\(key.name)`"), "\(rule.id).\(key.name) is not documented in its section of docs/clinical-rules.md")
            }
        }
    }

    @Test func settingsAreReadAndWrittenByTheirRulesKeys() {
        for rule in RuleID.allCases {
            for key in RuleSettings.ruleKeys(for: rule) {
                var settings = RuleSettings()
                let value = key.allowed.lowerBound
                key.set(&settings, value)
                #expect(key.get(settings) == value, "\(rule.id).\(key.name)")
                #expect(settings != RuleSettings() || key.get(RuleSettings()) == value, "\(rule.id).\(key.name) changes the settings")
            }
        }
    }
}
