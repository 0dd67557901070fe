#!/usr/bin/env bash
# update_data.sh (annotui sandbox version, same contract as the real script):
# unpack an anno data archive into the data directory of one anno instance.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: update_data.sh -t TAR -r ROOT_FS -e ENVIRONMENT

Unpack the anno data archive TAR into the data directory of one anno instance.

  -t TAR          the data .tar archive (never one inside the data directory itself)
  -r ROOT_FS      tsd | boston
  -e ENVIRONMENT  staging | prod
  -h              show this help

The archive is unpacked into a temporary directory next to the data directory. Every source
it replaces (a top-level file such as sources.json, or a directory such as variantDBs/clinvar)
is moved aside into data/.tmp, the new one is moved in, and data/.tmp is removed at the end.
The unpacked data is made group-writable (mode 775).
USAGE
}

die() {
    echo "update_data.sh: $*" >&2
    exit 1
}

TAR="" ROOT_FS="" ENVIRONMENT=""
while getopts ":t:r:e:h" opt; do
    case $opt in
        t) TAR=$OPTARG ;;
        r) ROOT_FS=$OPTARG ;;
        e) ENVIRONMENT=$OPTARG ;;
        h) usage; exit 0 ;;
        :) usage >&2; die "option -$OPTARG needs a value" ;;
        *) usage >&2; die "unknown option -$OPTARG" ;;
    esac
done
if [ -z "$TAR" ] || [ -z "$ROOT_FS" ] || [ -z "$ENVIRONMENT" ]; then
    usage >&2
    die "-t, -r and -e are required"
fi
case $ROOT_FS in tsd | boston) ;; *) die "ROOT_FS must be tsd or boston, not '$ROOT_FS'" ;; esac
case $ENVIRONMENT in staging | prod) ;; *) die "ENVIRONMENT must be staging or prod, not '$ENVIRONMENT'" ;; esac
[ -f "$TAR" ] || die "no such archive: $TAR"

ANNO_ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
if [ "$ROOT_FS" = tsd ]; then
    DATA="$ANNO_ROOT/anno-$ENVIRONMENT/data"
else
    NSC_BASE=$(cd "$ANNO_ROOT/../../.." && pwd -P)
    if [ "$ENVIRONMENT" = prod ]; then INSTANCE=production; else INSTANCE=staging; fi
    DATA="$NSC_BASE/$INSTANCE/sw/anno/data"
fi
[ -d "$DATA" ] || die "no data directory $DATA (ROOT_FS=$ROOT_FS, ENVIRONMENT=$ENVIRONMENT)"
DATA=$(cd "$DATA" && pwd -P)
TAR_ABS="$(cd "$(dirname "$TAR")" && pwd -P)/$(basename "$TAR")"
case "$TAR_ABS" in
    "$DATA"/*) die "refusing: $TAR is inside the data directory $DATA. Never untar directly in the data directory: move the archive to archive/data first." ;;
esac

WORK=$(mktemp -d "$(dirname "$DATA")/.update_data.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
echo "unpacking $TAR_ABS into a temporary directory"
tar -xf "$TAR_ABS" -C "$WORK"

mkdir -p "$DATA/.tmp"
replace() {
    local rel=$1
    if [ -e "$DATA/$rel" ] || [ -L "$DATA/$rel" ]; then
        mkdir -p "$(dirname "$DATA/.tmp/$rel")"
        mv "$DATA/$rel" "$DATA/.tmp/$rel"
        echo "moved old $rel aside to data/.tmp"
    fi
    mkdir -p "$(dirname "$DATA/$rel")"
    mv "$WORK/$rel" "$DATA/$rel"
    chmod -R 775 "$DATA/$rel"
    echo "installed $rel"
}
for top in "$WORK"/* "$WORK"/.[!.]*; do
    [ -e "$top" ] || continue
    name=${top##*/}
    if [ -d "$top" ]; then
        mkdir -p "$DATA/$name"
        chmod 775 "$DATA/$name"
        for sub in "$top"/* "$top"/.[!.]*; do
            [ -e "$sub" ] || continue
            replace "$name/${sub##*/}"
        done
    else
        replace "$name"
    fi
done
rm -rf "$DATA/.tmp"
echo "data of $ROOT_FS/$ENVIRONMENT updated in $DATA"
