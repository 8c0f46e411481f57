#!/bin/bash
# Three more fresh held-out seeds (17, 18, 19; never used by any calibration, table or experiment) for the 60-epoch
# defaults, run once with the default command (2 threads, the students two at a time at one thread each), 2026-12-02,
# after the seeds 14-16 table was committed and before any other change to what the quickstart trains.
export DOTNET_GCgen0size=0x10000000 DOTNET_GCLOHThreshold=0x1000000
dotnet run --project samples/Quickstart -c Release -- --seeds 17,18,19 --report quickstart-seeds-17-18-19
