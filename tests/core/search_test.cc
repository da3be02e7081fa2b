// tests/core/search_test.cc: being written.
#include <doctest/doctest.h>
