#!/usr/bin/env bash
# zincsearch.sh builds ZincSearch v0.4.10, the Elasticsearch-API server the
# Elasticsearch sink's tests run against, into .cache/bin/zincsearch.
#
# It is idempotent: when .cache/bin/zincsearch already reports the pinned
# version it does nothing. ZincSearch is built from its Go module source with
# two changes (DEVELOPERS.md explains them):
#   1. web/dist/index.html is created: the embedded web UI is not in the
#      module zip, and `//go:embed web/dist` needs the directory to exist.
#   2. the optional pyroscope profiler is removed from cmd/zincsearch/main.go:
#      one of its dependencies does not compile on Go >= 1.22.
#
# Usage: scripts/zincsearch.sh [output-binary]
set -euo pipefail

VERSION=v0.4.10
MODULE=github.com/zincsearch/zincsearch
GO=${GO:-go}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/.cache/bin/zincsearch}
SRC=$ROOT/.cache/src/zincsearch-$VERSION

# A stamp next to the binary records what was built: running `zincsearch
# version` would create a data directory in the working directory.
STAMP=$OUT.version
if [ -x "$OUT" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
	exit 0
fi

echo "building ZincSearch $VERSION into $OUT"
# The module is downloaded outside the project so that its go.mod is not
# taken for a module of ours; GOFLAGS from the caller would apply to it too.
dir=$(cd /tmp && GOFLAGS=-mod=mod "$GO" mod download -json "$MODULE@$VERSION" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
	echo "zincsearch.sh: go mod download $MODULE@$VERSION gave no directory" >&2
	exit 1
fi

rm -rf "$SRC"
mkdir -p "$(dirname "$SRC")" "$(dirname "$OUT")"
cp -R "$dir" "$SRC"
chmod -R u+w "$SRC"

# 1. The UI that `//go:embed web/dist` expects.
mkdir -p "$SRC/web/dist"
cat >"$SRC/web/dist/index.html" <<'HTML'
<!doctype html><title>ZincSearch</title><p>The web UI is not part of this build (vigil tests use the API only).</p>
HTML

# 2. No pyroscope: drop its import and the profiler, and the import of
# strings that only the profiler used.
main=$SRC/cmd/zincsearch/main.go
sed -i \
	-e '/"github.com\/pyroscope-io\/client\/pyroscope"/d' \
	-e '/^[[:space:]]*"strings"$/d' \
	-e '/^[[:space:]]*profiling()$/d' \
	-e '/^[[:space:]]*\/\/ Continuous profiling$/d' \
	"$main"
# Delete func profiling() { ... } up to its closing brace at column 0.
sed -i '/^func profiling() {$/,/^}$/d' "$main"
if grep -q pyroscope "$main"; then
	echo "zincsearch.sh: could not remove pyroscope from $main" >&2
	exit 1
fi

# Version stamp, as the project's own build does.
(cd "$SRC" && CGO_ENABLED=0 GOFLAGS=-mod=mod GOWORK=off "$GO" build -trimpath \
	-ldflags "-s -w -X $MODULE/pkg/meta.Version=$VERSION" \
	-o "$OUT.tmp" ./cmd/zincsearch)
mv "$OUT.tmp" "$OUT"
echo "$VERSION" >"$STAMP"
rm -rf "$SRC"
echo "ZincSearch $VERSION: $OUT"
