// tests/sync/auth_sync_test.cc: the replicator's side of tokens and devices (issue #6), against
// the real server on 127.0.0.1 with real encrypted tablets: renewing an expired access token with
// the refresh token (never the password), falling back to the password once, logout, the pending
// count in the device list, and the remote wipe of a revoked tablet, through the C++ API and the
// C API. Every HTTP request a tablet sends is recorded. The server's clock is the real one plus
// an offset the test moves forward.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fieldsync/fieldsync.h"
#include "fieldsync/fieldsync_sync.h"
#include "fieldsync/store.h"
#include "replicator_test_util.h"

namespace fieldsync::sync::testing {
namespace {

using server::testing::kPassword;
using server::testing::kTenant;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kDay = 24 * 60 * kMinute;

int64_t RealNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct AuthSyncServer {
  std::atomic<int64_t> offset_ms{0};
  server::testing::World world;
  server::HttpServer http{world.service.get()};
  std::string url;

  AuthSyncServer()
      : world([this] {
          server::ServiceOptions options;
          options.now_ms = [this] { return RealNow() + offset_ms.load(); };
          return options;
        }()) {
    Result<int> port = http.Start("127.0.0.1", 0);
    REQUIRE(port.ok());
    url = "http://127.0.0.1:" + std::to_string(*port);
  }
  ~AuthSyncServer() { http.Stop(); }

  server::DeviceRow Device(const std::string& id) {
    Result<std::vector<server::DeviceRow>> all =
        server::AdminListDevices(world.backend.get(), kTenant);
    REQUIRE(all.ok());
    for (const server::DeviceRow& d : *all) {
      if (d.id == id) return d;
    }
    FAIL("no device " << id);
    return {};
  }

  bool HasRecord(const std::string& collection, const std::string& id) {
    Result<std::unique_ptr<server::BackendSession>> s = world.backend->OpenSession();
    REQUIRE(s.ok());
    Result<std::optional<server::RecordRow>> row = (*s)->GetRecord(kTenant, collection, id);
    REQUIRE(row.ok());
    return row->has_value();
  }
};

// libcurl, with every request and its answer recorded.
class RecordingHttp : public HttpClient {
 public:
  struct Entry {
    std::string what;  // "POST /v1/push"
    std::string url;
    std::string body;
    std::string authorization;
    int status = 0;  // 0: no response
  };

  Result<HttpResponse> Send(const HttpRequest& request) override {
    Result<HttpResponse> response = inner_->Send(request);
    std::string path = request.url.substr(request.url.find('/', request.url.find("://") + 3));
    path = path.substr(0, path.find('?'));
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back(Entry{request.method + " " + path, request.url, request.body,
                         request.headers.Get("Authorization"),
                         response.ok() ? response->status : 0});
    return response;
  }

  std::vector<Entry> Log() const {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }
  size_t Size() const { return Log().size(); }
  // "POST /v1/push 401" for each request from `from` on.
  std::vector<std::string> Since(size_t from) const {
    std::vector<std::string> out;
    const std::vector<Entry> log = Log();
    for (size_t k = from; k < log.size(); ++k) {
      out.push_back(log[k].what + " " + std::to_string(log[k].status));
    }
    return out;
  }

 private:
  std::unique_ptr<HttpClient> inner_ = NewCurlHttpClient({});
  mutable std::mutex mu_;
  std::vector<Entry> log_;
};

// A tablet alone in its directory, so that "its files are gone" is "the directory is empty".
struct AuthTablet {
  fieldsync::testing::TempDir dir;
  std::string path;
  std::unique_ptr<Database> db;
  RecordingHttp http;
  std::unique_ptr<Replicator> repl;

  AuthTablet(const std::string& user, const std::string& url, uint8_t key_seed,
             bool erase_hook = true)
      : path(dir.File(user + ".db")) {
    Result<std::unique_ptr<Database>> opened =
        Database::Create(path, fieldsync::testing::TestKey(key_seed));
    REQUIRE(opened.ok());
    db = std::move(*opened);
    ReplicatorOptions options = OptionsFor(user, url);
    if (erase_hook) options.erase_database = [this] { return Database::Clear(db, true); };
    repl = std::make_unique<Replicator>(db.get(), &http, options);
  }
  ~AuthTablet() { repl.reset(); }  // before the database and the client it uses

