// tests/server/tls_test.cc: fieldsync-server serving HTTPS itself (--tls-cert/--tls-key) with a
// self-signed certificate made for the test, and a real tablet syncing over libcurl: pinned to
// the server's key it syncs; trusting only the system CAs, or pinned to another key, it is
// refused before it sends anything. Everything runs on 127.0.0.1.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "../core/test_util.h"
#include "fieldsync/database.h"
#include "fieldsync/http_client.h"
#include "fieldsync/sync/replicator.h"
#include "http_server.h"
#include "server_test_util.h"
#include "tls_material.h"

namespace fieldsync::server {
namespace {

using nlohmann::json;

struct HttpsServer {
  fieldsync::testing::TlsMaterial tls;
  testing::World world;
  std::unique_ptr<HttpServer> http;
  std::string url;

  HttpsServer() : world(RealTime()) {
    REQUIRE(tls.ok);
    HttpServerOptions options;
    options.tls_cert_file = tls.cert_path;
    options.tls_key_file = tls.key_path;
    http = std::make_unique<HttpServer>(world.service.get(), options);
    Result<int> port = http->Start("127.0.0.1", 0);
    REQUIRE_MESSAGE(port.ok(), port.status().ToString());
    url = "https://127.0.0.1:" + std::to_string(*port);
  }

  static ServiceOptions RealTime() {
    ServiceOptions options;
    options.now_ms = [] { return Clock::System()->WallMicros() / 1000; };
    return options;
  }

  // One integer from the server's SQLite file, read on a connection of its own.
  int64_t Count(const std::string& sql) {
    sqlite3* db = nullptr;
    int64_t n = -1;
    if (sqlite3_open_v2(world.dir.File("server.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
        SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW) {
        n = sqlite3_column_int64(stmt, 0);
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return n;
  }
};

// A tablet of rep zhang that syncs with `http_options`; returns the round's Status.
Status SyncZhang(const HttpsServer& server, const fieldsync::testing::TempDir& dir,
                 const std::string& name, HttpClientOptions http_options) {
  Result<std::unique_ptr<Database>> db =
      Database::Create(dir.File(name + ".db"), fieldsync::testing::TestKey(7));
  REQUIRE(db.ok());
  REQUIRE((*db)
              ->Put("customers", json({{"id", "cust-" + name},
                                       {"kind", "company"},
                                       {"name", "明辉贸易"},
                                       {"owner_rep", "zhang"}})
                                     .dump())
              .ok());
  http_options.proxy = "";
  std::unique_ptr<HttpClient> http = NewCurlHttpClient(http_options);
  sync::ReplicatorOptions options;
  options.server_url = server.url;
  options.user = "zhang";
  options.password = testing::kPassword;
  options.device_name = name;
  sync::Replicator repl(db->get(), http.get(), options);
  return repl.SyncOnce(nullptr);
}

TEST_CASE(
    "over HTTPS a tablet pinned to the server's key syncs, unpinned or mispinned is refused") {
  HttpsServer server;
  fieldsync::testing::TempDir dir;

  HttpClientOptions pinned;
  pinned.pinned_public_key = server.tls.pin;
  Status ok = SyncZhang(server, dir, "pinned", pinned);
  CHECK_MESSAGE(ok.ok(), ok.ToString());
  CHECK(server.Count("SELECT count(*) FROM records WHERE record_id = 'cust-pinned'") == 1);

  // System CAs only: a self-signed certificate is not trusted, and nothing reaches the server.
  Status system_cas = SyncZhang(server, dir, "unpinned", HttpClientOptions{});
  CHECK(system_cas.code() == StatusCode::kFailedPrecondition);
  CHECK(system_cas.message().find("TLS certificate not trusted") != std::string::npos);

  HttpClientOptions wrong;
  wrong.pinned_public_key = server.tls.other_pin;
  Status mispinned = SyncZhang(server, dir, "mispinned", wrong);
  CHECK(mispinned.code() == StatusCode::kFailedPrecondition);
  CHECK(mispinned.message().find("pinned key") != std::string::npos);

  CHECK(server.Count("SELECT count(*) FROM records WHERE record_id IN ('cust-unpinned', "
                     "'cust-mispinned')") == 0);
  CHECK(server.Count("SELECT count(*) FROM devices") == 1);  // only the pinned tablet logged in
}

TEST_CASE("plain HTTP to the HTTPS port gets no answer a tablet could mistake for the server") {
  HttpsServer server;
  HttpClientOptions options;
  options.proxy = "";
  std::unique_ptr<HttpClient> http = NewCurlHttpClient(options);
  HttpRequest request;
  request.method = "GET";
  request.url = "http" + server.url.substr(5) + "/healthz";
  Result<HttpResponse> r = http->Send(request);
  CHECK_FALSE((r.ok() && r->status == 200));
}

TEST_CASE("a certificate or key that does not load stops the server at start, naming the file") {
  fieldsync::testing::TlsMaterial tls;
  REQUIRE(tls.ok);
  testing::World world;
  for (const auto& [cert, key] :
       {std::pair{tls.cert_path, tls.dir + "/missing-key.pem"},
        std::pair{tls.dir + "/missing-cert.pem", tls.key_path},
        std::pair{tls.key_path, tls.cert_path}, std::pair{tls.cert_path, std::string()}}) {
    CAPTURE(cert);
    CAPTURE(key);
    HttpServerOptions options;
    options.tls_cert_file = cert;
    options.tls_key_file = key;
    HttpServer http(world.service.get(), options);
    Result<int> port = http.Start("127.0.0.1", 0);
    REQUIRE_FALSE(port.ok());
    CHECK(port.status().code() == StatusCode::kInvalidArgument);
    CHECK(port.status().message().find(key.empty() ? "both" : cert) != std::string::npos);
  }
}

}  // namespace
}  // namespace fieldsync::server
