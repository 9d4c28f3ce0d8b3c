#!/usr/bin/env bash
# Installs, from Debian's packages, the real peers that Tessera's tests talk to:
# pcscd + the vsmartcard virtual reader, OpenSC, yubico-piv-tool, CUPS, ippeveprinter (a standalone
# IPP Everywhere printer, which needs Avahi and a system D-Bus to start), poppler's pdftoppm (printed
# PDFs rasterized in the printing tests) and zbarimg (their barcodes read back), OpenLDAP slapd,
# SoftHSM2, Chromium and openssl. Only what is missing is installed, so a warm machine skips it.
set -euo pipefail
pkgs=(openssl pcscd vsmartcard-vpcd opensc yubico-piv-tool pcsc-tools libpcsclite-dev
      cups cups-client cups-ipp-utils avahi-daemon dbus slapd ldap-utils softhsm2 chromium
      poppler-utils zbar-tools)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "install-peers: installing ${missing[*]}"
$SUDO apt-get update -qq
# slapd asks questions at install time; answer them so the install is unattended.
printf '%s\n' "slapd slapd/password1 password admin" "slapd slapd/password2 password admin" \
  "slapd slapd/domain string example.org" | $SUDO debconf-set-selections
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-peers: done"
