#!/bin/sh
# Install libedgeseal into a temporary prefix, then build and run a small
# consumer that finds it through pkg-config alone; then install everything
# under a prefix chosen at install time and check the systemd unit.
#
# Usage: install_test.sh CMAKE BUILD_DIR CC SANITIZE
# SANITIZE is the build's -fsanitize list: the consumer is compiled with the
# same flags, since the installed library needs the sanitizer runtime.
set -eu
cmake=$1 build=$2 cc=$3 sanitize=${4:-}
prefix=$(mktemp -d /tmp/edgeseal-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT

"$cmake" --install "$build" --prefix "$prefix" --component edgeseal \
	>/dev/null
libdir=$(dirname "$(find "$prefix" -name edgeseal.pc)")/..
test -f "$prefix/include/edgeseal.h"
test -x "$prefix/bin/edgeseal"
test -f "$libdir/cmake/edgeseal/edgesealConfig.cmake"

cat >"$prefix/consumer.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <edgeseal.h>

int
main(void)
{
	char fp[9];

	edgeseal_fingerprint("abc", 3, fp);
	if (strcmp(edgeseal_reason_str(EDGESEAL_EXPIRED), "expired") != 0 ||
	    strcmp(fp, "ba7816bf") != 0)
		return 1;
	puts("consumer ok");
	return 0;
}
C

flags=""
[ -n "$sanitize" ] && flags="-fsanitize=$sanitize"
PKG_CONFIG_PATH="$libdir/pkgconfig" \
	sh -c "\"$cc\" $flags -o \"$prefix/consumer\" \"$prefix/consumer.c\" \
	\$(pkg-config --cflags --libs edgeseal)"
LD_LIBRARY_PATH="$libdir" "$prefix/consumer"

# The whole install under another prefix, given only at install time: the
# systemd unit lands under it and names its own sbin and etc.
unit=$prefix/dest/opt/es/lib/systemd/system/edgeseal-spoa.service
DESTDIR=$prefix/dest "$cmake" --install "$build" --prefix /opt/es >/dev/null
if [ -f "$build/spoa-agent/edgeseal-spoa" ]; then
	grep -q '^ExecStart=/opt/es/sbin/edgeseal-spoa -d -f /opt/es/etc/edgeseal/edgeseal-spoa.conf$' "$unit"
	! grep -q /usr/ "$unit"
fi
