// tests/sync/replicator_test_util.h: a real fieldsync-server in-process on 127.0.0.1 (a free
// port) and tablets (real encrypted files, raw keys) with a Replicator over libcurl.
//
// The world of tests/server/server_test_util.h: tenant minghui, reps zhang and li in team east1,
// manager chen.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../core/test_util.h"
#include "../server/server_test_util.h"
#include "fieldsync/database.h"
#include "fieldsync/http_client.h"
#include "fieldsync/sync/merge.h"
#include "fieldsync/sync/replicator.h"
#include "http_server.h"

namespace fieldsync::sync::testing {

inline server::ServiceOptions RealClock(uint32_t max_batch_changes = 1000) {
  server::ServiceOptions options;
  // The tablets stamp changes with the real clock: the server must not think they are ahead.
  options.now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  options.limits.max_batch_changes = max_batch_changes;
  return options;
}

struct Server {
  server::testing::World world;
  server::HttpServer http{world.service.get()};
  int port = 0;
  std::string url;

  explicit Server(uint32_t max_batch_changes = 1000) : world(RealClock(max_batch_changes)) {
    Result<int> bound = http.Start("127.0.0.1", 0);
    REQUIRE(bound.ok());
    port = *bound;
    url = "http://127.0.0.1:" + std::to_string(port);
  }
  ~Server() { http.Stop(); }

  // Every feed entry of the tenant, in sequence order (what the server accepted).
  std::vector<server::FeedEntry> Feed() const {
    Result<std::unique_ptr<server::BackendSession>> s = world.backend->OpenSession();
    REQUIRE(s.ok());
    REQUIRE((*s)->BeginRead().ok());
    Result<uint64_t> high = (*s)->FeedHighWater(server::testing::kTenant);
    REQUIRE(high.ok());
    server::FeedFilter all;
    all.all = true;
    Result<std::vector<server::FeedEntry>> entries =
        (*s)->ReadFeed(server::testing::kTenant, 0, *high, all, 1u << 20);
    REQUIRE(entries.ok());
    REQUIRE((*s)->Rollback().ok());
    return *entries;
  }
};

inline ReplicatorOptions OptionsFor(const std::string& user, const std::string& url) {
  ReplicatorOptions options;
  options.server_url = url;
  options.user = user;
  options.password = server::testing::kPassword;
  options.device_name = user + "的 iPad";
  options.device_platform = "ios 17.2";
  options.retry.max_attempts = 1;  // tests that retry say so
  return options;
}

struct Tablet {
  std::unique_ptr<Database> db;
  std::unique_ptr<HttpClient> http;
  std::unique_ptr<Replicator> repl;

  Tablet(const fieldsync::testing::TempDir& dir, const std::string& user, const std::string& url,
         uint8_t key_seed, ReplicatorOptions options = {}) {
    Result<std::unique_ptr<Database>> opened = Database::Create(
        dir.File(user + std::to_string(key_seed) + ".db"), fieldsync::testing::TestKey(key_seed));
    REQUIRE(opened.ok());
    db = std::move(*opened);
    http = NewCurlHttpClient({});
    if (options.server_url.empty()) options = OptionsFor(user, url);
    repl = std::make_unique<Replicator>(db.get(), http.get(), options);
  }

  SyncProgress Sync() {
    SyncProgress progress;
    Status s = repl->SyncOnce(&progress);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    return progress;
  }

  nlohmann::json Get(const std::string& collection, const std::string& id) {
    Result<std::string> r = db->Get(collection, id);
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    return nlohmann::json::parse(*r);
  }

  int64_t PendingCount() {
    Result<PendingSummary> p = db->Pending();
    REQUIRE(p.ok());
    return p->count;
  }

  std::string Cursor() {
    std::string cursor;
    REQUIRE(db->RunSyncTransaction([&](Database::SyncTransaction& txn) -> Status {
                Result<std::string> c = txn.ReadCursor();
                if (!c.ok()) return c.status();
                cursor = *c;
                return Status::OK();
              }).ok());
    return cursor;
  }

  // The open conflicts of a record, from its stored merge state.
  std::vector<Conflict> ConflictsOf(const std::string& collection, const std::string& id) {
    std::vector<Conflict> out;
    Status s = db->RunSyncTransaction([&](Database::SyncTransaction& txn) -> Status {
      Result<std::optional<std::string>> stored = txn.ReadSyncState(collection, id);
      if (!stored.ok()) return stored.status();
      if (!stored->has_value()) return Status::NotFound("no merge state");
      Result<RecordState> state = RecordStateFromJson(nlohmann::json::parse(**stored));
      if (!state.ok()) return state.status();
      out = Conflicts(*db->schema().Collection(collection), id, *state);
      return Status::OK();
    });
    REQUIRE_MESSAGE(s.ok(), s.message());
    return out;
  }
};

// A customer of zhang's, `n` distinct ones: "cust-<tag>-<n>".
inline std::string PutCustomer(Database* db, const std::string& tag, int n) {
  const std::string id = "cust-" + tag + "-" + std::to_string(n);
  Result<std::string> put =
      db->Put("customers",
              nlohmann::json(
                  {{"id", id}, {"kind", "company"}, {"name", "客户 " + id}, {"owner_rep", "zhang"}})
                  .dump());
  REQUIRE_MESSAGE(put.ok(), put.status().message());
  return id;
}

}  // namespace fieldsync::sync::testing