  void Sync() {
    Status s = repl->SyncOnce(nullptr);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
};

bool AnyBodyHas(const RecordingHttp& http, size_t from, const std::string& text) {
  const std::vector<RecordingHttp::Entry> log = http.Log();
  for (size_t k = from; k < log.size(); ++k) {
    if (log[k].body.find(text) != std::string::npos) return true;
  }
  return false;
}

using Steps = std::vector<std::string>;

TEST_CASE(
    "the replicator renews an expired access token with its refresh token, not the "
    "password") {
  AuthSyncServer server;
  AuthTablet zhang("zhang", server.url, 1);
  PutCustomer(zhang.db.get(), "renew", 1);
  zhang.Sync();
  CHECK(zhang.http.Since(0) ==
        Steps{"POST /v1/login 200", "POST /v1/push 200", "GET /v1/pull 200"});

  server.offset_ms += 16 * kMinute;  // the access token (15 minutes) has expired
  PutCustomer(zhang.db.get(), "renew", 2);
  const size_t mark = zhang.http.Size();
  zhang.Sync();
  CHECK(zhang.http.Since(mark) == Steps{"POST /v1/push 401", "POST /v1/refresh 200",
                                        "POST /v1/push 200", "GET /v1/pull 200"});
  CHECK_FALSE(AnyBodyHas(zhang.http, mark, kPassword));
  CHECK(server.HasRecord("customers", "cust-renew-2"));

  // The renewed token serves the next round directly; a second expiry renews again.
  size_t next = zhang.http.Size();
  zhang.Sync();
  CHECK(zhang.http.Since(next) == Steps{"GET /v1/pull 200"});
  server.offset_ms += 16 * kMinute;
  next = zhang.http.Size();
  zhang.Sync();
  CHECK(zhang.http.Since(next) ==
        Steps{"GET /v1/pull 401", "POST /v1/refresh 200", "GET /v1/pull 200"});
  CHECK_FALSE(AnyBodyHas(zhang.http, mark, kPassword));
}

TEST_CASE("when the refresh token is refused too, the replicator logs in with the password once") {
  AuthSyncServer server;
  AuthTablet zhang("zhang", server.url, 1);
  zhang.Sync();

  SUBCASE("the refresh token expired: one password login and the round goes on") {
    server.offset_ms += 31 * kDay;
    const size_t mark = zhang.http.Size();
    zhang.Sync();
    CHECK(zhang.http.Since(mark) == Steps{"GET /v1/pull 401", "POST /v1/refresh 401",
                                          "POST /v1/login 200", "GET /v1/pull 200"});
  }
  SUBCASE("the password was reset: one password login, refused, and the round fails") {
    server::PasswordParams fast;
    fast.log2_n = 10;
    REQUIRE(server::AdminResetPassword(server.world.backend.get(), kTenant, "zhang",
                                       "a new 密码 for zhang", fast)
                .ok());
    const size_t mark = zhang.http.Size();
    Status s = zhang.repl->SyncOnce(nullptr);
    CHECK(s.code() == StatusCode::kFailedPrecondition);
    CHECK(s.message().find("401") != std::string::npos);
    CHECK(zhang.http.Since(mark) ==
          Steps{"GET /v1/pull 401", "POST /v1/refresh 401", "POST /v1/login 401"});
  }
}

TEST_CASE("Logout ends the session on the server, and the next round logs in again") {
  AuthSyncServer server;
  AuthTablet zhang("zhang", server.url, 1);
  CHECK(zhang.repl->Logout().ok());  // no session yet: nothing is sent
  CHECK(zhang.http.Size() == 0);
  zhang.Sync();
  const std::string bearer = zhang.http.Log().back().authorization.substr(7);
  REQUIRE(server.world.service->Authenticate(bearer).ok());

  const size_t before_logout = zhang.http.Size();
  REQUIRE(zhang.repl->Logout().ok());
  CHECK(zhang.http.Since(before_logout) == Steps{"POST /v1/logout 200"});
  server::ApiResult<server::Principal> after = server.world.service->Authenticate(bearer);
  REQUIRE_FALSE(after.ok());
  CHECK(after.error().code == kErrorTokenRevoked);

  const size_t mark = zhang.http.Size();
  zhang.Sync();
  CHECK(zhang.http.Since(mark) == Steps{"POST /v1/login 200", "GET /v1/pull 200"});
}

TEST_CASE("each pull reports the outbox left after the push, and the device list shows it") {
  AuthSyncServer server;
  AuthTablet zhang("zhang", server.url, 1);
  bool edited = false;
  // The user edits once the push is over and the pull begins: that edit is still pending.
  zhang.repl->SetProgressCallback([&](const SyncProgress& p) {
    if (p.phase == SyncPhase::kPull && !edited) {
      edited = true;
      PutCustomer(zhang.db.get(), "during", 1);
    }
  });
  PutCustomer(zhang.db.get(), "before", 1);
  const int64_t start = RealNow();
  zhang.Sync();
  CHECK(zhang.http.Log().back().url.find("&pending=1") != std::string::npos);
  server::DeviceRow d = server.Device(zhang.db->node_id());
  CHECK(d.pending == 1);
  CHECK(d.last_sync_ms >= start);
  CHECK(d.name == "zhang的 iPad");
  CHECK(d.platform == "ios 17.2");

  zhang.Sync();
  CHECK(zhang.http.Log().back().url.find("&pending=0") != std::string::npos);
  CHECK(server.Device(zhang.db->node_id()).pending == 0);
}

TEST_CASE("a revoked tablet erases its database and key, tells the server, and the host sees it") {
  AuthSyncServer server;
  AuthTablet zhang("zhang", server.url, 1);
  PutCustomer(zhang.db.get(), "kept", 1);
  zhang.Sync();
  PutCustomer(zhang.db.get(), "unsent", 1);
  const std::string node = zhang.db->node_id();
  REQUIRE(zhang.dir.Files().size() >= 1);
  REQUIRE(server::AdminRevokeDevice(server.world.backend.get(), kTenant, node).ok());

  // The host's view: the round's status, and LastRound() as seen from the final callback.
  StatusCode seen_in_callback = StatusCode::kOk;
  zhang.repl->SetProgressCallback([&](const SyncProgress& p) {
    if (p.phase == SyncPhase::kDone) seen_in_callback = zhang.repl->LastRound().status.code();
  });
  const size_t mark = zhang.http.Size();
  Status s = zhang.repl->SyncOnce(nullptr);
  CHECK(s.code() == StatusCode::kDeviceRevoked);
  CHECK(s.message().find("erased") != std::string::npos);
  CHECK(seen_in_callback == StatusCode::kDeviceRevoked);
  CHECK(zhang.http.Since(mark) == Steps{"POST /v1/push 403", "POST /v1/wipe-done 200"});
  const RoundReport report = zhang.repl->LastRound();
  CHECK(report.device_revoked);
  CHECK(report.erased);
  CHECK(report.wipe_reported);

  // On disk: nothing left of the database, its WAL, its shared memory or its journal.
  CHECK(zhang.db == nullptr);
  CHECK(zhang.dir.Files().empty());
  CHECK(Store::Destroy(zhang.path).IsNotFound());
  // On the server: the unsent edit never arrived, and the device shows as wiped.
  CHECK(server.HasRecord("customers", "cust-kept-1"));
  CHECK_FALSE(server.HasRecord("customers", "cust-unsent-1"));
  CHECK(server.Device(node).wiped_ms > 0);

  // From now on the replicator refuses at once, sends nothing and touches nothing.
  const size_t after = zhang.http.Size();
  CHECK(zhang.repl->SyncOnce(nullptr).code() == StatusCode::kDeviceRevoked);
  CHECK(zhang.repl->Logout().ok());
  CHECK(zhang.http.Size() == after);
}

TEST_CASE("a revoked tablet without erase_database keeps its database for the host to erase") {
  AuthSyncServer server;
  AuthTablet zhang("zhang", server.url, 1, /*erase_hook=*/false);
  PutCustomer(zhang.db.get(), "kept", 1);
  zhang.Sync();
  const std::string node = zhang.db->node_id();
  REQUIRE(server::AdminRevokeDevice(server.world.backend.get(), kTenant, node).ok());

  Status s = zhang.repl->SyncOnce(nullptr);
  CHECK(s.code() == StatusCode::kDeviceRevoked);
  CHECK(s.message().find("the host must erase it") != std::string::npos);
  CHECK_FALSE(zhang.repl->LastRound().erased);
  CHECK_FALSE(zhang.repl->LastRound().wipe_reported);
  CHECK(server.Device(node).wiped_ms == 0);  // nothing erased, nothing claimed
  const size_t after = zhang.http.Size();
  CHECK(zhang.repl->SyncOnce(nullptr).code() == StatusCode::kDeviceRevoked);
  CHECK(zhang.http.Size() == after);  // never again a request with this database

  REQUIRE(zhang.db->Get("customers", "cust-kept-1").ok());
  zhang.repl.reset();
  REQUIRE(Database::Clear(zhang.db, true).ok());
  CHECK(zhang.dir.Files().empty());
}

TEST_CASE("the background loop of a revoked tablet erases it, reports it and ends") {
  AuthSyncServer server;
  AuthTablet zhang("zhang", server.url, 1);
  zhang.Sync();
  const std::string node = zhang.db->node_id();
  REQUIRE(server::AdminRevokeDevice(server.world.backend.get(), kTenant, node).ok());
  REQUIRE(zhang.repl->Start(20).ok());
  for (int i = 0; i < 1000 && zhang.repl->running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK_FALSE(zhang.repl->running());
  const RoundReport report = zhang.repl->LastRound();
  CHECK(report.status.code() == StatusCode::kDeviceRevoked);
  CHECK(report.erased);
  CHECK(report.wipe_reported);
  CHECK(zhang.dir.Files().empty());
  CHECK(server.Device(node).wiped_ms > 0);
  zhang.repl->Stop();
}

TEST_CASE(
    "C API: a revoked tablet's round fails DEVICE_REVOKED, the handle is left empty and "
    "the files are gone") {
  AuthSyncServer server;
  fieldsync::testing::TempDir dir;
  const std::string path = dir.File("zhang.db");
  uint8_t raw[32];
  for (int i = 0; i < 32; ++i) raw[i] = static_cast<uint8_t>(7 * i + 1);
  fieldsync_key key = {FIELDSYNC_KEY_RAW, nullptr, raw, sizeof raw};
  fieldsync_error err;
  fieldsync_db* db = fieldsync_db_create(path.c_str(), &key, "{}", &err);
  REQUIRE_MESSAGE(db != nullptr, err.message);
  const std::string options = R"({"server_url":")" + server.url +
                              R"(","user":"zhang","password":")" + kPassword +
                              R"(","device_name":"C 平板","device_platform":"c",)"
                              R"("retry":{"max_attempts":1}})";
  fieldsync_replicator* repl = fieldsync_replicator_new(db, options.c_str(), &err);
  REQUIRE_MESSAGE(repl != nullptr, err.message);
  fieldsync_sync_progress progress;
  REQUIRE_MESSAGE(fieldsync_replicator_sync_once(repl, &progress, &err), err.message);
  CHECK(fieldsync_replicator_logout(repl, &err));  // ends the session; the next round logs in
  REQUIRE_MESSAGE(fieldsync_replicator_sync_once(repl, &progress, &err), err.message);

