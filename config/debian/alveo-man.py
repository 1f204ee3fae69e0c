#!/usr/bin/env python3
"""alveo(1) from the binary's own help: `alveo --experimental-dump-help` is the JSON that
swift-argument-parser renders `--help` from (abstracts, discussions, options, defaults), so the
manual and `--help` come from the same text and cannot drift. The package build runs it
(debian/rules) and Tests/Deb/install_test.sh runs it again on the installed binary and compares.
Usage: alveo-man.py PATH-TO-ALVEO > alveo.1"""
import json
import subprocess
import sys


def esc(text):
    """Text for troff: backslashes, and no line starting with a control character."""
    lines = []
    for line in text.replace("\\", "\\e").split("\n"):
        line = line.replace("-", "\\-")
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def paragraphs(text):
    """A discussion: blank lines separate paragraphs; indented lines are kept as they are (examples)."""
    out = []
    for block in text.strip("\n").split("\n\n"):
        if any(line.startswith("  ") for line in block.split("\n")):
            out += [".PP", ".nf", esc(block), ".fi"]
        else:
            out += [".PP", esc(" ".join(line.strip() for line in block.split("\n")))]
    return out


def names(arg):
    spelled = []
    for name in arg.get("names", []):
        dashes = {"long": "--", "short": "-", "longWithSingleDash": "-"}.get(name["kind"], "--")
        spelled.append("\\fB" + esc(dashes + name["name"]) + "\\fR")
    return spelled


def value(arg):
    name = esc(arg.get("valueName", "value"))
    return "\\fI<" + name + ">\\fR"


def usage(path, command):
    parts = ["\\fB" + esc(" ".join(path)) + "\\fR"]
    for arg in command.get("arguments", []):
        if not arg.get("shouldDisplay", True):
            continue
        if arg["kind"] == "positional":
            word = value(arg)
        else:
            word = names(arg)[0] if names(arg) else ""
            if arg["kind"] == "option":
                word += " " + value(arg)
        if arg.get("isRepeating"):
            word += " ..."
        parts.append("[" + word + "]" if arg.get("isOptional") else word)
    if command.get("subcommands"):
        parts.append("\\fIsubcommand\\fR")
    return " ".join(parts)


def options(command):
    out = []
    for arg in command.get("arguments", []):
        if not arg.get("shouldDisplay", True):
            continue
        if arg["kind"] == "positional":
            head = value(arg)
        else:
            head = ", ".join(names(arg))
            if arg["kind"] == "option":
                head += " " + value(arg)
        text = arg.get("abstract", "")
        if arg.get("defaultValue") is not None:
            text += " (default: " + arg["defaultValue"] + ")"
        out += [".TP", head, esc(text)]
        if arg.get("discussion"):
            out += paragraphs(arg["discussion"] if isinstance(arg["discussion"], str) else "")
    return out


def section(path, command, out):
    """One subsection per command, its subcommands after it."""
    if command.get("commandName") == "help" or not command.get("shouldDisplay", True):
        return
    out += [".SS " + esc(" ".join(path)), usage(path, command)]
    if command.get("abstract"):
        out += [".PP", esc(command["abstract"])]
    if command.get("discussion"):
        out += paragraphs(command["discussion"])
    out += options(command)
    for sub in command.get("subcommands", []):
        section(path + [sub["commandName"]], sub, out)


def main():
    binary = sys.argv[1]
    dump = json.loads(subprocess.run([binary, "--experimental-dump-help"], check=True,
                                     capture_output=True, text=True).stdout)
    root = dump["command"]
    version = subprocess.run([binary, "version"], check=True, capture_output=True,
                             text=True).stdout.split("\n")[0].split()[1]
    out = [
        '.TH ALVEO 1 "" "alveo ' + esc(version) + '" "Alveo manual"',
        ".SH NAME",
        "alveo \\- " + esc(root.get("abstract", "")),
        ".SH SYNOPSIS",
        "\\fBalveo\\fR \\fIcommand\\fR [\\fIoptions\\fR]",
        ".SH DESCRIPTION",
    ]
    out += paragraphs(root.get("discussion", "") or root.get("abstract", ""))
    out += [".PP", "The commands, each as \\fBalveo help\\fR \\fIcommand\\fR prints it:"]
    out += [".SH COMMANDS"]
    for sub in root.get("subcommands", []):
        section(["alveo", sub["commandName"]], sub, out)
    out += [
        ".SH FILES",
        ".TP", "\\fI/etc/alveo/alveo.yaml\\fR", "The bed's configuration, read by the service (alveo.yaml(5)).",
        ".TP", "\\fI/lib/systemd/system/alveo.service\\fR", "The systemd unit that runs \\fBalveo run\\fR.",
        ".TP", "\\fI/var/lib/alveo\\fR", "The alarm journal, the trend store and traces (patient data).",
        ".TP", "\\fI/usr/share/doc/alveo\\fR", "The documentation: operations.md, configuration.md, integration.md, clinical-rules.md; device READMEs; example beds in examples/.",
        ".SH SEE ALSO",
        "\\fBalveo.yaml\\fR(5), \\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1)",
    ]
    print("\n".join(out))


main()
