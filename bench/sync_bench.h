// bench/sync_bench.h: the `sync` subcommand of fieldsync-bench (sync_bench.cc), for the command
// table in storage_bench.cc.
#pragma once

namespace fieldsync::bench {

// fieldsync-bench sync [options]; argv excludes the program and command names. Returns the exit
// status: 0 when every workload ran (a missed target is reported, not an error), 1 when one
// failed, 2 on a usage error.
int RunSync(int argc, char** argv);

}  // namespace fieldsync::bench
