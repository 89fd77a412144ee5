#!/bin/sh
# Installed by the role atlassian_ops.backup.scheduled_backup: the systemd service and the cron entry run the
# nightly playbook through this script.
#
#   scheduled-run.sh REPORT_FILE [TEXTFILE TARGET TYPE]... -- COMMAND [ARGUMENT]...
#
# It runs COMMAND and exits with its exit code. The role writes REPORT_FILE once every target has run (and has
# written its metrics). When COMMAND fails and REPORT_FILE was not written, the run failed before or outside the
# role (the collection not found, a wrong variable, an interpreter without requests...): the script then sets
# atlassian_backup_last_run_success to 0 in each TEXTFILE, so the failed night is seen by the monitoring.
set -u

if [ "$#" -lt 3 ]; then
    echo "usage: $0 REPORT_FILE [TEXTFILE TARGET TYPE]... -- COMMAND [ARGUMENT]..." >&2
    exit 64
fi
report=$1
shift

# Each textfile's path, target and type, one per line (targets and types hold no spaces or line breaks).
metrics=""
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
    if [ "$#" -lt 4 ]; then
        echo "$0: TEXTFILE TARGET TYPE expected before --" >&2
        exit 64
    fi
    metrics="${metrics}$2 $3 $1
"
    shift 3
done
if [ "$#" -lt 2 ]; then
    echo "$0: no command after --" >&2
    exit 64
fi
shift

rm -f -- "$report"
"$@"
rc=$?
if [ "$rc" -eq 0 ] || [ -e "$report" ]; then
    exit "$rc"
fi

# The HELP text is the one plugins/module_utils/store/metrics.py writes (a test keeps them the same).
help='# HELP atlassian_backup_last_run_success 1 when the last run of the target succeeded, 0 when it failed.'
printf '%s\n' "$metrics" | while read -r target type textfile; do
    [ -n "$target" ] || continue
    folder=$(dirname -- "$textfile")
    if ! tmp=$(mktemp "$folder/.atlassian_backup_run.XXXXXX" 2>/dev/null); then
        echo "The nightly backup run failed (exit code $rc) before its targets ran, and $folder cannot be" \
             "written: atlassian_backup_last_run_success 0 of $target is not recorded. Create the folder" \
             "(scheduled_backup_textfile_dir) or make it writable for the run's user." >&2
        continue
    fi
    if [ -f "$textfile" ] && grep -q '^atlassian_backup_last_run_success{' "$textfile"; then
        sed 's/^\(atlassian_backup_last_run_success{.*}\) [^ ]*$/\1 0/' "$textfile" > "$tmp"
    else
        {
            printf '%s\n# TYPE atlassian_backup_last_run_success gauge\n' "$help"
            printf 'atlassian_backup_last_run_success{target="%s",type="%s"} 0\n' "$target" "$type"
            if [ -f "$textfile" ]; then
                cat -- "$textfile"
            fi
        } > "$tmp"
    fi
    chmod 0644 "$tmp" && mv -f -- "$tmp" "$textfile"
    echo "The nightly backup run failed (exit code $rc) before its targets ran: wrote" \
         "atlassian_backup_last_run_success 0 to $textfile. Its output above says why." >&2
done
exit "$rc"
