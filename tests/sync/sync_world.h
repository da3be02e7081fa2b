// tests/sync/sync_world.h: the real fieldsync server on 127.0.0.1 (SQLite files, a free port) and
// tablets (real encrypted Database files, each on its own clock) that sync with it through
// sync::Replicator over libcurl, for the integration tests of tests/sync/*_sync_test.cc.
//
// The world is that of tests/server/server_test_util.h: tenant minghui, reps zhang and li in team
// east1, rep wang in east2, manager chen of east1. The server's clock is the real one: the
// replicator measures its skew estimate with the machine's clock (replicator.cc DeviceNowMs), so
// a server on a fixed clock would drag every tablet's HLC away from its own clock.
//
// Each tablet's HttpClient is a FlakyHttp: it can send a push twice (the first answer is lost:
// the replicator sees only the second, which must be all duplicates) or lose a push's answer
// after the server handled it (the replicator must send the same changes again). Every pushed
// change id and its result are recorded, so a test can check what the server holds.
//
// Not thread-safe: one test thread drives everything.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../core/test_util.h"
#include "../server/server_test_util.h"
#include "fieldsync/clock.h"
#include "fieldsync/database.h"
#include "fieldsync/http_client.h"
#include "fieldsync/sync/merge.h"
#include "fieldsync/sync/replicator.h"
#include "fieldsync/sync/wire_format.h"
#include "http_server.h"

namespace fieldsync::sync::testing {

inline int64_t RealNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct SyncServer {
  server::testing::World world{[] {
    server::ServiceOptions options;
    options.now_ms = RealNowMs;
    return options;
  }()};
  server::HttpServer http{world.service.get()};
  std::string url;

  SyncServer() {
    Result<int> port = http.Start("127.0.0.1", 0);
    REQUIRE(port.ok());
    url = "http://127.0.0.1:" + std::to_string(*port);
  }
  ~SyncServer() { http.Stop(); }

  // Every feed entry of the tenant, decoded, in sequence order.
  std::vector<Change> Feed() {
    Result<std::unique_ptr<server::BackendSession>> s = world.backend->OpenSession();
    REQUIRE(s.ok());
    Result<uint64_t> high = (*s)->FeedHighWater(server::testing::kTenant);
    REQUIRE(high.ok());
    server::FeedFilter all;
    all.all = true;
    Result<std::vector<server::FeedEntry>> entries =
        (*s)->ReadFeed(server::testing::kTenant, 0, *high, all, 1000000);
    REQUIRE(entries.ok());
    std::vector<Change> out;
    for (const server::FeedEntry& e : *entries) {
      Result<Change> c = DecodeChange(e.change_json);
      REQUIRE(c.ok());
      out.push_back(std::move(*c));
    }
    return out;
  }

  // The server's copy of a record as users see it (no "id"); nullopt if absent or deleted.
  std::optional<nlohmann::json> Record(const std::string& collection, const std::string& id) {
    Result<std::unique_ptr<server::BackendSession>> s = world.backend->OpenSession();
    REQUIRE(s.ok());
    Result<std::optional<server::RecordRow>> row =
        (*s)->GetRecord(server::testing::kTenant, collection, id);
    REQUIRE(row.ok());
    if (!row->has_value() || !(*row)->materialized_json) return std::nullopt;
    return nlohmann::json::parse(*(*row)->materialized_json);
  }
};

// An HttpClient over libcurl that, on cue, sends a push twice or loses a push's answer.
class FlakyHttp : public HttpClient {
 public:
  explicit FlakyHttp(std::function<bool()> duplicate = {}, std::function<bool()> lose = {})
      : inner_(NewCurlHttpClient({})), duplicate_(std::move(duplicate)), lose_(std::move(lose)) {}

  Result<HttpResponse> Send(const HttpRequest& request) override {
    const bool push = request.method == "POST" && request.url.find("/v1/push") != std::string::npos;
    if (push && duplicate_ && duplicate_()) {
      Result<HttpResponse> first = inner_->Send(request);  // its answer never arrives
      if (first.ok()) Note(*first);
      ++duplicated;
    }
    Result<HttpResponse> response = inner_->Send(request);
    if (push) sent_pushes_.push_back(request);
    if (push && response.ok()) Note(*response);
    if (push && response.ok() && lose_ && lose_()) {
      ++lost;
      return Status::Unavailable("test: the push's answer was lost after the server handled it");
    }
    return response;
  }

  // Sends the push request number `index % count` again, as it was (a stale replay, the
  // replicator never sees the answer); false if no push was sent yet.
  bool ReplayOldPush(size_t index) {
    if (sent_pushes_.empty()) return false;
    Result<HttpResponse> response = inner_->Send(sent_pushes_[index % sent_pushes_.size()]);
    REQUIRE(response.ok());
    CHECK(response->status == 200);
    Note(*response);
    return true;
  }

