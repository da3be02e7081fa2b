// model/validator.cc: being written.
