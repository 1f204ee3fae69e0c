#!/bin/sh
# alveo.yaml(5) from docs/configuration.md, the reference of the configuration file, with pandoc:
# the manual is that document, so they cannot drift. Links between the documents point to their
# installed copies in /usr/share/doc/alveo. Run by debian/rules at build and by the install test.
# Usage: alveo-yaml-man.sh configuration.md VERSION > alveo.yaml.5
set -eu
{
    printf '# NAME\n\nalveo.yaml - the configuration of a bed watched by the Alveo agent\n\n'
    printf '# SYNOPSIS\n\n/etc/alveo/alveo.yaml\n\n# DESCRIPTION\n\n'
    sed -e '1{/^# /d}' -e 's#](\([a-z-]*\.md\)#](/usr/share/doc/alveo/\1#g' "$1"
    printf '\n# SEE ALSO\n\nalveo(1), /usr/share/doc/alveo/configuration.md, /usr/share/doc/alveo/examples/\n'
} | sed -e 's/^## /# /' -e 's/^### /## /' -e 's/^#### /### /' \
  | pandoc -f gfm -t man -s --lua-filter "$(dirname "$0")/alveo-yaml-man.lua" -M title=ALVEO.YAML -M section=5 -M "footer=alveo $2" -M "header=Alveo manual"
