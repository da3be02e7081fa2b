// bench/model_bench.h: the `model` subcommand of fieldsync-bench (model_bench.cc), for the command
// table in storage_bench.cc.
#pragma once

namespace fieldsync::bench {

// fieldsync-bench model [options]; argv excludes the program and command names. Returns the exit
// status: 0 when every workload ran (a missed target is reported, not an error), 1 when one
// failed, 2 on a usage error.
int RunModel(int argc, char** argv);

}  // namespace fieldsync::bench
