#!/usr/bin/env python3
"""Writes the golden scenarios of clinical rules v2 (issue 12's acceptance cases), one CSV and YAML each.
Run it after changing a case, then regenerate the expected events:
    ALVEO_UPDATE_GOLDEN=1 swift test --filter GoldenScenarioTests   (and review the diff)."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
H = 3600


def write(name, yaml, header, rows):
    with open(os.path.join(HERE, name + ".yaml"), "w") as f:
        f.write(yaml)
    with open(os.path.join(HERE, name + ".csv"), "w") as f:
        for line in header:
            f.write("# " + line + "\n")
        f.write("t,source,parameter,value\n")
        for t, source, parameter, value in sorted(rows, key=lambda r: r[0]):
            f.write(f"{t:g},{source},{parameter},{value}\n")


def every(start, end, step):
    t = start
    while t <= end:
        yield t
        t += step


def adult(conditions="[]", extra=""):
    return f"patient:\n  sex: female\n  height_cm: 160\n  conditions: {conditions}\n" + (f"rules:\n{extra}" if extra else "")


# 1. Short stature: PBW from 135 cm with a caution.
rows = []
for t in every(0, 900, 60):
    rows += [(t, "vent", "vt", 330), (t, "vent", "peep", 8)]
write("v2_short_stature",
      "patient:\n  sex: male\n  height_cm: 135   # PBW 34.1 kg: short stature, check the height\n",
      ["Rules v2 1.1: a height of 135 cm gives PBW 34.1 kg with pbw_caution; Vt 330 ml is 9.7 ml/kg."], rows)

# 2. Prone window through gaps and trials; then known false for 1 h resets it.
rows = []
silence = range(int(4 * H), int(4 * H) + 300)
for t in every(0, 14 * H, 120):
    fio2 = 50 if 5 * H <= t < 5 * H + 600 else 80      # a 10 min FiO2 trial at 5 h
    if t >= 12.5 * H:
        fio2 = 50                                        # weaned: known false from 12.5 h
    rows += [(t, "vent", "peep", 12)]
    rows += [(t, "vent", "fio2", "" if t == 3 * H else fio2)]   # an empty FiO2 row at 3 h
    if t not in silence:
        rows += [(t, "oxi", "spo2", 97 if t == 2 * H else 88)]  # one SpO2 of 97 % at 2 h
rows += [(600, "nurse", "ack", "oxygenation.pf_severity"), (5 * H + 1200, "nurse", "ack", "oxygenation.pf_falling")]
write("v2_prone_window",
      adult(extra="  technical.device_silent: {timeout_s: 180}\n"),
      ["Rules v2 1.2 / acceptance 2: prone criteria (P/F ~69 imputed, FiO2 0.8, PEEP 12, supine) from 0 h;",
       "one SpO2 of 97 % (2 h), an empty FiO2 row (3 h), a 5 min oximeter silence (4 h, device_silent) and a",
       "10 min FiO2 0.5 trial (5 h) do not hold the prompt off: it starts at 12 h. Weaned to FiO2 0.5 at 12.5 h:",
       "known false for 1 h resets the window and the prompt ends saying why (13.5 h). (The end of the FiO2 trial",
       "is a real P/F fall, 109 -> 68: pf_falling, acknowledged.)"], rows)

# 3. A course: a 16 h session, supine with criteria not met -> prone_repeat 4 h later; a 9 h second
#    session, improvement -> prone_stop, no repeat.
bad = [("vent", "fio2", 80), ("vent", "peep", 14), ("oxi", "spo2", 88)]
good = [("vent", "fio2", 40), ("vent", "peep", 8), ("oxi", "spo2", 95)]
rows = [(0, "nurse", "position", "prone"), (600, "nurse", "ack", "oxygenation.pf_severity")]
for t in every(0, 22 * H, 600):
    rows += [(t,) + r for r in bad]
rows += [(16 * H, "nurse", "position", "supine"), (20.5 * H, "nurse", "position", "prone"),
         (29.5 * H, "nurse", "position", "supine")]
for t in every(22 * H + 600, 36 * H, 600):
    rows += [(t,) + r for r in (good if t >= 29.5 * H else bad)]
write("v2_prone_course", adult(extra="  technical.device_silent: {timeout_s: 900}\n"),
      ["Rules v2 acceptance 3: a 16 h prone session, supine with PROSEVA criteria not met -> prone_repeat at 20 h;",
       "proned again at 20.5 h for 9 h (short session); supine and improved (P/F >= 150, PEEP 8, FiO2 0.4) ->",
       "prone_stop 4 h later (33.5 h), no repeat."], rows)

# 4. PEEP change after a plateau.
rows = [(0, "vent", "pplat", 28)]
for t in every(0, 1800, 60):
    rows += [(t, "vent", "peep", 14 if t < 60 else 8), (t, "vent", "vt", 400)]
rows += [(1800, "vent", "pplat", 25)]
write("v2_peep_change", adult(),
      ["Rules v2 acceptance 4: a 28 cmH2O plateau on PEEP 14; PEEP 8 from 60 s: no driving pressure alarm",
       "(28 - 8 is not this plateau's driving pressure); plateau_stale 15 min after the change; a new plateau",
       "(25 on PEEP 8: driving pressure 17) ends it and is judged."], rows)

# 5. P/F like with like.
rows = [(0, "lab", "pao2", 100)]
for t in every(0, 3 * H, 300):
    rows += [(t, "vent", "fio2", 50 if t < 2 * H else 65), (t, "oxi", "spo2", 94.2)]
write("v2_pf_like_with_like", adult(),
      ["Rules v2 acceptance 5: a gas P/F of 200 expires (1 h) into an imputed ~142: no pf_falling;",
       "FiO2 0.65 at 2 h: imputed 142 -> 109: pf_falling."], rows)

# 6. Plasma exchange indications.
rows = []
for t in every(0, 5 * H, 300):
    rows += [(t, "vent", "fio2", 50)]
rows += [(0, "lab", "pao2", 118), (2 * H, "lab", "pao2", 80), (3 * H, "lab", "pao2", 80),
         (3.5 * H, "lab", "creatinine", 3.8), (4 * H, "nurse", "ack", "escalation.plasma_exchange"),
         (4.5 * H, "lab", "pao2", 75)]
write("v2_plasma_exchange", adult("[diffuse_alveolar_hemorrhage, anca_vasculitis]",
                                  "  technical.device_silent: {timeout_s: 900}\n"),
      ["Rules v2 acceptance 6: DAH with ANCA vasculitis. P/F 236 for 2 h: no prompt; P/F 160 from 2 h:",
       "dah_hypoxaemia at 3 h; creatinine 3.8 mg/dL at 3.5 h: update to anca_kidney; acknowledged at 4 h:",
       "ends, and neither indication comes back (P/F 150 at 4.5 h)."], rows)
write("v2_plasma_exchange_anti_gbm", adult("[anti_gbm]"), ["Rules v2 acceptance 6: anti-GBM disease without DAH: the prompt at the first group."],
      [(0, "vent", "fio2", 40), (60, "vent", "fio2", 40)])

# 7. Kidney stages.
write("v2_kidney", adult("[diffuse_alveolar_hemorrhage]"),
      ["Rules v2 acceptance 7: DAH only. Creatinine 1.0 then 1.5 after 100 h: 1.5 x the 7-day baseline, stage 1;",
       "3.1 at 110 h: stage 3, high (escalate); 1.2 at 120 h: no AKI, ends (latched: high)."],
      [(0, "lab", "creatinine", 1.0), (100 * H, "lab", "creatinine", 1.5), (110 * H, "lab", "creatinine", 3.1),
       (120 * H, "lab", "creatinine", 1.2)])

# 8. Haemoptysis while prone, and massive haemoptysis withholding the prone prompt.
rows = [(0, "nurse", "hemoptysis", 250), (600, "nurse", "ack", "oxygenation.pf_severity"),
        (600, "nurse", "ack", "dah.hemoptysis_volume"), (4200, "nurse", "ack", "escalation.plasma_exchange")]
for t in every(0, 28 * H, 600):
    rows += [(t,) + r for r in bad]
rows += [(26 * H, "nurse", "position", "prone"), (26 * H + 1200, "nurse", "hemoptysis", 60),
         (27 * H, "nurse", "position", "supine")]
write("v2_hemoptysis_prone", adult("[diffuse_alveolar_hemorrhage]", "  technical.device_silent: {timeout_s: 900}\n"),
      ["Rules v2 acceptance 8: 250 ml of haemoptysis at 0 h withholds the prone prompt while it holds (24 h);",
       "the window kept running, so the prompt comes when it ends; proned at 26 h, 60 ml charted while prone:",
       "hemoptysis_prone (high), latched when supine."], rows)

# 9. Re-announcement schedule.
rows = []
for t in every(0, 4.6 * H, 60):
    rows += [(t, "oxi", "spo2", 86 if t < 2 * H else (80 if t < 2.5 * H else 95)), (t, "vent", "fio2", 40)]
write("v2_reannounce", adult(),
      ["Rules v2 acceptance 9: SpO2 86 % (medium) re-announced at 600/1200/2400 s intervals with phase continue;",
       "SpO2 80 % from 2 h: escalate to high, re-announced every 600 s; SpO2 95 % from 2.5 h: latched, hourly;",
       "no escalate without a priority rise. fio2_weanable (advisory) is never re-announced."], rows)

# 10. FiO2 weanable.
rows = []
for t in every(0, 3 * H, 60):
    rows += [(t, "oxi", "spo2", 98 if t < 2.5 * H else 94), (t, "vent", "fio2", 60)]
write("v2_fio2_weanable", adult(),
      ["Rules v2 acceptance 10: SpO2 98 % on FiO2 0.60 for 30 min -> fio2_weanable (advisory: never re-announced",
       "over the next 2 h); ends at SpO2 94 % (2.5 h)."], rows)
