// server/src/http_server.h: the HTTP face of fieldsync-server (docs/protocol.md §2-§4, §9, §11),
// on cpp-httplib.
//
//   GET  /healthz     no authentication
//   GET  /v1/limits   no authentication
//   POST /v1/login      credentials → access and refresh tokens
//   POST /v1/refresh    refresh token → new access and refresh tokens
//   POST /v1/logout     bearer; ends the device's tokens
//   POST /v1/wipe-done  device id and wipe receipt (a revoked tablet erased itself)
//   POST /v1/push       bearer
//   GET  /v1/pull       bearer; ?cursor=&schema=&limit=&pending=
//   back office (§13), bearer:
//   GET  /v1/records/{collection}/{id}        one record, as the principal may see it
//   GET  /v1/conflicts?after=&limit=          open conflicts in the principal's scope
//   POST /v1/conflicts/{id}/resolve           {"value": ...}: resolve one, as a synced edit
//   GET  /v1/audit?record=&user=&after=&limit= the tenant's audit trail (admins)
//
// Every response body is JSON with "time_ms"; every error is {"code","message","time_ms"}.
// Handlers keep no state between requests (it is all in the Backend), so any number of server
// processes can serve one database. The one exception is the login rate limiter
// (rate_limiter.h): failed logins are counted in this process's memory, per user name and per
// client address, and a login over the limit gets 429 rate_limited with Retry-After before any
// scrypt runs (protocol §9.1). Each process counts on its own.
//
// Thread safety: Start/Stop from one thread; handlers run on cpp-httplib's worker threads.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "fieldsync/clock.h"
#include "fieldsync/status.h"
#include "rate_limiter.h"
#include "sync_service.h"

namespace httplib {
class Server;
}

namespace fieldsync::server {

struct HttpServerOptions {
  LoginRateLimits login_limits;
  // Times the login rate limiter (monotonic); must outlive the server. nullptr: Clock::System().
  Clock* clock = nullptr;
  // HTTPS (OpenSSL 3 through cpp-httplib) when both are set: PEM files of the certificate chain
  // and of its private key. Both empty: plain HTTP (a TLS proxy in front, or loopback tests).
  std::string tls_cert_file;
  std::string tls_key_file;
};

class HttpServer {
 public:
  // `service` must outlive the server.
  explicit HttpServer(const SyncService* service, HttpServerOptions options = {});
  ~HttpServer();  // stops the server if it runs
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds `host:port` (port 0: any free port) and returns the bound port. InvalidArgument when
  // the TLS certificate or key could not be loaded (missing, unreadable, not matching).
  Result<int> Bind(const std::string& host, int port);
  // Serves until Stop(); blocks. Call after Bind().
  Status Run();
  // Bind() + Run() on a background thread; returns once the server accepts connections.
  Result<int> Start(const std::string& host, int port);
  // Stops serving and joins the background thread, if any. Idempotent.
  void Stop();

 private:
  void Routes();

  const SyncService* service_;
  std::string setup_error_;  // why the TLS server could not be built; Bind reports it
  LoginRateLimiter login_limiter_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
};

}  // namespace fieldsync::server
