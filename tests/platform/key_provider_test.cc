// Tests for fieldsync/key_provider.h: scrypt and HKDF KEK derivation and spec validation.
//
// Known-answer values were computed independently with Python's hashlib.scrypt and an HMAC-based
// HKDF (RFC 5869), so a swapped parameter or a wrong info string fails here, not in the field.
// Most cases use cheap scrypt costs (N=1024, r=8, p=1); one uses the defaults.
#include "fieldsync/key_provider.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace fieldsync {
namespace {

const ScryptParams kCheap{1024, 8, 1};

std::string Hex(const SecretBytes& s) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    out += kDigits[s.data()[i] >> 4];
    out += kDigits[s.data()[i] & 0xf];
  }
  return out;
}

bool SameKey(const SecretBytes& a, const SecretBytes& b) {
  return a.size() == b.size() && ConstantTimeEquals(a.data(), b.data(), a.size());
}

std::array<uint8_t, 32> CountingBytes(uint8_t start) {
  std::array<uint8_t, 32> out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(start + i);
  return out;
}

KekSpec ScryptSpec(uint64_t n, uint32_t r, uint32_t p) {
  KekSpec spec;
  spec.kind = KekKind::kPassphraseScrypt;
  spec.scrypt_n = n;
  spec.scrypt_r = r;
  spec.scrypt_p = p;
  spec.salt = CountingBytes(0);
  return spec;
}

KekSpec RawSpec() {
  KekSpec spec;
  spec.kind = KekKind::kRawKey;
  spec.salt = CountingBytes(0);
  return spec;
}

TEST_CASE("KEK kinds have their stored names") {
  CHECK(std::string(KekKindName(KekKind::kPassphraseScrypt)) == "scrypt");
  CHECK(std::string(KekKindName(KekKind::kRawKey)) == "raw-key+hkdf-sha256");
}

TEST_CASE("ValidateScryptParams accepts sane costs") {
  CHECK(ValidateScryptParams(1024, 8, 1).ok());
  CHECK(ValidateScryptParams(uint64_t{1} << 15, 8, 1).ok());
  CHECK(ValidateScryptParams(2, 1, 1).ok());
  CHECK(ValidateScryptParams(uint64_t{1} << 20, 8, 16).ok());  // exactly 1 GiB
  CHECK(ValidateScryptParams(uint64_t{1} << 22, 2, 1).ok());
}

TEST_CASE("ValidateScryptParams refuses each out-of-range parameter by name") {
  struct Case {
    uint64_t n;
    uint32_t r;
    uint32_t p;
    const char* names;
  };
  const Case cases[] = {
      {0, 8, 1, "N"},
      {1, 8, 1, "N"},
      {1000, 8, 1, "N"},               // not a power of two
      {uint64_t{1} << 23, 1, 1, "N"},  // above 2^22
      {uint64_t{1} << 40, 8, 1, "N"},  // absurd
      {1024, 0, 1, "r"},
      {1024, 33, 1, "r"},
      {1024, 8, 0, "p"},
      {1024, 8, 17, "p"},
      {uint64_t{1} << 22, 4, 1, "N*r*128"},  // 2 GiB
      {uint64_t{1} << 16, 1, 1, "N"},        // RFC 7914: N < 2^(16r)
  };
  for (const Case& c : cases) {
    CAPTURE(c.n);
    CAPTURE(c.r);
    CAPTURE(c.p);
    Status s = ValidateScryptParams(c.n, c.r, c.p);
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(s.message().find(std::string("scrypt ") + c.names) != std::string::npos);
  }
}

TEST_CASE("ValidateScryptParams explains the N ceiling") {
  CHECK(ValidateScryptParams(uint64_t{1} << 23, 8, 1).message() ==
        "scrypt N must be at most 2^22, got 8388608");
}

