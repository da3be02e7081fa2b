// tests/core/database_test.cc: being written.
#include <doctest/doctest.h>
