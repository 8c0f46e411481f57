#!/bin/bash
# The six held-out seeds of the 60-epoch defaults in one summary: no training. The report folders of the two runs
# (seeds-14-15-16/run.sh and seeds-17-18-19/run.sh) are gathered in one folder, whose run-settings.json is either
# run's with --seeds set to all six, and --resume reloads and evaluates every trained network.
set -e
export DOTNET_GCgen0size=0x10000000 DOTNET_GCLOHThreshold=0x1000000
mkdir -p quickstart-seeds-14-to-19
for s in 14 15 16; do ln -sfn "$PWD/quickstart-seeds-14-15-16/seed-$s" quickstart-seeds-14-to-19/seed-$s; done
for s in 17 18 19; do ln -sfn "$PWD/quickstart-seeds-17-18-19/seed-$s" quickstart-seeds-14-to-19/seed-$s; done
sed 's/"--seeds": "14,15,16"/"--seeds": "14,15,16,17,18,19"/' quickstart-seeds-14-15-16/run-settings.json \
  > quickstart-seeds-14-to-19/run-settings.json
dotnet run --project samples/Quickstart -c Release -- --seeds 14,15,16,17,18,19 --report quickstart-seeds-14-to-19 --resume