TEST_CASE("a passphrase spec records the costs and a fresh salt each time") {
  PassphraseKeyProvider provider("correct horse", kCheap);
  Result<KekSpec> a = provider.NewSpec();
  Result<KekSpec> b = provider.NewSpec();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->kind == KekKind::kPassphraseScrypt);
  CHECK(a->scrypt_n == 1024);
  CHECK(a->scrypt_r == 8);
  CHECK(a->scrypt_p == 1);
  CHECK(a->salt != std::array<uint8_t, 32>{});
  CHECK(a->salt != b->salt);
}

TEST_CASE("a passphrase provider refuses an empty passphrase") {
  PassphraseKeyProvider provider("", kCheap);
  Result<KekSpec> spec = provider.NewSpec();
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().code() == StatusCode::kInvalidArgument);
  Result<SecretBytes> kek = provider.DeriveKek(ScryptSpec(1024, 8, 1));
  REQUIRE_FALSE(kek.ok());
  CHECK(kek.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("a passphrase provider with bad costs refuses to make a spec") {
  PassphraseKeyProvider provider("pw", ScryptParams{1000, 8, 1});
  Result<KekSpec> spec = provider.NewSpec();
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("scrypt derives the known-answer KEK for a fixed passphrase and salt") {
  PassphraseKeyProvider provider("correct horse battery staple", kCheap);
  Result<SecretBytes> kek = provider.DeriveKek(ScryptSpec(1024, 8, 1));
  REQUIRE(kek.ok());
  CHECK(kek->size() == kKeySize);
  CHECK(Hex(*kek) == "b6b0e04f381ba81d73ffd3476078a3b8f335a54dc276bf28ada6c1209940842f");
}

TEST_CASE("the same passphrase and spec derive the same KEK in another provider") {
  PassphraseKeyProvider writer("correct horse", kCheap);
  Result<KekSpec> spec = writer.NewSpec();
  REQUIRE(spec.ok());
  Result<SecretBytes> first = writer.DeriveKek(*spec);
  PassphraseKeyProvider reader("correct horse", ScryptParams{2048, 4, 2});  // own params unused
  Result<SecretBytes> second = reader.DeriveKek(*spec);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(SameKey(*first, *second));
}

TEST_CASE("a different passphrase or salt derives a different KEK") {
  KekSpec spec = ScryptSpec(1024, 8, 1);
  Result<SecretBytes> base = PassphraseKeyProvider("correct horse", kCheap).DeriveKek(spec);
  Result<SecretBytes> other_pw = PassphraseKeyProvider("correct horsf", kCheap).DeriveKek(spec);
  KekSpec salted = spec;
  salted.salt[31] ^= 1;
  Result<SecretBytes> other_salt = PassphraseKeyProvider("correct horse", kCheap).DeriveKek(salted);
  REQUIRE(base.ok());
  REQUIRE(other_pw.ok());
  REQUIRE(other_salt.ok());
  CHECK_FALSE(SameKey(*base, *other_pw));
  CHECK_FALSE(SameKey(*base, *other_salt));
}

TEST_CASE("the stored scrypt costs are the ones used for derivation") {
  PassphraseKeyProvider provider("correct horse", kCheap);
  Result<SecretBytes> n1024 = provider.DeriveKek(ScryptSpec(1024, 8, 1));
  Result<SecretBytes> n2048 = provider.DeriveKek(ScryptSpec(2048, 8, 1));
  Result<SecretBytes> r4 = provider.DeriveKek(ScryptSpec(1024, 4, 1));
  Result<SecretBytes> p2 = provider.DeriveKek(ScryptSpec(1024, 8, 2));
  REQUIRE(n1024.ok());
  REQUIRE(n2048.ok());
  REQUIRE(r4.ok());
  REQUIRE(p2.ok());
  CHECK_FALSE(SameKey(*n1024, *n2048));
  CHECK_FALSE(SameKey(*n1024, *r4));
  CHECK_FALSE(SameKey(*n1024, *p2));
}

TEST_CASE("a passphrase provider with default costs round-trips its own spec") {
  PassphraseKeyProvider provider("a passphrase with the shipped defaults");
  Result<KekSpec> spec = provider.NewSpec();
  REQUIRE(spec.ok());
  CHECK(spec->scrypt_n == (uint64_t{1} << 15));
  CHECK(spec->scrypt_r == 8);
  CHECK(spec->scrypt_p == 1);
  Result<SecretBytes> a = provider.DeriveKek(*spec);
  Result<SecretBytes> b =
      PassphraseKeyProvider("a passphrase with the shipped defaults").DeriveKek(*spec);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->size() == kKeySize);
  CHECK(SameKey(*a, *b));
}

TEST_CASE("a stored spec with an absurd scrypt N is refused as corruption") {
  PassphraseKeyProvider provider("correct horse", kCheap);
  Result<SecretBytes> kek = provider.DeriveKek(ScryptSpec(uint64_t{1} << 40, 8, 1));
  REQUIRE_FALSE(kek.ok());
  CHECK(kek.status().IsCorruption());
  CHECK(kek.status().message().find("scrypt N") != std::string::npos);
}

TEST_CASE("a stored spec with an out-of-range r or p is refused as corruption naming it") {
  PassphraseKeyProvider provider("correct horse", kCheap);
  Result<SecretBytes> bad_r = provider.DeriveKek(ScryptSpec(1024, 0, 1));
  REQUIRE_FALSE(bad_r.ok());
  CHECK(bad_r.status().IsCorruption());
  CHECK(bad_r.status().message().find("scrypt r") != std::string::npos);
  Result<SecretBytes> bad_p = provider.DeriveKek(ScryptSpec(1024, 8, 1000));
  REQUIRE_FALSE(bad_p.ok());
  CHECK(bad_p.status().IsCorruption());
  CHECK(bad_p.status().message().find("scrypt p") != std::string::npos);
}

TEST_CASE("a stored spec of unknown kind is refused as corruption by both providers") {
  KekSpec spec = ScryptSpec(1024, 8, 1);
  spec.kind = static_cast<KekKind>(77);
  CHECK(PassphraseKeyProvider("pw", kCheap).DeriveKek(spec).status().IsCorruption());
  const auto key = CountingBytes(0x40);
  CHECK(RawKeyProvider(key.data(), key.size()).DeriveKek(spec).status().IsCorruption());
}

TEST_CASE("a passphrase provider refuses a raw-key spec with WrongKey") {
  PassphraseKeyProvider provider("correct horse", kCheap);
  Result<SecretBytes> kek = provider.DeriveKek(RawSpec());
  REQUIRE_FALSE(kek.ok());
  CHECK(kek.status().IsWrongKey());
  CHECK(kek.status().message() ==
        "this database is keyed with a host-supplied raw key, not a passphrase");
}

TEST_CASE("a raw-key provider refuses a passphrase spec with WrongKey") {
  const auto key = CountingBytes(0x40);
  RawKeyProvider provider(key.data(), key.size());
  Result<SecretBytes> kek = provider.DeriveKek(ScryptSpec(1024, 8, 1));
  REQUIRE_FALSE(kek.ok());
  CHECK(kek.status().IsWrongKey());
  CHECK(kek.status().message() == "this database is keyed with a passphrase, not a raw key");
}

TEST_CASE("a raw key of the wrong size fails every call with InvalidArgument") {
  const auto key = CountingBytes(0x40);
  RawKeyProvider short_key(key.data(), 16);
  Result<KekSpec> spec = short_key.NewSpec();
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().code() == StatusCode::kInvalidArgument);
  CHECK(spec.status().message() == "raw key must be 32 bytes, got 16");
  Result<SecretBytes> kek = short_key.DeriveKek(RawSpec());
  REQUIRE_FALSE(kek.ok());
  CHECK(kek.status().code() == StatusCode::kInvalidArgument);
  // The size check comes first, even for a spec the provider could never serve.
  CHECK(short_key.DeriveKek(ScryptSpec(1024, 8, 1)).status().code() ==
        StatusCode::kInvalidArgument);

  std::vector<uint8_t> long_key(33, 1);
  CHECK(RawKeyProvider(long_key.data(), long_key.size()).NewSpec().status().message() ==
        "raw key must be 32 bytes, got 33");
  CHECK(RawKeyProvider(nullptr, 32).NewSpec().status().message() ==
        "raw key must be 32 bytes, got 0");
}

