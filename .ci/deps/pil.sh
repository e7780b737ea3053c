#!/usr/bin/env bash
# Debian's PIL and numpy for /usr/bin/python3: data/jpeg's TestMatchesPIL decodes shared-data
# photos with PIL (libjpeg-turbo, as TAO's Keras loader) and expects the same pixels.
set -euo pipefail
if ! /usr/bin/python3 -c 'import PIL, numpy' 2>/dev/null; then
	sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-pil python3-numpy
fi
