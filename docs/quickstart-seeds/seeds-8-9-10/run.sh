#!/bin/bash
# Fresh held-out seeds 8, 9, 10 (never used by any calibration, table or experiment): the final code's defaults plus
# RKD, every run at 1 thread. Seeds 8 and 9 run side by side (one core each), then seed 10; finally the --seeds mode
# reloads every run, evaluates the test classes once and writes summary.md.
export DOTNET_GCgen0size=0x10000000 DOTNET_GCLOHThreshold=0x1000000
Q="dotnet /work/bin-h24/Quickstart.dll"
D="--distill absolute,relative,rkd,absolute+relative --threads 1"
R=/work/ho24/final
init() { # $1 report, rest: options; writes run-settings.json and stops
  r=$1; shift
  $Q --report $r "$@" > /dev/null 2>&1 &
  pid=$!
  while [ ! -f $r/run-settings.json ]; do sleep 0.2; done; sleep 0.5; kill $pid; wait $pid
}
init $R --seeds 8,9,10 $D
rm -rf $R/seed-*
seed() { # trains one seed's report in place
  s=$1
  init $R/seed-$s --seed $s $D
  $Q --report $R/seed-$s --seed $s $D --resume > /work/ho24/seed-$s.log 2>&1
}
seed 8 & seed 9 & wait
seed 10
$Q --report $R --seeds 8,9,10 $D --resume > /work/ho24/final.log 2>&1