TEST_CASE("a raw-key spec has zero scrypt fields and a fresh salt each time") {
  const auto key = CountingBytes(0x40);
  RawKeyProvider provider(key.data(), key.size());
  Result<KekSpec> a = provider.NewSpec();
  Result<KekSpec> b = provider.NewSpec();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->kind == KekKind::kRawKey);
  CHECK(a->scrypt_n == 0);
  CHECK(a->scrypt_r == 0);
  CHECK(a->scrypt_p == 0);
  CHECK(a->salt != std::array<uint8_t, 32>{});
  CHECK(a->salt != b->salt);
}

TEST_CASE("HKDF derives the known-answer KEK for a fixed raw key and salt") {
  const auto key = CountingBytes(0x40);
  RawKeyProvider provider(key.data(), key.size());
  Result<SecretBytes> kek = provider.DeriveKek(RawSpec());
  REQUIRE(kek.ok());
  CHECK(kek->size() == kKeySize);
  CHECK(Hex(*kek) == "4551ce9813469ac0bb480b99c59c6dd6d36ac82f5ac8e0a45f21d05c7599b161");
  // The KEK is derived, never the host's key itself.
  CHECK_FALSE(ConstantTimeEquals(kek->data(), key.data(), kKeySize));
}

TEST_CASE("HKDF is deterministic and depends on both the key and the salt") {
  const auto key = CountingBytes(0x40);
  const auto other_key = CountingBytes(0x41);
  RawKeyProvider provider(key.data(), key.size());
  Result<KekSpec> spec = provider.NewSpec();
  REQUIRE(spec.ok());
  Result<SecretBytes> a = provider.DeriveKek(*spec);
  Result<SecretBytes> b = RawKeyProvider(key.data(), key.size()).DeriveKek(*spec);
  Result<SecretBytes> c = RawKeyProvider(other_key.data(), other_key.size()).DeriveKek(*spec);
  KekSpec salted = *spec;
  salted.salt[0] ^= 0x80;
  Result<SecretBytes> d = provider.DeriveKek(salted);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  REQUIRE(d.ok());
  CHECK(SameKey(*a, *b));
  CHECK_FALSE(SameKey(*a, *c));
  CHECK_FALSE(SameKey(*a, *d));
}

