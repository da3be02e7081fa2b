// tests/core/queries_test.cc: being written.
#include <doctest/doctest.h>
