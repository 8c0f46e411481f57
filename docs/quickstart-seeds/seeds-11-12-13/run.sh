#!/bin/bash
# Three more fresh held-out seeds (11, 12, 13; never used by any calibration, table or experiment), with the shipped
# defaults exactly as the default run trains them: 2 threads, the teacher on both, the students two at a time at one
# thread each (--parallel-students). Run once, 2026-12-02, after every choice of that change was final.
export DOTNET_GCgen0size=0x10000000 DOTNET_GCLOHThreshold=0x1000000
dotnet run --project samples/Quickstart -c Release -- --seeds 11,12,13 --report quickstart-seeds-11-12-13