TEST_CASE("a raw-key provider does not keep a reference to the caller's key buffer") {
  auto key = CountingBytes(0x40);
  RawKeyProvider provider(key.data(), key.size());
  Result<SecretBytes> before = provider.DeriveKek(RawSpec());
  key.fill(0);  // the host wipes its copy
  Result<SecretBytes> after = provider.DeriveKek(RawSpec());
  REQUIRE(before.ok());
  REQUIRE(after.ok());
  CHECK(SameKey(*before, *after));
}

TEST_CASE("providers derive the same KEK from several threads at once") {
  PassphraseKeyProvider passphrase("correct horse battery staple", kCheap);
  const auto key = CountingBytes(0x40);
  RawKeyProvider raw(key.data(), key.size());
  const KekSpec scrypt_spec = ScryptSpec(1024, 8, 1);
  const KekSpec raw_spec = RawSpec();
  constexpr int kThreads = 4;
  std::vector<std::string> scrypt_hex(kThreads);
  std::vector<std::string> raw_hex(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Result<SecretBytes> a = passphrase.DeriveKek(scrypt_spec);
      Result<SecretBytes> b = raw.DeriveKek(raw_spec);
      if (a.ok()) scrypt_hex[t] = Hex(*a);
      if (b.ok()) raw_hex[t] = Hex(*b);
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    CHECK(scrypt_hex[t] == "b6b0e04f381ba81d73ffd3476078a3b8f335a54dc276bf28ada6c1209940842f");
    CHECK(raw_hex[t] == "4551ce9813469ac0bb480b99c59c6dd6d36ac82f5ac8e0a45f21d05c7599b161");
  }
}

}  // namespace
}  // namespace fieldsync
