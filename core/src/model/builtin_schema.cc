// model/builtin_schema.cc: being written.