  Result<std::vector<server::DeviceRow>> devices =
      server::AdminListDevices(server.world.backend.get(), kTenant);
  REQUIRE(devices.ok());
  REQUIRE(devices->size() == 1);
  CHECK((*devices)[0].name == "C 平板");
  const std::string node = (*devices)[0].id;
  REQUIRE(server::AdminRevokeDevice(server.world.backend.get(), kTenant, node).ok());

  CHECK_FALSE(fieldsync_replicator_sync_once(repl, &progress, &err));
  CHECK(err.code == FIELDSYNC_ERR_DEVICE_REVOKED);
  CHECK(std::string(fieldsync_error_code_name(err.code)) == "device_revoked");
  CHECK(dir.Files().empty());
  fieldsync_error round_err;
  CHECK(fieldsync_replicator_last_round(repl, nullptr, &round_err) == FIELDSYNC_ERR_DEVICE_REVOKED);
  // The handle is still valid memory, but empty: calls fail cleanly, naming the erasure.
  char* id = fieldsync_db_put(db, "customers", R"({"kind":"person","name":"张伟"})", &err);
  CHECK(id == nullptr);
  CHECK(err.code == FIELDSYNC_ERR_FAILED_PRECONDITION);
  CHECK(std::string(err.message).find("erased") != std::string::npos);
  fieldsync_replicator_free(repl);
  CHECK(fieldsync_db_clear(db, true, &err));  // frees the handle; nothing left to delete
  CHECK(server.Device(node).wiped_ms > 0);
}

}  // namespace
}  // namespace fieldsync::sync::testing
