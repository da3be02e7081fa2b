// Tests for fieldsync/secret.h: SecretBytes ownership, comparison, randomness and wiping.
#include "fieldsync/secret.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace fieldsync {
namespace {

bool Holds(const SecretBytes& s, std::string_view expected) {
  return s.size() == expected.size() &&
         (expected.empty() || std::memcmp(s.data(), expected.data(), expected.size()) == 0);
}

TEST_CASE("SecretBytes of a size starts zero-filled") {
  SecretBytes s(16);
  REQUIRE(s.size() == 16);
  CHECK_FALSE(s.empty());
  for (size_t i = 0; i < s.size(); ++i) CHECK(s.data()[i] == 0);

  SecretBytes none(0);
  CHECK(none.empty());
  CHECK(none.data() == nullptr);
}

TEST_CASE("SecretBytes copies its input") {
  std::string src = "hunter2";
  SecretBytes s = SecretBytes::FromString(src);
  src[0] = 'X';
  CHECK(Holds(s, "hunter2"));

  const uint8_t raw[] = {1, 2, 3};
  SecretBytes b(raw, sizeof(raw));
  CHECK(b.size() == 3);
  CHECK(b.data() != raw);
  CHECK(b.data()[2] == 3);
}

TEST_CASE("moving SecretBytes transfers the buffer and empties the source") {
  SecretBytes a = SecretBytes::FromString("key material");
  const uint8_t* buffer = a.data();
  SecretBytes b(std::move(a));
  CHECK(b.data() == buffer);
  CHECK(Holds(b, "key material"));
  CHECK(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is the contract
  CHECK(a.data() == nullptr);

  SecretBytes c = SecretBytes::FromString("old key");
  c = std::move(b);
  CHECK(Holds(c, "key material"));
  CHECK(b.empty());  // NOLINT(bugprone-use-after-move)
  CHECK(b.data() == nullptr);
}

TEST_CASE("move-assigning SecretBytes to itself keeps its contents") {
  SecretBytes a = SecretBytes::FromString("self");
  SecretBytes& alias = a;
  a = std::move(alias);
  CHECK(Holds(a, "self"));
}

TEST_CASE("Clone makes an independent copy") {
  SecretBytes a = SecretBytes::FromString("abc");
  SecretBytes b = a.Clone();
  CHECK(b.data() != a.data());
  b.data()[0] = 'z';
  CHECK(Holds(a, "abc"));
  CHECK(Holds(b, "zbc"));
  CHECK(SecretBytes().Clone().empty());
}

TEST_CASE("Wipe releases the buffer and leaves an empty value") {
  SecretBytes s = SecretBytes::FromString("passphrase");
  s.Wipe();
  CHECK(s.size() == 0);
  CHECK(s.empty());
  CHECK(s.data() == nullptr);
  s.Wipe();  // wiping twice is harmless
  CHECK(s.empty());
}

TEST_CASE("WipeMemory zeroes a buffer") {
  std::array<uint8_t, 32> buf;
  buf.fill(0xAB);
  WipeMemory(buf.data(), buf.size());
  for (uint8_t b : buf) CHECK(b == 0);
  WipeMemory(nullptr, 0);
}

TEST_CASE("ConstantTimeEquals compares contents wherever they differ") {
  const uint8_t a[] = {1, 2, 3, 4};
  const uint8_t same[] = {1, 2, 3, 4};
  const uint8_t first[] = {9, 2, 3, 4};
  const uint8_t last[] = {1, 2, 3, 9};
  CHECK(ConstantTimeEquals(a, same, 4));
  CHECK_FALSE(ConstantTimeEquals(a, first, 4));
  CHECK_FALSE(ConstantTimeEquals(a, last, 4));
  CHECK(ConstantTimeEquals(a, last, 3));
  CHECK(ConstantTimeEquals(a, first, 0));
}

TEST_CASE("SecureRandom fills buffers with bytes that differ between calls") {
  std::set<std::vector<uint8_t>> seen;
  for (int i = 0; i < 16; ++i) {
    std::vector<uint8_t> buf(32, 0);
    REQUIRE(SecureRandom(buf.data(), buf.size()).ok());
    seen.insert(buf);
  }
  CHECK(seen.size() == 16);
  CHECK(seen.count(std::vector<uint8_t>(32, 0)) == 0);
  CHECK(SecureRandom(nullptr, 0).ok());
}

}  // namespace
}  // namespace fieldsync
