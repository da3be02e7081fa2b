// tests/server/audit_test.cc: the audit trail on a real SQLite file (docs/security.md §8.4): one
// row per accepted change, login and admin command, written in the same transaction, append-only,
// queryable per record and per user within one tenant, and never holding a value, a password or a
// token.
#include <sqlite3.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "audit.h"
#include "db_snapshot.h"
#include "server_test_util.h"

namespace fieldsync::server::testing {
namespace {

using sync::PushStatus;

std::vector<AuditRow> ReadTrail(World& w, AuditFilter filter = {},
                                const std::string& tenant = kTenant) {
  Result<std::unique_ptr<BackendSession>> s = w.backend->OpenSession();
  REQUIRE(s.ok());
  Result<std::vector<AuditRow>> rows = (*s)->ReadAudit(tenant, filter);
  REQUIRE(rows.ok());
  return *rows;
}

std::vector<AuditRow> Actions(const std::vector<AuditRow>& rows, const std::string& action) {
  std::vector<AuditRow> out;
  for (const AuditRow& r : rows) {
    if (r.action == action) out.push_back(r);
  }
  return out;
}

// Every byte of the audit table, for searching it for things it must not hold.
std::string AuditTableText(World& w) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(w.dir.File("server.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
          SQLITE_OK);
  std::string text;
  for (const std::string& row : SortedRows(db, "SELECT * FROM audit")) text += row + "\n";
  sqlite3_close(db);
  return text;
}

// Runs `sql` on a connection of its own; the error message, or "" on success.
std::string ExecError(World& w, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(w.dir.File("server.db").c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  std::string message = rc == SQLITE_OK ? "" : (err != nullptr ? err : "error");
  sqlite3_free(err);
  sqlite3_close(db);
  return message;
}

TEST_CASE("every accepted change is audited with who, when, device and field names, never values") {
  World w;
  sync::Change customer =
      Customer("c-1", "cust-1", "上海明辉贸易有限公司", "zhang", HlcAt(kNowMs - 1000));
  customer.fields["phones"].value = nlohmann::json::array({"+8613800138000"});
  customer.fields["address"].value = "上海市浦东新区张江路88号";
  sync::Change refused =
      Upsert("c-2", "customers", "cust-1", {{"credit_level", "AAA"}}, "dev-zhang", HlcAt(kNowMs));
  sync::Change remove;
  remove.change_id = "c-3";
  remove.collection = "customers";
  remove.record_id = "cust-1";
  remove.op = sync::Change::Op::kDelete;
  remove.version = sync::Version{Hlc(HlcAt(kNowMs)), "dev-zhang"};

  auto pushed = w.service->ApplyPush(w.As("zhang"), Push("dev-zhang", {customer, refused, remove}));
  REQUIRE(pushed.ok());
  CHECK(pushed.value().results[0].status == PushStatus::kApplied);
  CHECK(pushed.value().results[1].status == PushStatus::kRefused);
  CHECK(pushed.value().results[2].status == PushStatus::kApplied);
  // A replay is a duplicate: nothing changed, nothing to audit.
  auto replay = w.service->ApplyPush(w.As("zhang"), Push("dev-zhang", {customer}));
  REQUIRE(replay.ok());
  CHECK(replay.value().results[0].status == PushStatus::kDuplicate);

  AuditFilter by_record;
  by_record.collection = "customers";
  by_record.record_id = "cust-1";
  const std::vector<AuditRow> rows = ReadTrail(w, by_record);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].action == kAuditUpsert);
  CHECK(rows[0].user == "zhang");
  CHECK(rows[0].device == "dev-zhang");
  CHECK(rows[0].at_ms == kNowMs);  // the server's clock, not the tablet's HLC
  CHECK(rows[0].change_id == "c-1");
  CHECK(rows[0].fields ==
        std::vector<std::string>{"address", "kind", "name", "owner_rep", "phones"});
  CHECK(rows[1].action == kAuditDelete);
  CHECK(rows[1].change_id == "c-3");
  CHECK(rows[1].fields.empty());
  CHECK(rows[0].seq < rows[1].seq);

