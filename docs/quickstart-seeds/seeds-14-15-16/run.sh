#!/bin/bash
# Fresh held-out seeds (14, 15, 16; never used by any calibration, table or experiment) for the 60-epoch defaults,
# exactly as the default run trains them: 2 threads, the teacher on both, the students two at a time at one thread
# each (--parallel-students). Run once, 2026-12-02, after the calibration behind these defaults was committed.
export DOTNET_GCgen0size=0x10000000 DOTNET_GCLOHThreshold=0x1000000
dotnet run --project samples/Quickstart -c Release -- --seeds 14,15,16 --report quickstart-seeds-14-15-16
