#!/usr/bin/env bash
# Regenerates the app icons (a portcullis gate on a rounded square) with ImageMagick.
# Output: RGBA PNGs named in src-tauri/tauri.conf.json (bundle.icon).
set -euo pipefail
cd "$(dirname "$0")"
bg='#1f3a5f'; fg='#f2c14e'
draw=(
  # frame: an arch opening
  -fill none -stroke "$fg" -strokewidth 28
  -draw "line 116,420 116,200" -draw "line 396,420 396,200" -draw "ellipse 256,200 140,140 180,360"
  # vertical bars with spiked ends
  -strokewidth 18
  -draw "line 186,120 186,386" -draw "line 256,98 256,386" -draw "line 326,120 326,386"
  # horizontal bars
  -draw "line 130,200 382,200" -draw "line 130,290 382,290"
  -stroke none -fill "$fg"
  -draw "polygon 174,384 198,384 186,414" -draw "polygon 244,384 268,384 256,414" -draw "polygon 314,384 338,384 326,414"
  # ground
  -draw "roundrectangle 86,420 426,446 8,8"
)
convert -size 512x512 xc:none -fill "$bg" -draw "roundrectangle 16,16 496,496 96,96" "${draw[@]}" PNG32:icon.png
convert icon.png -resize 256x256 PNG32:128x128@2x.png
convert icon.png -resize 128x128 PNG32:128x128.png
convert icon.png -resize 32x32 PNG32:32x32.png
# The hicolor theme sizes desktops look up (launchers, docks, alt-tab, file managers): the packages
# install one PNG per size under /usr/share/icons/hicolor/<size>/apps/.
for size in 16 22 24 48 64 96 256; do
  convert icon.png -resize "${size}x${size}" -strip PNG32:"${size}x${size}.png"
done