  const std::string text = AuditTableText(w);
  for (const char* value : {"上海明辉", "8613800138000", "张江路", "AAA"}) {
    CAPTURE(value);
    CHECK(text.find(value) == std::string::npos);
  }
}

TEST_CASE("audit rows commit with their changes and vanish with a rolled-back push") {
  ServiceOptions options;
  std::string seen_outside;
  bool fail = false;
  World* world = nullptr;
  options.before_commit_for_test = [&] {
    // Another connection, while the push is between its last write and COMMIT, sees no row yet.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(world->dir.File("server.db").c_str(), &db, SQLITE_OPEN_READONLY,
                            nullptr) == SQLITE_OK);
    seen_outside =
        std::to_string(SortedRows(db, "SELECT * FROM audit WHERE action LIKE 'change.%'").size());
    sqlite3_close(db);
    if (fail) throw std::runtime_error("crash before commit");
  };
  World w(options);
  world = &w;
  const auto before_first = Snapshot(w.dir.File("server.db"));

  REQUIRE(w.service
              ->ApplyPush(w.As("zhang"), Push("dev-zhang", {Customer("c-1", "cust-1", "客户",
                                                                     "zhang", HlcAt(kNowMs))}))
              .ok());
  CHECK(seen_outside == "0");
  CHECK(Actions(ReadTrail(w), kAuditUpsert).size() == 1);
  CHECK(ChangedTables(before_first, Snapshot(w.dir.File("server.db"))) ==
        std::vector<std::string>{"applied_changes", "audit", "device_status", "feed", "records",
                                 "tenants"});

  // The same push shape, failing at the last moment: neither its record nor its audit row stays.
  fail = true;
  const auto before = Snapshot(w.dir.File("server.db"));
  CHECK_THROWS(w.service->ApplyPush(
      w.As("zhang"),
      Push("dev-zhang", {Customer("c-2", "cust-2", "客户二", "zhang", HlcAt(kNowMs))})));
  CHECK(Snapshot(w.dir.File("server.db")) == before);
}

TEST_CASE("the audit table refuses UPDATE and DELETE, also from outside the server") {
  World w;
  REQUIRE(w.service
              ->ApplyPush(w.As("zhang"), Push("dev-zhang", {Customer("c-1", "cust-1", "客户",
                                                                     "zhang", HlcAt(kNowMs))}))
              .ok());
  const auto before = Snapshot(w.dir.File("server.db"));
  REQUIRE(before.at("audit").rows > 0);
  CHECK(ExecError(w, "UPDATE audit SET user = 'someone else'").find("append-only") !=
        std::string::npos);
  CHECK(ExecError(w, "DELETE FROM audit WHERE action = 'change.upsert'").find("append-only") !=
        std::string::npos);
  CHECK(ExecError(w, "DELETE FROM audit").find("append-only") != std::string::npos);
  CHECK(Snapshot(w.dir.File("server.db")) == before);
  // Appending still works (the triggers stop only changes to existing rows).
  REQUIRE(w.service
              ->ApplyPush(w.As("zhang"), Push("dev-zhang", {Customer("c-2", "cust-2", "客户二",
                                                                     "zhang", HlcAt(kNowMs))}))
              .ok());
  CHECK(Snapshot(w.dir.File("server.db")).at("audit").rows == before.at("audit").rows + 1);
}

TEST_CASE("admin commands are audited with their subject, and never with the password") {
  World w;  // creates tenants minghui and other, two teams and five users
  REQUIRE(AdminShareCustomer(w.backend.get(), kTenant, "cust-9", "east1").ok());
  const std::vector<AuditRow> trail = ReadTrail(w);
  REQUIRE(Actions(trail, kAuditCreateTenant).size() == 1);
  CHECK(Actions(trail, kAuditCreateTenant)[0].collection == "tenant");
  CHECK(Actions(trail, kAuditCreateTenant)[0].record_id == kTenant);
  CHECK(Actions(trail, kAuditAddTeam).size() == 2);
  const std::vector<AuditRow> users = Actions(trail, kAuditAddUser);
  REQUIRE(users.size() == 5);
  CHECK(users[0].collection == "user");
  CHECK(users[0].record_id == "zhang");
  CHECK(nlohmann::json::parse(users[0].detail_json) ==
        nlohmann::json({{"role", "rep"}, {"teams", {"east1"}}}));
  CHECK(users[0].user.rfind("cli", 0) == 0);
  CHECK(users[0].device == "cli");
  CHECK(users[0].at_ms > 0);
  const std::vector<AuditRow> shares = Actions(trail, kAuditShareCustomer);
  REQUIRE(shares.size() == 1);
  CHECK(shares[0].collection == "customers");
  CHECK(shares[0].record_id == "cust-9");
  CHECK(nlohmann::json::parse(shares[0].detail_json) == nlohmann::json({{"team", "east1"}}));
  // The other tenant's trail holds only its own creation.
  const std::vector<AuditRow> other = ReadTrail(w, {}, "other");
  REQUIRE(other.size() == 1);
  CHECK(other[0].action == kAuditCreateTenant);
  CHECK(other[0].seq == 1);  // sequences are per tenant: they tell nothing of other tenants

  Result<std::unique_ptr<BackendSession>> s = w.backend->OpenSession();
  REQUIRE(s.ok());
  Result<UserRow> zhang = (*s)->GetUser(kTenant, "zhang");
  REQUIRE(zhang.ok());
  const std::string text = AuditTableText(w);
  CHECK(text.find(kPassword) == std::string::npos);
  CHECK(text.find(zhang->password_hash) == std::string::npos);
  CHECK(text.find("scrypt$") == std::string::npos);
}

