// sync/src/wire_format.cc: being written.
