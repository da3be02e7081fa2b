// tests/core/validator_test.cc: being written.
#include <doctest/doctest.h>