TEST_CASE("logins are audited: success, wrong password and refusal, never the password or token") {
  World w;
  auto login = [&](const std::string& user, const std::string& password) {
    return w.service->Login(
        sync::LoginRequest{user, password, {user + "的 iPad", "ios 17.2", "dev-" + user}});
  };
  auto ok = login("zhang", kPassword);
  REQUIRE(ok.ok());
  CHECK(login("zhang", "wrong password").error().http_status == 401);
  CHECK(login("nobody", kPassword).error().http_status == 401);
  // A device reserved for the server's own edits is refused before anything else.
  auto reserved = w.service->Login(
      sync::LoginRequest{"zhang", kPassword, {"x", "ios", std::string(kServerNode)}});
  CHECK(reserved.error().http_status == 400);

  AuditFilter by_user;
  by_user.user = "zhang";
  const std::vector<AuditRow> rows = ReadTrail(w, by_user);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].action == kAuditLogin);
  CHECK(rows[0].device == "dev-zhang");
  CHECK(nlohmann::json::parse(rows[0].detail_json) == nlohmann::json({{"platform", "ios 17.2"}}));
  CHECK(rows[1].action == kAuditLoginFailed);
  CHECK(nlohmann::json::parse(rows[1].detail_json) ==
        nlohmann::json({{"reason", "wrong_password"}}));
  by_user.user = "nobody";
  CHECK(ReadTrail(w, by_user).empty());

  const std::string text = AuditTableText(w);
  CHECK(text.find(ok.value().token) == std::string::npos);
  CHECK(text.find(TokenHash(ok.value().token)) == std::string::npos);
  CHECK(text.find("wrong password") == std::string::npos);
  CHECK(text.find(kPassword) == std::string::npos);
  CHECK(text.find("的 iPad") == std::string::npos);  // device names are people's names
}

TEST_CASE("the trail is read per record, per user, both, and in pages after a sequence") {
  World w;
  REQUIRE(w.service
              ->ApplyPush(
                  w.As("zhang"),
                  Push("dev-zhang", {Customer("z-1", "cust-z", "张的客户", "zhang", HlcAt(kNowMs)),
                                     Customer("z-2", "cust-y", "另一个", "zhang", HlcAt(kNowMs))}))
              .ok());
  REQUIRE(w.service
              ->ApplyPush(w.As("chen"),
                          Push("dev-chen", {Upsert("c-1", "customers", "cust-z", {{"grade", "A"}},
                                                   "dev-chen", HlcAt(kNowMs, 1))}))
              .ok());
  AuditFilter f;
  f.collection = "customers";
  f.record_id = "cust-z";
  std::vector<AuditRow> rows = ReadTrail(w, f);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].user == "zhang");
  CHECK(rows[1].user == "chen");
  CHECK(rows[1].fields == std::vector<std::string>{"grade"});
  f.user = "chen";
  rows = ReadTrail(w, f);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].change_id == "c-1");
  AuditFilter by_user;
  by_user.user = "zhang";
  rows = ReadTrail(w, by_user);
  REQUIRE(rows.size() == 2);
  by_user.after_seq = rows[0].seq;
  by_user.limit = 1;
  const std::vector<AuditRow> next = ReadTrail(w, by_user);
  REQUIRE(next.size() == 1);
  CHECK(next[0].change_id == "z-2");
  // Another tenant asking for the same record or user finds nothing.
  f.user.clear();
  CHECK(ReadTrail(w, f, "other").empty());
  by_user.after_seq = 0;
  CHECK(ReadTrail(w, by_user, "other").empty());
}

TEST_CASE("an audit line is one line of JSON whatever the stored strings hold") {
  AuditRow row;
  row.seq = 7;
  row.at_ms = kNowMs;
  row.user = "evil\nline\x1b[2J";
  row.device = "dev\xff";
  row.action = kAuditUpsert;
  row.collection = "customers";
  row.record_id = "cust-1";
  row.fields = {"name"};
  row.change_id = "c-1";
  const std::string line = AuditLine(row);
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.find('\x1b') == std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(line);
  CHECK(j["time"] == "2024-11-23T06:39:31.123Z");
  CHECK(j["user"] == "evil\nline\x1b[2J");
  CHECK(j["device"] == "dev\xEF\xBF\xBD");  // U+FFFD for the invalid byte
  CHECK(j["detail"] == nlohmann::json::object());
  CHECK(UtcTimeMs(0) == "1970-01-01T00:00:00.000Z");
  CHECK(UtcTimeMs(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(IsUtf8("张伟 ok"));
  CHECK_FALSE(IsUtf8("\xff"));
  CHECK_FALSE(IsUtf8("\xc0\xaf"));      // overlong '/'
  CHECK_FALSE(IsUtf8("\xed\xa0\x80"));  // a surrogate
  CHECK_FALSE(IsUtf8("\xe5\xbc"));      // truncated
  CHECK_FALSE(ValidAdminId("zh\xff"));  // ids must be UTF-8 too
}

}  // namespace
}  // namespace fieldsync::server::testing
