// tests/core/schema_test.cc: being written.
#include <doctest/doctest.h>
