// tests/sync/wire_format_test.cc: being written.
#include <doctest/doctest.h>
