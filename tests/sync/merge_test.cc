// tests/sync/merge_test.cc: being written.
#include <doctest/doctest.h>
