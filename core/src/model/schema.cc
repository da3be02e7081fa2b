// model/schema.cc: being written.
