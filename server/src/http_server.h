// server/src/http_server.h: the HTTP face of fieldsync-server (docs/protocol.md §2-§4, §9, §11),
// on cpp-httplib.
//
//   GET  /healthz     no authentication
//   GET  /v1/limits   no authentication
//   POST /v1/login    credentials → bearer token
//   POST /v1/push     bearer
//   GET  /v1/pull     bearer; ?cursor=&schema=&limit=
//
// Every response body is JSON with "time_ms"; every error is {"code","message","time_ms"}.
// Handlers keep no state between requests (it is all in the Backend), so any number of server
// processes can serve one database.
//
// Thread safety: Start/Stop from one thread; handlers run on cpp-httplib's worker threads.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "fieldsync/status.h"
#include "sync_service.h"

namespace httplib {
class Server;
}

namespace fieldsync::server {

class HttpServer {
 public:
  // `service` must outlive the server.
  explicit HttpServer(const SyncService* service);
  ~HttpServer();  // stops the server if it runs
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds `host:port` (port 0: any free port) and returns the bound port.
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
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
};

}  // namespace fieldsync::server
