// sync/src/merge.cc: being written.
