// tests/server/backend_test.cc: the SQLite backend and the credentials on real files.
#include "credentials.h"
#include "server_test_util.h"

namespace fieldsync::server::testing {
namespace {

TEST_CASE("records and feed entries of one tenant are invisible to another") {
  World w;
  Result<std::unique_ptr<BackendSession>> s = w.backend->OpenSession();
  REQUIRE(s.ok());
  BackendSession* db = s->get();
  REQUIRE(db->BeginWrite().ok());
  RecordRow row{"{}", std::string("{\"name\":\"客户\"}"), "zhang", "cust-1"};
  REQUIRE(db->PutRecord(kTenant, "customers", "cust-1", row).ok());
  std::vector<FeedEntry> entries(1);
  entries[0].collection = "customers";
  entries[0].record_id = "cust-1";
  entries[0].node = "n";
  entries[0].change_json = "{}";
  REQUIRE(db->AppendFeed(kTenant, &entries).ok());
  REQUIRE(db->RecordApplied(kTenant, "chg-1", "digest").ok());
  REQUIRE(db->Commit().ok());
  CHECK(entries[0].seq == 1);

  Result<std::optional<RecordRow>> other = db->GetRecord("other", "customers", "cust-1");
  REQUIRE(other.ok());
  CHECK_FALSE(other->has_value());
  Result<uint64_t> other_high = db->FeedHighWater("other");
  REQUIRE(other_high.ok());
  CHECK(*other_high == 0);
  Result<std::optional<std::string>> other_digest = db->AppliedDigest("other", "chg-1");
  REQUIRE(other_digest.ok());
  CHECK_FALSE(other_digest->has_value());
  Result<std::optional<RecordRow>> mine = db->GetRecord(kTenant, "customers", "cust-1");
  REQUIRE(mine.ok());
  REQUIRE(mine->has_value());
  CHECK((*mine)->materialized_json == row.materialized_json);
}

TEST_CASE("feed sequences are consecutive per tenant and a rolled-back append leaves no gap") {
  World w;
  Result<std::unique_ptr<BackendSession>> s = w.backend->OpenSession();
  REQUIRE(s.ok());
  BackendSession* db = s->get();
  auto append = [&](const std::string& tenant, size_t n, bool commit) {
    REQUIRE(db->BeginWrite().ok());
    std::vector<FeedEntry> entries(n);
    for (FeedEntry& e : entries) {
      e.collection = "customers";
      e.record_id = "r";
      e.node = "n";
      e.change_json = "{}";
    }
    REQUIRE(db->AppendFeed(tenant, &entries).ok());
    if (commit) {
      REQUIRE(db->Commit().ok());
    } else {
      REQUIRE(db->Rollback().ok());
    }
    return entries.back().seq;
  };
  CHECK(append(kTenant, 3, true) == 3);
  CHECK(append(kTenant, 2, false) == 5);
  CHECK(append(kTenant, 1, true) == 4);  // the rollback returned its sequences
  CHECK(append("other", 1, true) == 1);
}

TEST_CASE("the cursor secret is made once and shared by every session and reopen") {
  TempDir dir;
  std::string first;
  {
    Result<std::unique_ptr<Backend>> b = OpenBackend("sqlite:" + dir.File("s.db"));
    REQUIRE(b.ok());
    Result<std::unique_ptr<BackendSession>> s = (*b)->OpenSession();
    REQUIRE(s.ok());
    Result<std::string> secret = (*s)->CursorSecret();
    REQUIRE(secret.ok());
    CHECK(secret->size() == 64);
    first = *secret;
  }
  Result<std::unique_ptr<Backend>> again = OpenBackend("sqlite:" + dir.File("s.db"));
  REQUIRE(again.ok());
  Result<std::unique_ptr<BackendSession>> s = (*again)->OpenSession();
  REQUIRE(s.ok());
  Result<std::string> secret = (*s)->CursorSecret();
  REQUIRE(secret.ok());
  CHECK(*secret == first);
  CHECK_FALSE(OpenBackend("postgres://x").ok());
}

TEST_CASE("user ids are unique across tenants and teams must exist") {
  World w;
  PasswordParams fast;
  fast.log2_n = 10;
  CHECK(AdminAddUser(w.backend.get(), "other", "zhang", "rep", {}, kPassword, fast).code() ==
        StatusCode::kAlreadyExists);
  CHECK(AdminAddUser(w.backend.get(), kTenant, "new", "rep", {"nope"}, kPassword, fast).code() ==
        StatusCode::kNotFound);
  CHECK(AdminAddUser(w.backend.get(), kTenant, "new", "boss", {}, kPassword, fast).code() ==
        StatusCode::kInvalidArgument);
  CHECK(AdminCreateTenant(w.backend.get(), kTenant, "again").code() == StatusCode::kAlreadyExists);
}

TEST_CASE("password hashes are salted scrypt and verify only the right password") {
  PasswordParams fast;
  fast.log2_n = 10;
  Result<std::string> a = HashPassword("密码 secret 1", fast);
  Result<std::string> b = HashPassword("密码 secret 1", fast);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->rfind("scrypt$10$8$1$", 0) == 0);
  CHECK(*a != *b);  // salted
  CHECK(a->find("secret") == std::string::npos);
  CHECK(VerifyPassword("密码 secret 1", *a));
  CHECK_FALSE(VerifyPassword("密码 secret 2", *a));
  CHECK_FALSE(VerifyPassword("密码 secret 1", "scrypt$10$8$1$xx"));
  CHECK_FALSE(VerifyPassword("密码 secret 1", "scrypt$30$8$1$AAAA$AAAA"));
}

TEST_CASE("tokens are random, stored only as their hash, and found by it") {
  World w;
  const std::string token = NewToken();
  CHECK(token.size() == 43);
  CHECK(NewToken() != token);
  Result<std::unique_ptr<BackendSession>> s = w.backend->OpenSession();
  REQUIRE(s.ok());
  REQUIRE((*s)->StoreToken(TokenHash(token), TokenRow{kTenant, "zhang", "dev-zhang", 1}).ok());
  Result<TokenRow> found = (*s)->FindToken(TokenHash(token));
  REQUIRE(found.ok());
  CHECK(found->user == "zhang");
  CHECK((*s)->FindToken(TokenHash(token + "x")).status().IsNotFound());
  CHECK((*s)->FindToken(token).status().IsNotFound());  // the clear token is not a key
}

}  // namespace
}  // namespace fieldsync::server::testing
