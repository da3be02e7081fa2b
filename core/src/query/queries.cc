// query/queries.cc: being written.
