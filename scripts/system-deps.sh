#!/usr/bin/env bash
# System packages the product needs beyond Python: a Times-compatible font with Vietnamese
# (fonts-croscore: Tinos) for the PDF; Chromium for the browser test of the index;
# LibreOffice Writer (headless, no GUI) for the test that opens the Word report in an office suite.
# As root it installs what is missing. Without root it says what is missing, and fetches the
# font package into the virtual environment (apt-get download needs no root), so PDFs still
# carry the right font; without Chromium or LibreOffice the parts that need them say so and stop.
set -u
venv=${1:-.venv}
packages="fontconfig fonts-croscore chromium libreoffice-writer-nogui"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing system packages:$missing"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends $missing >/dev/null && exit 0
  echo "warning: apt-get could not install:$missing" >&2
  exit 0
fi
echo "warning: not root, so these system packages are not installed:$missing" >&2
case "$missing" in
  *fonts-croscore*)
    fonts="$venv/share/fonts/truetype/croscore"
    if [ ! -f "$fonts/Tinos-Regular.ttf" ] && command -v apt-get >/dev/null; then
      tmp=$(mktemp -d)
      if (cd "$tmp" && apt-get download fonts-croscore >/dev/null 2>&1); then
        dpkg-deb -x "$tmp"/fonts-croscore_*.deb "$tmp/x" && mkdir -p "$fonts" &&
          cp "$tmp"/x/usr/share/fonts/truetype/croscore/Tinos-*.ttf "$fonts"/ &&
          echo "  fetched the Tinos font into $fonts for the PDF reports" >&2
      else
        echo "  could not fetch fonts-croscore either: PDF reports will not be made" >&2
      fi
      rm -rf "$tmp"
    fi ;;
esac
case "$missing" in *chromium*) echo "  without Chromium, the browser test of the index cannot run" >&2 ;; esac
case "$missing" in *libreoffice*) echo "  without LibreOffice, the test of the Word report in an office suite fails (report.docx is still made)" >&2 ;; esac
echo "  as root: apt-get install$missing" >&2
exit 0
