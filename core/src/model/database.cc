// model/database.cc: being written.