  // change id → every answer the server gave for it: "applied", "duplicate" or
  // "refused: <reason>".
  std::map<std::string, std::vector<std::string>> results;
  int duplicated = 0;
  int lost = 0;

 private:
  void Note(const HttpResponse& response) {
    if (response.status != 200) return;
    Result<PushResponse> pushed = DecodePushResponse(response.body);
    REQUIRE(pushed.ok());
    for (const PushResult& r : pushed->results) {
      results[r.change_id].push_back(r.status == PushStatus::kApplied     ? "applied"
                                     : r.status == PushStatus::kDuplicate ? "duplicate"
                                                                          : "refused: " + r.reason);
    }
  }

  std::unique_ptr<HttpClient> inner_;
  std::vector<HttpRequest> sent_pushes_;
  std::function<bool()> duplicate_;
  std::function<bool()> lose_;
};

// One tablet: an encrypted Database file on `clock`, and its replicator.
struct SyncTablet {
  std::string user;
  std::unique_ptr<Database> db;
  std::unique_ptr<FlakyHttp> http;
  std::unique_ptr<Replicator> repl;

  SyncTablet(const fieldsync::testing::TempDir& dir, const std::string& name,
             const std::string& login, const SyncServer& server, uint8_t key_seed,
             Clock* clock = nullptr, std::unique_ptr<FlakyHttp> client = nullptr)
      : user(login) {
    DatabaseOptions options;
    options.clock = clock;
    Result<std::unique_ptr<Database>> opened =
        Database::Create(dir.File(name + ".db"), fieldsync::testing::TestKey(key_seed), options);
    REQUIRE(opened.ok());
    db = std::move(*opened);
    http = client ? std::move(client) : std::make_unique<FlakyHttp>();
    ReplicatorOptions repl_options;
    repl_options.server_url = server.url;
    repl_options.user = login;
    repl_options.password = server::testing::kPassword;
    repl_options.device_name = name + "的平板";
    repl_options.device_platform = "android 14";
    repl = std::make_unique<Replicator>(db.get(), http.get(), repl_options);
  }

  // One round, its Status returned as it is.
  Status TrySync(SyncProgress* progress = nullptr) { return repl->SyncOnce(progress); }

  // One round; the test fails if it returns an error.
  SyncProgress Sync() {
    SyncProgress progress;
    Status s = repl->SyncOnce(&progress);
    REQUIRE_MESSAGE(s.ok(), user << ": " << s.ToString());
    return progress;
  }

  // The record as JSON, or nullopt when the tablet has none (missing or deleted).
  std::optional<nlohmann::json> Get(const std::string& collection, const std::string& id) {
    Result<std::string> r = db->Get(collection, id);
    if (!r.ok()) {
      REQUIRE_MESSAGE(r.status().IsNotFound(), r.status().ToString());
      return std::nullopt;
    }
    return nlohmann::json::parse(*r);
  }

  int64_t Pending() {
    Result<PendingSummary> p = db->Pending();
    REQUIRE(p.ok());
    return p->count;
  }

  std::vector<DeadLetter> DeadLetters() {
    Result<std::vector<DeadLetter>> d = db->DeadLetters();
    REQUIRE(d.ok());
    return *d;
  }

  // The record's open conflicts from its stored merge state; empty when it has none.
  std::vector<Conflict> ConflictsOf(const std::string& collection, const std::string& id) {
    std::vector<Conflict> out;
    Status s = db->RunSyncTransaction([&](Database::SyncTransaction& txn) -> Status {
      Result<std::optional<std::string>> stored = txn.ReadSyncState(collection, id);
      if (!stored.ok()) return stored.status();
      if (!stored->has_value()) return Status::OK();
      Result<RecordState> state = RecordStateFromJson(nlohmann::json::parse(**stored));
      if (!state.ok()) return state.status();
      out = Conflicts(*db->schema().Collection(collection), id, *state);
      return Status::OK();
    });
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    return out;
  }
};

// Conflicts as comparable text: id, field and every head (value, version, author).
inline std::string Describe(const std::vector<Conflict>& conflicts) {
  nlohmann::json out = nlohmann::json::array();
  for (const Conflict& c : conflicts) {
    nlohmann::json heads = nlohmann::json::array();
    for (const RegisterValue& h : c.heads) {
      heads.push_back({h.value, h.version.hlc.packed(), h.version.node, h.author});
    }
    out.push_back({c.id, c.field, heads});
  }
  return out.dump();
}

}  // namespace fieldsync::sync::testing
